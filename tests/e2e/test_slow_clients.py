"""Transport limits (issue 12, item 1) against `baas serve` over raw sockets, with both
HTTP parsers (uvloop + httptools and asyncio + h11): slow and idle sockets are closed
within their timeouts while normal requests keep answering, oversized heads get 431, a
full server 503 with Retry-After, WebSocket upgrade requests the same limits, and a
WebSocket session outlives the HTTP timeouts once it is upgraded.

Timeouts are set small (1 s) by settings, so nothing here waits for the defaults."""

from __future__ import annotations

import json
import os
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from websockets.sync.client import connect as ws_connect

from baas.transport import ServerConfig, TransportLimits
from tests.conftest import free_port, wait_for_port
from tests.e2e.test_serve_and_cli import Server
from tests.e2e.test_workers import Workers

TIMEOUT = 1.0  # header and body timeout of the servers below (seconds)
KEEP_ALIVE = 1  # seconds
MAX_IN_FLIGHT = 3
PARSERS = [("uvloop", "httptools"), ("asyncio", "h11")]
UPGRADE = (b"GET /v1/projects/demo/realtime HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")


def server_env(tmp: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    env.update({"BAAS_LOG_FORMAT": "json", "BAAS_ARGON2_TIME_COST": "1",
                "BAAS_CLI_CONFIG": str(tmp / "cli.json"), "BAAS_HEADER_TIMEOUT": str(TIMEOUT),
                "BAAS_BODY_TIMEOUT": str(TIMEOUT), "BAAS_KEEP_ALIVE_TIMEOUT": str(KEEP_ALIVE)})
    env.update({f"BAAS_{name.upper()}": value for name, value in settings.items()})
    return env


@pytest.fixture(scope="module", params=PARSERS, ids=[http for _, http in PARSERS])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    loop, http = request.param
    tmp = tmp_path_factory.mktemp(http)
    srv = Server(server_env(tmp, loop=loop, http=http,
                            max_concurrent_requests=str(MAX_IN_FLIGHT)), tmp / "data")
    srv.start()
    assert f"server:    {loop} + {http}" in srv.output()
    yield srv
    assert srv.stop() == 0


def opened(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_all(sock: socket.socket, timeout: float = 10) -> tuple[bytes, float]:
    """Everything until the server closes, and how long that took."""
    start = time.monotonic()
    sock.settimeout(timeout)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks), time.monotonic() - start


def read_response(sock: socket.socket) -> bytes:
    """One response with a Content-Length, leaving the connection open."""
    sock.settimeout(5)
    raw = b""
    while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < int(
            parse(raw)[1]["content-length"]):
        raw += sock.recv(65536)
    return raw


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def refusal(raw: bytes, status: int, code: str) -> dict[str, Any]:
    """The response is API.md's error shape with its request id; the details."""
    got, headers, body = parse(raw)
    assert got == status, raw[:300]
    error = json.loads(body)["error"]
    assert error["status"] == status and error["code"] == code, error
    assert headers["x-request-id"] == error["details"]["request_id"]
    assert headers["connection"] == "close" and headers["content-type"] == "application/json"
    assert headers["x-content-type-options"] == "nosniff"
    assert error["message"]
    details: dict[str, Any] = error["details"]
    return details


def health(server: Server) -> int:
    with httpx2.Client(timeout=5) as client:
        return client.get(f"{server.url}/health").status_code


def test_slow_headers_are_cut_off_while_normal_requests_answer(server: Server) -> None:
    slow = [opened(server.port) for _ in range(60)]
    started = time.monotonic()
    for sock in slow:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    answers: dict[socket.socket, float] = {}
    statuses = []
    while len(answers) < len(slow) and time.monotonic() - started < TIMEOUT + 3:
        for sock in slow:  # one more header line each, every 0.2 s: never a complete head
            if sock not in answers:
                sock.sendall(b"X-Slow: 1\r\n")
        statuses.append(health(server))
        readable, _, _ = select.select([s for s in slow if s not in answers], [], [], 0.2)
        for sock in readable:
            answers[sock] = time.monotonic() - started
    assert len(answers) == len(slow)
    assert set(statuses) == {200} and len(statuses) >= 4
    for sock in slow:
        raw, _ = read_all(sock)
        details = refusal(raw, 408, "request_timeout")
        assert details["limit"] == "header_timeout"
        assert TIMEOUT - 0.1 <= answers[sock] <= TIMEOUT + 1.5
        sock.close()


def test_an_idle_socket_is_closed_without_an_answer(server: Server) -> None:
    with opened(server.port) as sock:
        raw, took = read_all(sock)
    assert raw == b"" and TIMEOUT - 0.1 <= took <= TIMEOUT + 1.5


def test_an_idle_keep_alive_connection_is_closed(server: Server) -> None:
    with opened(server.port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        raw, took = read_all(sock)
    assert raw == b"" and KEEP_ALIVE - 0.1 <= took <= KEEP_ALIVE + 1.5


def test_pipelined_and_split_requests_are_served(server: Server) -> None:
    with opened(server.port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
        sock.settimeout(5)
        got = b""
        while got.count(b'{"status":"ok"}') < 3:  # three whole answers
            got += sock.recv(65536)
        assert got.count(b"HTTP/1.1 200") == 3
        # A head and a body in pieces, each within its timeout, is a normal request.
        body = json.dumps({"email": "nobody@example.com", "password": "not the password"})
        sock.sendall(b"POST /v1/admin/login HTTP/1.1\r\nHost: x\r\n")
        time.sleep(TIMEOUT / 2)
        sock.sendall(b"Content-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body[:10].encode())
        time.sleep(TIMEOUT / 2)
        sock.sendall(body[10:].encode() + b"GET /health HTTP/1.1\r\nHost: x\r\n"
                     b"Connection: close\r\n\r\n")
        raw, _ = read_all(sock)
    assert raw.startswith(b"HTTP/1.1 401") and raw.count(b"HTTP/1.1 200") == 1, raw[:300]


def test_a_body_shorter_than_its_content_length_is_cut_off(server: Server) -> None:
    with opened(server.port) as sock:
        sock.sendall(b"POST /v1/admin/login HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":")
        raw, took = read_all(sock)
    details = refusal(raw, 408, "request_timeout")
    assert details["limit"] == "body_timeout" and details["received"] == 9
    assert TIMEOUT - 0.1 <= took <= TIMEOUT + 1.5


def test_a_trickling_body_is_cut_off(server: Server) -> None:
    with opened(server.port) as sock:
        sock.sendall(b"POST /v1/admin/login HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        started = time.monotonic()
        answered = False
        while not answered and time.monotonic() - started < TIMEOUT + 3:
            sock.sendall(b" ")
            answered = bool(select.select([sock], [], [], 0.1)[0])
        took = time.monotonic() - started
        raw, _ = read_all(sock)
    assert refusal(raw, 408, "request_timeout")["limit"] == "body_timeout"
    assert TIMEOUT - 0.1 <= took <= TIMEOUT + 1.5


@pytest.mark.parametrize("head", [
    b"X-Big: " + b"a" * 65536 + b"\r\n",
    b"".join(b"X-H%d: v\r\n" % n for n in range(5000)),
], ids=["64KiB-header", "5000-headers"])
def test_an_oversized_head_gets_431(server: Server, head: bytes) -> None:
    with opened(server.port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")
        raw, _ = read_all(sock)
    details = refusal(raw, 431, "request_header_fields_too_large")
    # 5,000 headers break both limits; which is seen first depends on how the reads split.
    assert (details["limit"], details["max"]) in {("max_header_bytes", 16384),
                                                  ("max_header_count", 100)}
    assert set(details) == {"limit", "max", "request_id"}
    assert health(server) == 200


def test_too_many_header_fields_get_431_and_a_head_within_the_limits_is_served(
        server: Server) -> None:
    with opened(server.port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n"
                     + b"".join(b"X-H%d: v\r\n" % n for n in range(150)) + b"\r\n")
        raw, _ = read_all(sock)
    assert refusal(raw, 431, "request_header_fields_too_large")["limit"] == "max_header_count"
    with httpx2.Client(timeout=5) as client:
        headers = {"X-Big": "a" * 15000, **{f"X-H{n}": "v" for n in range(90)}}
        assert client.get(f"{server.url}/health", headers=headers).status_code == 200


def test_requests_past_the_concurrency_limit_get_503_with_retry_after(server: Server) -> None:
    held = [opened(server.port) for _ in range(MAX_IN_FLIGHT)]
    body = json.dumps({"email": "nobody@example.com", "password": "not the password"}).encode()
    for sock in held:  # in the app, waiting for the rest of their bodies
        sock.sendall(b"POST /v1/admin/login HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                     % len(body) + body[:5])
    deadline = time.monotonic() + TIMEOUT * 0.7  # before the held bodies time out
    while True:  # until the server has taken the held requests in (a loaded machine)
        with opened(server.port) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            raw, _ = read_all(sock)
        if not raw.startswith(b"HTTP/1.1 200") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    details = refusal(raw, 503, "server_busy")
    assert parse(raw)[1]["retry-after"] == "1"
    assert details["retry_after"] == 1 and details["max"] == MAX_IN_FLIGHT
    for sock in held:
        sock.sendall(body[5:])
    for sock in held:
        assert read_response(sock).startswith(b"HTTP/1.1 401")
        sock.close()
    assert health(server) == 200


def test_websocket_upgrade_requests_get_the_same_limits(server: Server) -> None:
    with opened(server.port) as slow, opened(server.port) as big:
        slow.sendall(UPGRADE)  # never finished
        big.sendall(UPGRADE + b"X-Big: " + b"a" * 65536 + b"\r\n\r\n")
        raw, _ = read_all(big)
        assert refusal(raw, 431, "request_header_fields_too_large")["limit"] == "max_header_bytes"
        raw, took = read_all(slow)
    assert refusal(raw, 408, "request_timeout")["limit"] == "header_timeout"
    assert took <= TIMEOUT + 1.5


def test_the_limits_hold_in_every_worker(tmp_path: Path) -> None:
    srv = Workers(server_env(tmp_path, max_header_bytes="4096"), tmp_path / "data", 2)
    srv.start()
    try:
        idle = [opened(srv.port) for _ in range(8)]
        for _ in range(8):  # fresh connections: the kernel spreads them over both workers
            with opened(srv.port) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8192
                             + b"\r\n\r\n")
                raw, _ = read_all(sock)
            assert refusal(raw, 431, "request_header_fields_too_large")["max"] == 4096
        for sock in idle:
            raw, took = read_all(sock)
            assert raw == b"" and took <= TIMEOUT + 1.5
            sock.close()
    finally:
        assert srv.proc is not None
        srv.proc.terminate()
        assert srv.proc.wait(timeout=30) == 0


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A WebSocket echo app (the realtime route is not built yet)."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    assert scope["type"] == "websocket"
    await receive()
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message["text"]})


@pytest.mark.parametrize(("loop", "http"), PARSERS, ids=[http for _, http in PARSERS])
def test_a_websocket_session_outlives_the_http_timeouts(loop: str, http: str) -> None:
    port = free_port()
    limits = TransportLimits(header_timeout=0.3, body_timeout=0.3, keep_alive_timeout=1)
    uv = uvicorn.Server(ServerConfig(echo, http=http, limits=limits, loop=loop,
                                     host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        with ws_connect(f"ws://127.0.0.1:{port}/ws", open_timeout=5) as ws:
            for n in range(3):
                time.sleep(0.5)  # past every HTTP timeout above
                ws.send(f"ping {n}")
                assert ws.recv(timeout=5) == f"ping {n}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
