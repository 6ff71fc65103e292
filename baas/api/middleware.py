"""Pure ASGI middleware: request ids, security headers, access logs and metrics,
body-size limit."""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baas.api.errors import error_json
from baas.metrics import Metrics

log = logging.getLogger("baas.access")
INBOUND_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


# On every response unless the handler chose its own (JWKS is publicly cacheable, the
# emailed-link pages have their own policy): no response is cached (tokens and keys
# travel in bodies), none is sniffed into another type, no HTML is framed.
NOSNIFF = (b"x-content-type-options", b"nosniff")
NO_STORE = (b"cache-control", b"no-store")
HTML_POLICY = (b"content-security-policy",
               b"default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
               b"form-action 'none'; frame-ancestors 'none'")


def _with_request_id(message: Message, rid: str) -> Message:
    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
    headers.append((b"x-request-id", rid.encode()))
    return {**message, "headers": headers}


def _response_headers(message: Message, rid: str) -> Message:
    """``message`` (an ``http.response.start``) with the request id and the security
    headers it does not set itself, in one pass over its headers."""
    headers = []
    names = set()
    html = False
    for name, value in message.get("headers", []):
        name = name.lower()
        if name == b"x-request-id":
            continue
        names.add(name)
        if name == b"content-type" and value.startswith(b"text/html"):
            html = True
        headers.append((name, value))
    headers.append((b"x-request-id", rid.encode()))
    if b"x-content-type-options" not in names:
        headers.append(NOSNIFF)
    if b"cache-control" not in names:
        headers.append(NO_STORE)
    if html and b"content-security-policy" not in names:
        headers.append(HTML_POLICY)
    return {**message, "headers": headers}


class RequestContext:
    """Give every request an id (kept from a sane X-Request-Id), log it, count it, and
    give every response the security headers (``_response_headers``).
    A WebSocket session gets an id too, but is logged and counted as a session (how it
    ended), never as an HTTP request: it sends no HTTP status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        inbound = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = inbound if INBOUND_ID.match(inbound) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send, rid)
        else:
            await self._http(scope, receive, send, rid)

    async def _http(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = _response_headers(message, rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope)
            method = scope.get("method", "")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            log.info("request", extra={
                "request_id": rid, "method": method, "path": scope.get("path"),
                "status": status, "ms": round(elapsed * 1000, 2),
            })

    async def _websocket(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        started = time.perf_counter()
        outcome = "disconnected"  # the client left before the app answered the handshake

        async def send_with_id(message: Message) -> None:
            nonlocal outcome
            if message["type"] == "websocket.accept":
                outcome = "accepted"
                message = _with_request_id(message, rid)
            elif message["type"] in ("websocket.close", "websocket.http.response.start"):
                if outcome != "accepted":
                    outcome = "rejected"
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            outcome = "error"
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope)
            self.metrics.websockets.labels(route, outcome).inc()
            self.metrics.websocket_duration.labels(route).observe(elapsed)
            log.info("websocket", extra={
                "request_id": rid, "path": scope.get("path"), "outcome": outcome,
                "ms": round(elapsed * 1000, 2),
            })


def _route(scope: Scope) -> str:
    return getattr(scope.get("endpoint"), "__name__", None) or "unmatched"


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, by header or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int, exempt_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt or ("\0",)):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._reject(scope, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await self._reject(scope, send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        rid = str(scope.get("state", {}).get("request_id", ""))
        response = error_json(
            rid, 413, "payload_too_large",
            f"the request body is larger than {self.max_bytes} bytes",
            {"max_bytes": self.max_bytes}, {"Connection": "close"})
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


class BodyTooLarge(Exception):
    pass
