"""What one server process allows a client connection, and the refusals it answers with.

The refusals are written by the HTTP protocol itself (the request never reaches the app),
in API.md's error shape, with a request id of their own.
"""

from __future__ import annotations

import http
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# After a refusal the server stops writing, reads and drops what the client still sends for
# this long, then closes: closing with unread bytes would make the kernel send a reset,
# which can destroy the refusal before the client reads it (nginx's lingering close).
LINGER_SECONDS = 2.0
RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True)
class TransportLimits:
    """Per connection: ``header_timeout`` from the connection's start (or the first byte of
    a later request) until the request line and headers are complete; ``body_timeout``
    from then until the body is complete, extended by one second for every
    ``body_min_rate`` bytes received (0: no extension); ``keep_alive_timeout`` between
    requests. ``max_header_bytes`` and ``max_header_count`` bound the request line and
    headers (431). Per process: ``max_concurrent_requests`` HTTP requests in the app at
    once (503 with Retry-After beyond)."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    body_min_rate: int = 500
    keep_alive_timeout: int = 5
    max_header_bytes: int = 16_384
    max_header_count: int = 100
    max_concurrent_requests: int = 1000


class HeadRefused(Exception):
    """The request line and headers broke a limit: raised inside the parser's callbacks to
    stop parsing, answered 431 by the protocol."""

    def __init__(self, limit: str, maximum: int, seen: int) -> None:
        super().__init__(limit)
        self.limit = limit
        self.maximum = maximum
        self.seen = seen

    def message(self) -> str:
        what = ("bytes of request line and headers" if self.limit == "max_header_bytes"
                else "header fields")
        return (f"the request has more than {self.maximum} {what} (at least {self.seen}); "
                "send fewer or smaller headers")


def head_size(method: bytes, target: bytes, headers: Sequence[tuple[bytes, bytes]]) -> int:
    """The bytes of a request line and headers as written without optional whitespace."""
    return (len(method) + len(target) + 13  # " ", " HTTP/1.1\r\n", and the blank line
            + sum(len(name) + len(value) + 4 for name, value in headers))


def error_response(status: int, code: str, message: str, details: dict[str, Any],
                   headers: Sequence[tuple[bytes, bytes]] = ()) -> tuple[str, bytes]:
    """A request id and a complete HTTP/1.1 response that closes the connection."""
    rid = secrets.token_hex(8)
    body = json.dumps({"error": {"status": status, "code": code, "message": message,
                                 "details": {**details, "request_id": rid}}}).encode()
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}".encode()]
    lines += [name + b": " + value for name, value in (
        *headers,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-request-id", rid.encode()),
    )]
    return rid, b"\r\n".join(lines) + b"\r\n\r\n" + body
