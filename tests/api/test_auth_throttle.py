"""Brute-force protection: per-account and per-address limits with Retry-After, and
X-Forwarded-For believed only from trusted proxies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from baas.app import create_app
from baas.core.platform import Platform
from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.api.test_admin_api import error_of
from tests.conftest import make_settings

P = "/v1/projects/demo"
PASSWORD = "correct horse battery"


@asynccontextmanager
async def app_client(engine_kind: str, tmp_path: Path, request: pytest.FixtureRequest,
                     **options: Any) -> AsyncIterator[tuple[httpx2.AsyncClient, dict[str, str]]]:
    """A fresh app with ``options`` as settings, a project, and its publishable key."""
    settings = make_settings(engine_kind, tmp_path, request, **options)
    platform = Platform(settings)
    app = create_app(settings, platform)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app, client=("10.0.0.5", 40000))
        async with httpx2.AsyncClient(transport=transport, base_url="http://baas.test") as c:
            await platform.admins.create(ADMIN_EMAIL, ADMIN_PASSWORD)
            token = (await c.post("/v1/admin/login", json={
                "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})).json()["token"]
            made = await c.post("/v1/admin/projects", json={"id": "demo"},
                                headers={"Authorization": f"Bearer {token}"})
            pk = next(k["secret"] for k in made.json()["keys"] if k["kind"] == "publishable")
            yield c, {"apikey": pk}
        if platform.engine.kind == "mongodb":
            for name in await platform.engine.databases():
                await platform.engine.drop_database(name)


async def login(client: httpx2.AsyncClient, pk: dict[str, str], password: str,
                email: str = "ann@example.com", **headers: str) -> httpx2.Response:
    return await client.post(f"{P}/auth/login", headers={**pk, **headers},
                             json={"email": email, "password": password})


async def test_account_limit_on_failed_logins(engine_kind: str, tmp_path: Path,
                                              request: pytest.FixtureRequest) -> None:
    async with app_client(engine_kind, tmp_path, request, auth_account_limit=3) as (c, pk):
        await c.post(f"{P}/auth/signup", headers=pk,
                     json={"email": "ann@example.com", "password": PASSWORD})
        for _ in range(3):
            error_of(await login(c, pk, "wrong password"), 401, "invalid_credentials")
        # Locked, even with the right password: the guesser cannot tell when it hits.
        blocked = await login(c, pk, PASSWORD)
        error_of(blocked, 429, "rate_limited")
        assert 1 <= int(blocked.headers["retry-after"]) <= 900
        # The same limit applies to an unknown email, so it cannot be told apart.
        for _ in range(3):
            await login(c, pk, "wrong password", email="ghost@example.com")
        error_of(await login(c, pk, "x", email="ghost@example.com"), 429, "rate_limited")
        # Other accounts are unaffected.
        other = await c.post(f"{P}/auth/signup", headers=pk,
                             json={"email": "bob@example.com", "password": PASSWORD})
        assert other.status_code == 201
        assert (await login(c, pk, PASSWORD, email="bob@example.com")).status_code == 200


async def test_address_limit_and_spoofed_forwarded_for(engine_kind: str, tmp_path: Path,
                                                       request: pytest.FixtureRequest) -> None:
    async with app_client(engine_kind, tmp_path, request, auth_ip_limit=4) as (c, pk):
        # Not a trusted proxy: a new X-Forwarded-For per request does not reset the count.
        for i in range(4):
            response = await c.post(f"{P}/auth/anonymous", headers={
                **pk, "X-Forwarded-For": f"203.0.113.{i}"})
            assert response.status_code == 201
        error_of(await c.post(f"{P}/auth/anonymous", headers={
            **pk, "X-Forwarded-For": "198.51.100.1"}), 429, "rate_limited")
        error_of(await c.post(f"{P}/auth/signup", headers=pk, json={
            "email": "new@example.com", "password": PASSWORD}), 429, "rate_limited")
        error_of(await c.post(f"{P}/auth/password/forgot", headers=pk, json={
            "email": "new@example.com"}), 429, "rate_limited")
        error_of(await c.post(f"{P}/auth/refresh", headers=pk, json={
            "refresh_token": "rt_x"}), 429, "rate_limited")


async def test_trusted_proxy_forwards_the_client_address(engine_kind: str, tmp_path: Path,
                                                         request: pytest.FixtureRequest) -> None:
    async with app_client(engine_kind, tmp_path, request, auth_ip_limit=2,
                          trusted_proxies="10.0.0.0/8") as (c, pk):
        for client_ip in ("203.0.113.7", "203.0.113.8"):
            for _ in range(2):
                made = await c.post(f"{P}/auth/anonymous", headers={
                    **pk, "X-Forwarded-For": f"{client_ip}, 10.1.1.1"})
                assert made.status_code == 201
            error_of(await c.post(f"{P}/auth/anonymous", headers={
                **pk, "X-Forwarded-For": f"{client_ip}, 10.1.1.1"}), 429, "rate_limited")
        # A client-supplied first hop cannot pose as another address: the rightmost
        # untrusted hop counts.
        error_of(await c.post(f"{P}/auth/anonymous", headers={
            **pk, "X-Forwarded-For": "192.0.2.99, 203.0.113.7"}), 429, "rate_limited")
        # The session records the forwarded address.
        fresh = await c.post(f"{P}/auth/anonymous", headers={
            **pk, "X-Forwarded-For": "garbage, 198.51.100.20"})
        assert fresh.status_code == 201
        sessions = await c.get(f"{P}/auth/sessions", headers={
            **pk, "Authorization": "Bearer " + fresh.json()["session"]["access_token"]})
        assert sessions.json()["items"][0]["ip"] == "198.51.100.20"


async def test_reset_requests_are_limited_per_account(engine_kind: str, tmp_path: Path,
                                                      request: pytest.FixtureRequest) -> None:
    async with app_client(engine_kind, tmp_path, request, auth_account_limit=2) as (c, pk):
        for _ in range(2):
            sent = await c.post(f"{P}/auth/password/forgot", headers=pk,
                                json={"email": "ann@example.com"})
            assert sent.status_code == 202
        error_of(await c.post(f"{P}/auth/password/forgot", headers=pk,
                              json={"email": "Ann@Example.com"}), 429, "rate_limited")
