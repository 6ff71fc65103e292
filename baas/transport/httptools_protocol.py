"""uvicorn's httptools protocol with the connection guard.

httptools (llhttp) enforces no header limit, and buffers a header's name and value
inside the parser until the header is complete, so the size is counted twice: per read
while a head is incomplete (bounding what the parser buffers), and per field from the
parser's callbacks (exact, for a head that arrives in one read).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from baas.transport.config import limits_of
from baas.transport.guard import ConnectionGuard
from baas.transport.limits import HeadRefused

# The fixed part of a request line and head: " ", " HTTP/1.1\r\n", the blank line, and
# a method of up to 7 letters (the size check is approximate by this much at most).
HEAD_FRAMING = 20


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits, gate = limits_of(config)
        if gate is not None:
            self.app = gate
        self.guard = ConnectionGuard(self.limits, self.loop, server_state, lambda: self.cycle)
        self.head_size = 0
        self.header_count = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.guard.opened(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.closed()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's, but a limit raised in a callback is answered 431 rather than 400.
        guard = self.guard
        if guard.done:
            return  # refused: dropped until the linger ends
        guard.before_data()
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, HeadRefused):
                guard.refuse_head(exc.__context__)
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        guard.after_data(len(data))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_size = HEAD_FRAMING
        self.header_count = 0
        self.guard.head_begun()

    def on_url(self, url: bytes) -> None:
        self.head_size += len(url)
        if self.head_size > self.limits.max_header_bytes:
            raise HeadRefused("max_header_bytes", self.limits.max_header_bytes, self.head_size)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        if self.header_count > self.limits.max_header_count:
            raise HeadRefused("max_header_count", self.limits.max_header_count,
                              self.header_count)
        self.head_size += len(name) + len(value) + 4
        if self.head_size > self.limits.max_header_bytes:
            raise HeadRefused("max_header_bytes", self.limits.max_header_bytes, self.head_size)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.guard.head_complete()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self.guard.body_chunk(len(body))
        super().on_body(body)

    def on_message_complete(self) -> None:
        self.guard.message_complete()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self.guard.response_complete()
        super().on_response_complete()

    def handle_websocket_upgrade(self) -> None:
        self.guard.handed_off()
        super().handle_websocket_upgrade()
