"""uvicorn's h11 protocol with the connection guard.

h11 bounds an incomplete head itself (``max_incomplete_event_size``, set to
``max_header_bytes``) but answers 400; the connection below turns that into 431, checks
the header count and the size of a head that arrived whole, and tells the guard of each
event it hands uvicorn.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from baas.transport.config import limits_of
from baas.transport.guard import ConnectionGuard
from baas.transport.limits import HeadRefused, TransportLimits, head_size


class GuardedConnection(h11.Connection):
    def __init__(self, guard: ConnectionGuard, limits: TransportLimits) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=limits.max_header_bytes)
        self.guard = guard
        self.limits = limits

    def next_event(self) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        try:
            event = super().next_event()
        except h11.RemoteProtocolError as exc:
            if exc.error_status_hint == 431:  # the incomplete head outgrew the buffer
                raise HeadRefused("max_header_bytes", self.limits.max_header_bytes,
                                  len(self.trailing_data[0])) from exc
            raise
        if isinstance(event, h11.Request):
            headers = event.headers
            if len(headers) > self.limits.max_header_count:
                raise HeadRefused("max_header_count", self.limits.max_header_count,
                                  len(headers))
            size = head_size(event.method, event.target, headers)
            if size > self.limits.max_header_bytes:
                raise HeadRefused("max_header_bytes", self.limits.max_header_bytes, size)
            self.guard.head_complete()
        elif isinstance(event, h11.Data):
            self.guard.body_chunk(len(event.data))
        elif isinstance(event, h11.EndOfMessage):
            self.guard.message_complete()
        return event


class GuardedH11Protocol(H11Protocol):
    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits, gate = limits_of(config)
        if gate is not None:
            self.app = gate
        self.guard = ConnectionGuard(limits, self.loop, server_state, lambda: self.cycle)
        self.conn = GuardedConnection(self.guard, limits)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.guard.opened(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.closed()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        guard = self.guard
        if guard.done:
            return  # refused: dropped until the linger ends
        guard.before_data()
        try:
            super().data_received(data)
        except HeadRefused as refusal:
            guard.refuse_head(refusal)
            return
        if guard.awaiting_head and not guard.head_started and self.conn.trailing_data[0]:
            guard.head_begun()
        guard.after_data(len(data))

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self.guard.handed_off()
        super().handle_websocket_upgrade(event)

    def on_response_complete(self) -> None:
        self.guard.response_complete()
        try:  # this goes on to the pipelined requests already received
            super().on_response_complete()
        except HeadRefused as refusal:
            self.guard.refuse_head(refusal)
