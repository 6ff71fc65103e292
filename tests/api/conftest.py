from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from baas.app import create_app
from baas.core.platform import Platform
from baas.settings import Settings

ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "a long admin password"


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    yield Platform(settings)


@pytest.fixture
async def client(settings: Settings, platform: Platform) -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(settings, platform)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx2.AsyncClient(transport=transport, base_url="http://baas.test") as c:
            yield c
        if platform.engine.kind == "mongodb":
            for name in await platform.engine.databases():
                await platform.engine.drop_database(name)


@pytest.fixture
async def admin_token(client: httpx2.AsyncClient, platform: Platform) -> str:
    await platform.admins.create(ADMIN_EMAIL, ADMIN_PASSWORD)
    response = await client.post("/v1/admin/login",
                                 json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


@pytest.fixture
def admin(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture
async def project(client: httpx2.AsyncClient, admin: dict[str, str]) -> dict:
    response = await client.post("/v1/admin/projects", json={"id": "demo", "name": "Demo"},
                                 headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def keys(project: dict) -> dict[str, str]:
    return {k["kind"]: k["secret"] for k in project["keys"]}


@pytest.fixture
def pk(keys: dict[str, str]) -> dict[str, str]:
    return {"apikey": keys["publishable"]}


@pytest.fixture
def sk(keys: dict[str, str]) -> dict[str, str]:
    return {"apikey": keys["secret"]}
