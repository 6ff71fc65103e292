"""A client that hangs up in the middle of its body is not a server fault."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from baas.app import create_app
from baas.core.platform import Platform
from baas.settings import Settings


async def call(app: Any, messages: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
             "server": ("127.0.0.1", 8080),
             "headers": [(b"host", b"baas.test"), (b"content-type", b"application/json"),
                         (b"content-length", b"100")]}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_disconnect_mid_body_is_a_quiet_400(settings: Settings,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(settings, Platform(settings))
    async with app.router.lifespan_context(app):
        with caplog.at_level(logging.INFO, logger="baas"):
            sent = await call(app, [{"type": "http.request", "body": b'{"email": "a@',
                                     "more_body": True}], "/v1/admin/login")
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(r.getMessage() == "client disconnected" for r in caplog.records)
