"""The per-process limit on HTTP requests inside the app at once: beyond it, 503 with
``Retry-After`` in API.md's error shape, before the app sees the request.

uvicorn's own ``limit_concurrency`` counts open connections and WebSocket sessions as well
(so a few hundred realtime clients would turn every HTTP request away) and answers a plain
text 503 without ``Retry-After``; this counts only requests in progress.
"""

from __future__ import annotations

import json
import logging
import secrets

from starlette.types import ASGIApp, Receive, Scope, Send

from baas.transport.limits import RETRY_AFTER_SECONDS

log = logging.getLogger("baas.transport")


class RequestGate:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.in_flight >= self.limit:
            await self._busy(send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _busy(self, send: Send) -> None:
        rid = secrets.token_hex(8)
        log.warning("server busy", extra={"request_id": rid, "in_flight": self.in_flight})
        body = json.dumps({"error": {
            "status": 503, "code": "server_busy",
            "message": f"the server is handling {self.limit} requests already; "
                       f"retry after {RETRY_AFTER_SECONDS} s",
            "details": {"limit": "max_concurrent_requests", "max": self.limit,
                        "retry_after": RETRY_AFTER_SECONDS, "request_id": rid}}}).encode()
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            (b"connection", b"close"),  # under load, free the socket too
            (b"cache-control", b"no-store"),
            (b"x-content-type-options", b"nosniff"),
            (b"x-request-id", rid.encode()),
        ]})
        await send({"type": "http.response.body", "body": body})
