"""The clock and the byte counts of one HTTP/1.1 connection, shared by both protocols.

The protocol tells the guard what its parser saw (a head begun, a head complete, body
bytes, a message complete, a response complete, a hand-off to WebSocket); the guard
arms at most one timer for the head and one for the body, and answers a refusal itself.
A request whose head and body arrive in one read arms no timer at all: timers are armed
after a read only when something is still missing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from uvicorn.server import ServerState

from baas.transport.limits import LINGER_SECONDS, HeadRefused, TransportLimits, error_response

log = logging.getLogger("baas.transport")


class RequestCycle(Protocol):
    """What both uvicorn request cycles have that the guard needs to end one."""

    disconnected: bool
    response_started: bool
    message_event: asyncio.Event


class ConnectionGuard:
    def __init__(self, limits: TransportLimits, loop: asyncio.AbstractEventLoop,
                 server_state: ServerState,
                 current_cycle: Callable[[], RequestCycle | None]) -> None:
        self.limits = limits
        self.loop = loop
        self.server_state = server_state
        self.current_cycle = current_cycle
        self.transport: asyncio.Transport | None = None
        self.done = False  # refused, closed, or handed to the WebSocket protocol
        self.awaiting_head = True  # no request, or the last one's body is complete
        self.head_started = False  # bytes of the awaited head have arrived
        self.head_bytes = 0  # bytes of an incomplete head, counted per read
        self.heads = 0  # heads completed on this connection
        self.pending = 0  # requests read whose response is not complete
        self.body_pending = False
        self.body_bytes = 0
        self.body_since = 0.0
        self._counting = False
        self._heads_before = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._linger: asyncio.TimerHandle | None = None

    # Events from the protocol.

    def opened(self, transport: asyncio.Transport) -> None:
        """A fresh socket gets the header timeout at once: an idle one is closed by it."""
        self.transport = transport
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_expired)

    def before_data(self) -> None:
        # A read that starts in a head and completes none is head bytes, all of it.
        self._counting = self.awaiting_head
        self._heads_before = self.heads

    def after_data(self, size: int) -> None:
        if self.done:
            return
        if self.awaiting_head:
            if self._counting and self.heads == self._heads_before:
                self.head_bytes += size
                if self.head_bytes > self.limits.max_header_bytes:
                    self.refuse_head(HeadRefused("max_header_bytes",
                                                 self.limits.max_header_bytes, self.head_bytes))
                    return
            if self.head_started and self._head_timer is None and self.pending == 0:
                self._arm_head()
        elif self.body_pending and self._body_timer is None:
            self.body_since = self.loop.time()
            self._body_timer = self.loop.call_at(self.body_since + self.limits.body_timeout,
                                                 self._body_expired)

    def head_begun(self) -> None:
        self.head_started = True

    def head_complete(self) -> None:
        self.awaiting_head = False
        self.head_started = False
        self.head_bytes = 0
        self.heads += 1
        self.pending += 1
        self.body_pending = True
        self.body_bytes = 0
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def body_chunk(self, size: int) -> None:
        self.body_bytes += size

    def message_complete(self) -> None:
        self.body_pending = False
        self.awaiting_head = True
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def response_complete(self) -> None:
        """The time a pipelined head waited for our response is not the client's."""
        self.pending -= 1
        if (self.pending == 0 and self.awaiting_head and self.head_started
                and self._head_timer is None and not self.done):
            self._arm_head()

    def handed_off(self) -> None:
        """The socket now belongs to the WebSocket protocol and its own limits."""
        self._stop()

    def closed(self) -> None:
        self._stop()
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None

    # Refusals.

    def refuse_head(self, refusal: HeadRefused) -> None:
        self.refuse(431, "request_header_fields_too_large", refusal.message(),
                    {"limit": refusal.limit, "max": refusal.maximum})

    def refuse(self, status: int, code: str, message: str, details: dict[str, Any]) -> None:
        """Answer, stop writing, drop what still comes for a moment, then close."""
        self._stop()
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        rid, response = error_response(status, code, message, details,
                                       self.server_state.default_headers)
        log.info("request refused", extra={
            "request_id": rid, "status": status, "code": code, **details,
            "client": _address(transport)})
        transport.write(response)
        if transport.can_write_eof():
            transport.write_eof()
            transport.resume_reading()  # drain, or unread bytes turn the close into a reset
            self._linger = self.loop.call_later(LINGER_SECONDS, transport.close)
        else:
            transport.close()

    def _arm_head(self) -> None:
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_expired)

    def _head_expired(self) -> None:
        self._head_timer = None
        if self.done or self.transport is None:
            return
        if not (self.head_started or self.head_bytes):
            self._stop()  # an idle socket: nobody waits for an answer
            self.transport.close()
            return
        seconds = self.limits.header_timeout
        self.refuse(408, "request_timeout",
                    f"the request line and headers did not arrive within {seconds:g} s",
                    {"limit": "header_timeout", "seconds": seconds})

    def _body_expired(self) -> None:
        self._body_timer = None
        if self.done or not self.body_pending or self.transport is None:
            return
        rate = self.limits.body_min_rate
        deadline = (self.body_since + self.limits.body_timeout
                    + (self.body_bytes / rate if rate else 0.0))
        if self.loop.time() < deadline:
            self._body_timer = self.loop.call_at(deadline, self._body_expired)
            return
        cycle = self.current_cycle()
        answered = cycle is not None and cycle.response_started
        if cycle is not None:  # the app's receive() now returns http.disconnect
            cycle.disconnected = True
            cycle.message_event.set()
        if answered:
            self._stop()
            self.transport.close()
            return
        seconds = self.limits.body_timeout
        self.refuse(408, "request_timeout",
                    f"the request body did not arrive within {seconds:g} s"
                    + (f" (plus 1 s per {rate} bytes received)" if rate else ""),
                    {"limit": "body_timeout", "seconds": seconds, "received": self.body_bytes})

    def _stop(self) -> None:
        self.done = True
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None


def _address(transport: asyncio.Transport) -> str:
    peer = transport.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else ""
