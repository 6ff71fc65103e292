"""Metrics live in ``baas.metrics`` (recordable without the HTTP layer), a WebSocket
session is counted and logged as a session rather than an HTTP 500, and the body limit
answers with the one error shape."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import httpx2
import pytest
from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from baas.api.errors import error_json
from baas.api.middleware import RequestContext
from baas.core.platform import Platform
from baas.metrics import Metrics


def test_metrics_import_nothing_of_the_http_layer() -> None:
    code = ("import sys, baas.metrics; "
            "bad = [m for m in sys.modules if m.startswith('baas.api')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_what_the_platform_records_is_served_at_metrics(
        client: httpx2.AsyncClient, platform: Platform) -> None:
    # A worker or the broker records through the platform's Metrics, not through api.
    platform.metrics.websockets.labels("realtime", "accepted").inc(3)
    text = (await client.get("/metrics")).text
    assert 'baas_websocket_sessions_total{outcome="accepted",route="realtime"} 3.0' in text


# -- a WebSocket through the request middleware (a route that exists only here) -------


async def chat(websocket: WebSocket) -> None:
    if websocket.query_params.get("deny"):
        await websocket.close(code=1008)
        return
    await websocket.accept()
    text = await websocket.receive_text()
    await websocket.send_text(text.upper())
    await websocket.close()


async def broken(request: Any) -> Any:
    raise RuntimeError("boom")


def small_app(metrics: Metrics) -> Starlette:
    return Starlette(routes=[WebSocketRoute("/ws", chat), Route("/broken", broken)],
                     middleware=[Middleware(RequestContext, metrics=metrics)])


async def websocket_session(app: Starlette, query: bytes, frames: list[str]
                            ) -> list[dict[str, Any]]:
    """Drive one WebSocket session over ASGI; returns what the app sent."""
    incoming: list[dict[str, Any]] = [{"type": "websocket.connect"}]
    incoming += [{"type": "websocket.receive", "text": f} for f in frames]
    incoming.append({"type": "websocket.disconnect", "code": 1000})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws",
             "path": "/ws", "raw_path": b"/ws", "query_string": query, "root_path": "",
             "headers": [(b"host", b"baas.test"), (b"x-request-id", b"trace-ws-0001")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80), "subprotocols": []}
    await app(scope, receive, send)  # type: ignore[arg-type]
    return sent


def samples(metrics: Metrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_a_websocket_session_is_not_an_http_500(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    app = small_app(metrics)
    with caplog.at_level(logging.INFO, logger="baas.access"):
        sent = await websocket_session(app, b"", ["hello"])
        denied = await websocket_session(app, b"deny=1", [])
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert sent[1]["text"] == "HELLO"
    assert (b"x-request-id", b"trace-ws-0001") in sent[0]["headers"]
    assert denied[0]["type"] == "websocket.close"

    assert samples(metrics, "baas_http_requests_total") == {}
    sessions = samples(metrics, "baas_websocket_sessions_total")
    assert sessions == {(("outcome", "accepted"), ("route", "chat")): 1.0,
                        (("outcome", "rejected"), ("route", "chat")): 1.0}
    logged = [r for r in caplog.records if r.name == "baas.access"]
    assert [r.getMessage() for r in logged] == ["websocket", "websocket"]
    assert [getattr(r, "outcome") for r in logged] == ["accepted", "rejected"]
    assert all(getattr(r, "request_id") == "trace-ws-0001" for r in logged)
    assert not any(getattr(r, "status", None) == 500 for r in logged)
    assert "baas_websocket_session_seconds" in generate_latest(metrics.registry).decode()


async def test_an_http_fault_is_still_counted_as_a_500() -> None:
    metrics = Metrics()
    transport = httpx2.ASGITransport(app=small_app(metrics), raise_app_exceptions=False)
    async with httpx2.AsyncClient(transport=transport, base_url="http://baas.test") as client:
        assert (await client.get("/broken")).status_code == 500
    assert samples(metrics, "baas_http_requests_total") == {
        (("method", "GET"), ("route", "broken"), ("status", "500")): 1.0}
    assert samples(metrics, "baas_websocket_sessions_total") == {}


async def test_the_body_limit_answers_with_the_one_error_shape(
        client: httpx2.AsyncClient, admin: dict[str, str]) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b" " * 65536

    for body in (b"x" * (2 * 1024 * 1024), chunks()):  # by header, and while streaming
        response = await client.post("/v1/admin/projects", content=body, headers={
            **admin, "content-type": "application/json", "x-request-id": "trace-413-0001"})
        expected = error_json("trace-413-0001", 413, "payload_too_large",
                              "the request body is larger than 1048576 bytes",
                              {"max_bytes": 1048576})
        assert response.status_code == 413
        assert response.content == expected.body  # the same bytes as every other error
        assert response.headers["content-type"] == expected.headers["content-type"]
        assert response.headers["x-request-id"] == "trace-413-0001"
        assert response.headers["connection"] == "close"
