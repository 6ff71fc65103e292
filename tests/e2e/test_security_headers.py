"""Over real sockets against `baas serve`: every response carries `nosniff` and, unless
it is meant to be cached, `Cache-Control: no-store`; HTML cannot be framed; the
trailing-slash redirect ignores a forged `Host`; and a body the JSON boundary refuses
(a lone surrogate, a duplicate key) is a 400 that keeps the keep-alive connection usable
and logs no traceback."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import httpx2
import pytest

from tests.conftest import ENGINES
from tests.e2e.test_serve_and_cli import PASSWORD, Server, admin_and_project


@pytest.fixture(scope="module", params=ENGINES)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Server, dict[str, str]]]:
    """A server with an admin and a project; its keys and the admin token."""
    tmp = tmp_path_factory.mktemp(f"headers-{request.param}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    env.update({"BAAS_LOG_FORMAT": "json", "BAAS_ARGON2_TIME_COST": "1",
                "BAAS_CLI_CONFIG": str(tmp / "cli.json"), "BAAS_MAX_BODY_BYTES": "4096",
                "BAAS_CORS_ORIGINS": "https://app.example.com"})
    if request.param == "mongodb":
        env["BAAS_MONGODB_URL"] = request.getfixturevalue("mongo_url")
        env["BAAS_MONGODB_DB_PREFIX"] = "h" + uuid.uuid4().hex[:8] + "_"
    server = Server(env, tmp / "data")
    server.start()
    try:
        keys = admin_and_project(server)
        yield server, keys
        assert "Traceback" not in server.output()
    finally:
        if server.proc is not None:
            server.proc.kill()
            server.proc.wait()


class Connection:
    """One raw keep-alive HTTP/1.1 connection, to send exactly the bytes a test means."""

    def __init__(self, server: Server) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def request(self, method: str, target: str, headers: dict[str, str] | None = None,
                body: bytes = b"", host: str = "127.0.0.1") -> tuple[int, dict[str, str], bytes]:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        return self._response()

    def _response(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._read()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), headers, body

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk


@pytest.fixture
def conn(served: tuple[Server, dict[str, str]]) -> Iterator[Connection]:
    connection = Connection(served[0])
    yield connection
    connection.close()


def assert_safe(headers: dict[str, str], cacheable: bool = False) -> None:
    assert headers["x-content-type-options"] == "nosniff", headers
    assert headers["x-request-id"]
    if not cacheable:
        assert headers["cache-control"] == "no-store", headers


def test_every_kind_of_response_carries_the_headers(served: tuple[Server, dict[str, str]],
                                                    conn: Connection) -> None:
    _, keys = served
    sk, admin = {"apikey": keys["secret"]}, {"Authorization": f"Bearer {keys['admin']}"}
    json_body = {"Content-Type": "application/json"}
    answers = [
        conn.request("GET", "/health"),
        conn.request("GET", "/v1/admin/projects", admin),
        conn.request("POST", "/v1/admin/login", json_body,
                     b'{"email": "ops@example.com", "password": "%s"}' % PASSWORD.encode()),
        # ^ a token in the body
        conn.request("POST", "/v1/admin/login", json_body, b'{"email": "x"'),  # 400
        conn.request("GET", "/v1/admin/projects"),  # 401
        conn.request("GET", "/nowhere"),  # 404
        conn.request("DELETE", "/health"),  # 405
        conn.request("POST", "/v1/projects/demo/collections", {**sk, "Content-Type": "text/plain"},
                     b"{}"),  # 415
        conn.request("GET", "/openapi.json"),
        conn.request("OPTIONS", "/v1/projects/demo/collections", {
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}),
    ]
    assert [status for status, _, _ in answers] == [200, 200, 200, 400, 401, 404, 405, 415,
                                                    200, 200]
    for _, headers, _ in answers:
        assert_safe(headers)
    # Refused by size while streaming in: answered by the middleware, and the connection
    # ends, as before.
    status, headers, _ = conn.request("POST", "/v1/projects/demo/collections",
                                      {**sk, **json_body}, b"[" + b"1," * 5000 + b"1]")
    assert status == 413
    assert_safe(headers)


def test_docs_cannot_be_framed_and_jwks_stays_cacheable(conn: Connection) -> None:
    status, headers, body = conn.request("GET", "/docs")
    assert status == 200 and b"<table>" in body
    assert_safe(headers)
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    status, headers, _ = conn.request("GET", "/v1/projects/demo/.well-known/jwks.json")
    assert status == 200
    assert_safe(headers, cacheable=True)
    assert headers["cache-control"].startswith("public, max-age=")
    status, headers, _ = conn.request("GET", "/v1/projects/demo/auth/password/reset?token=x")
    assert status == 200 and "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "form-action 'self'" in headers["content-security-policy"]  # the page's own


def test_trailing_slash_redirect_ignores_a_forged_host(served: tuple[Server, dict[str, str]],
                                                       conn: Connection) -> None:
    _, keys = served
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    for host in ("evil.example", "evil.example:443", "127.0.0.1"):
        status, headers, _ = conn.request("GET", "/v1/admin/projects/?limit=5", admin, host=host)
        assert status == 307
        assert headers["location"] == "/v1/admin/projects?limit=5", headers
        assert_safe(headers)
    status, headers, _ = conn.request("GET", "/v1/projects/d%65mo/collections/", admin,
                                      host="evil.example")
    assert status == 307 and headers["location"] == "/v1/projects/d%65mo/collections"
    # Paths that would become another host are not redirected at all.
    for target in ("//evil.example/", "//evil.example/v1/admin/projects/",
                   "/\\evil.example/", "///v1/admin/projects/"):
        status, headers, _ = conn.request("GET", target, host="evil.example")
        assert status == 404 and "location" not in headers, (target, headers)
    # Following the relative Location on the real server gets the resource.
    followed = httpx2.get(f"{served[0].url}/v1/admin/projects/", headers=admin,
                          follow_redirects=True)
    assert followed.status_code == 200 and followed.url.path == "/v1/admin/projects"


def test_refused_bodies_keep_the_connection(served: tuple[Server, dict[str, str]],
                                            conn: Connection) -> None:
    _, keys = served
    pk = {"apikey": keys["publishable"], "Content-Type": "application/json"}
    email = f"u{uuid.uuid4().hex[:8]}@example.com"
    for body, path in (
            (b'{"email": "%s", "password": "pass\\ud800word"}' % email.encode(), "password"),
            (b'{"email": "%s", "password": "a long password", "data": {"k": 1, "k": 2}}'
             % email.encode(), "data.k")):
        status, headers, answer = conn.request("POST", "/v1/projects/demo/auth/signup", pk,
                                               body)
        assert status == 400 and b'"invalid_json"' in answer, answer
        assert b'"path":"%s"' % path.encode() in answer
        assert headers.get("connection", "keep-alive") != "close"
        assert_safe(headers)
    # The same socket answers the next request, and the account was never created.
    status, _, answer = conn.request("POST", "/v1/projects/demo/auth/login", pk,
                                     b'{"email": "%s", "password": "a long password"}'
                                     % email.encode())
    assert status == 401, answer
    status, _, _ = conn.request("GET", "/health")
    assert status == 200


def test_server_log_has_no_traceback_for_refused_bytes(
        served: tuple[Server, dict[str, str]]) -> None:
    server, keys = served
    for _ in range(3):
        answer = httpx2.post(f"{server.url}/v1/projects/demo/auth/login",
                             headers={"apikey": keys["publishable"],
                                      "Content-Type": "application/json"},
                             content=b'{"email": "a@example.com", "password": "\\udfff\\ud800"}')
        assert answer.status_code == 400
    assert "Traceback" not in server.output() and "unhandled error" not in server.output()
