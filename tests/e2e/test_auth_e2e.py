"""End to end on both engines: `baas serve` as a process, a real SMTP server (aiosmtpd),
PyJWKClient verifying tokens from the JWKS route, a restart keeping sessions, login
timing for known vs unknown emails, and /health latency under concurrent logins."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx2
import jwt
import pytest

from tests.conftest import ENGINES
from tests.e2e.test_serve_and_cli import Server, admin_and_project
from tests.smtp import SmtpSink, link_in

USER_PASSWORD = "user password 123"


@pytest.fixture(params=ENGINES)
def auth_server(request: pytest.FixtureRequest, tmp_path: Path,
                smtp_sink: SmtpSink) -> Iterator[tuple[Server, dict[str, str]]]:
    """A server mailing through ``smtp_sink``, with an admin, a project and its keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    env.update({"BAAS_LOG_FORMAT": "json", "BAAS_ARGON2_TIME_COST": "1",
                "BAAS_CLI_CONFIG": str(tmp_path / "cli.json"),
                "BAAS_SMTP_HOST": smtp_sink.host, "BAAS_SMTP_PORT": str(smtp_sink.port),
                "BAAS_SMTP_SECURITY": "none", "BAAS_SMTP_SENDER": "Demo <auth@demo.test>",
                "BAAS_AUTH_IP_LIMIT": "100000", "BAAS_AUTH_ACCOUNT_LIMIT": "100000",
                "BAAS_AUTH_ACCOUNT_WIDE_LIMIT": "100000"})
    if request.param == "mongodb":
        env["BAAS_MONGODB_URL"] = request.getfixturevalue("mongo_url")
        env["BAAS_MONGODB_DB_PREFIX"] = "a" + uuid.uuid4().hex[:8] + "_"
    server = Server(env, tmp_path / "data")
    server.env["BAAS_PUBLIC_URL"] = server.url
    server.start()
    try:
        keys = admin_and_project(server)
        yield server, keys
    finally:
        if server.proc is not None:
            server.proc.kill()
            server.proc.wait()


def api(server: Server, method: str, path: str, key: str, token: str | None = None,
        headers: dict[str, str] | None = None, **kw: Any) -> httpx2.Response:
    headers = {"apikey": key, **(headers or {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx2.request(method, f"{server.url}/v1/projects/demo{path}", headers=headers,
                         timeout=30, **kw)


def token_of(link: str) -> str:
    return parse_qs(urlparse(link).query)["token"][0]


def test_signup_verify_reset_jwks_and_restart(
        auth_server: tuple[Server, dict[str, str]], smtp_sink: SmtpSink) -> None:
    server, keys = auth_server
    pk = keys["publishable"]
    assert f"SMTP {smtp_sink.host}:{smtp_sink.port}" in server.output()
    signed = api(server, "POST", "/auth/signup", pk,
                 json={"email": "Ann@Example.com", "password": USER_PASSWORD})
    assert signed.status_code == 201, signed.text
    session = signed.json()["session"]

    # Another service verifies the token with a standard JWKS client.
    jwks = jwt.PyJWKClient(f"{server.url}/v1/projects/demo/.well-known/jwks.json")
    signing_key = jwks.get_signing_key_from_jwt(session["access_token"])
    claims = jwt.decode(session["access_token"], signing_key.key, algorithms=["ES256"],
                        audience="demo", issuer=f"{server.url}/v1/projects/demo",
                        options={"require": ["exp", "iat", "sub", "sid", "iss", "aud"]})
    assert claims["sub"] == signed.json()["user"]["id"] and claims["role"] == "authenticated"

    # Email verification through the real SMTP server.
    asked = api(server, "POST", "/auth/verify/request", pk, session["access_token"])
    assert asked.status_code == 202, asked.text
    mail = asyncio.run(smtp_sink.wait_for("ann@example.com"))
    assert "Demo" in mail["From"] and mail.get_body(preferencelist=("html",)) is not None
    link = link_in(mail)
    assert link.startswith(f"{server.url}/v1/projects/demo/auth/verify/confirm?token=")
    page = httpx2.get(link)
    assert page.status_code == 200 and "Confirm" in page.text
    confirmed = httpx2.post(link.split("?")[0], json={"token": token_of(link)})
    assert confirmed.status_code == 200 and confirmed.json()["email_verified"]

    # A restart keeps signing keys and sessions: the old tokens still work.
    assert server.stop() == 0
    server.start()
    assert api(server, "GET", "/auth/me", pk, session["access_token"]).status_code == 200
    refreshed = api(server, "POST", "/auth/refresh", pk,
                    json={"refresh_token": session["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text

    # Password reset through the real SMTP server ends every session.
    forgot = api(server, "POST", "/auth/password/forgot", pk, json={"email": "ann@example.com"},
                 headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert forgot.status_code == 202
    reset_mail = asyncio.run(smtp_sink.wait_for("ann@example.com"))
    reset_link = link_in(reset_mail)
    assert reset_link.startswith(f"{server.url}/v1/projects/demo/auth/password/reset?token=")
    done = httpx2.post(reset_link.split("?")[0],
                      json={"token": token_of(reset_link), "password": "brand new password"})
    assert done.status_code == 204, done.text
    stale = api(server, "POST", "/auth/refresh", pk,
                json={"refresh_token": refreshed.json()["session"]["refresh_token"]})
    assert stale.status_code == 401
    assert api(server, "POST", "/auth/login", pk, json={
        "email": "ann@example.com", "password": "brand new password"}).status_code == 200


def test_login_timing_does_not_reveal_accounts(
        auth_server: tuple[Server, dict[str, str]]) -> None:
    server, keys = auth_server
    pk = keys["publishable"]
    assert api(server, "POST", "/auth/signup", pk, json={
        "email": "known@example.com", "password": USER_PASSWORD}).status_code == 201
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    with httpx2.Client(base_url=server.url, headers={"apikey": pk}, timeout=30) as client:
        for i in range(110):
            for kind in ("known", "unknown") if i % 2 else ("unknown", "known"):
                started = time.perf_counter()
                response = client.post("/v1/projects/demo/auth/login", json={
                    "email": f"{kind}@example.com", "password": "wrong password!"})
                elapsed = time.perf_counter() - started
                assert response.status_code == 401
                if i >= 10:  # the first ten of each warm up connections and caches
                    timings[kind].append(elapsed)
    known, unknown = statistics.median(timings["known"]), statistics.median(timings["unknown"])
    assert abs(known - unknown) / min(known, unknown) < 0.10, (known, unknown)


PROBE = """
import json, sys, time, httpx2
url, stop = sys.argv[1], sys.argv[2]
out = []
with httpx2.Client(timeout=10) as client:
    client.get(url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        started = time.perf_counter()
        assert client.get(url).status_code == 200
        out.append(time.perf_counter() - started)
        try:
            open(stop).close()
            break
        except FileNotFoundError:
            time.sleep(0.005)
print(json.dumps(out))
"""


async def test_health_stays_fast_during_concurrent_logins(
        auth_server: tuple[Server, dict[str, str]], tmp_path: Path) -> None:
    server, keys = auth_server
    pk = keys["publishable"]
    assert api(server, "POST", "/auth/signup", pk, json={
        "email": "busy@example.com", "password": USER_PASSWORD}).status_code == 201
    stop = tmp_path / "stop-probe"
    # /health is probed from its own process, so the load generator's work in this
    # process does not count as server latency.
    prober = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PROBE, f"{server.url}/health", str(stop),
        stdout=asyncio.subprocess.PIPE)
    limits = httpx2.Limits(max_connections=60)
    async with httpx2.AsyncClient(base_url=server.url, headers={"apikey": pk}, timeout=60,
                                 limits=limits) as client:
        async def one_login() -> int:
            response = await client.post("/v1/projects/demo/auth/login", json={
                "email": "busy@example.com", "password": USER_PASSWORD})
            return response.status_code

        await asyncio.sleep(0.3)  # the prober is up and polling
        statuses = await asyncio.gather(*[one_login() for _ in range(50)])
    stop.touch()
    output, _ = await prober.communicate()
    latencies = json.loads(output)
    assert statuses == [200] * 50
    assert len(latencies) >= 20
    p99 = statistics.quantiles(latencies, n=100)[98]
    assert p99 < 0.050, f"/health p99 {p99 * 1000:.1f} ms during logins"
