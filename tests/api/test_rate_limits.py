"""Rate limits and daily quotas against a real `baas serve` over real sockets, on both
engines: 429 with Retry-After and RateLimit-* headers in the API's error shape, per key,
per client address and per day, batches counting each operation, who is exempt, and the
admin routes that show and set the limits."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from baas.core.usage.quotas import seconds_to_next_day
from tests.conftest import ENGINES
from tests.e2e.test_serve_and_cli import BAAS, Server

ADMIN_EMAIL = "limits@example.com"
ADMIN_PASSWORD = "a long admin password"


class Live:
    """A running server with an admin token; ``project()`` makes a fresh project."""

    def __init__(self, server: Server, token: str) -> None:
        self.server = server
        self.url = server.url
        self.admin = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, headers: dict[str, str] | None = None,
             **kwargs: Any) -> httpx2.Response:
        return httpx2.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def project(self, **limits: Any) -> dict[str, Any]:
        """A new project with a collection ``notes`` open to publishable keys, its
        limits changed as given; its key secrets by kind, and its key ids."""
        pid = "p" + uuid.uuid4().hex[:10]
        made = self.call("POST", "/v1/admin/projects", self.admin, json={"id": pid})
        assert made.status_code == 201, made.text
        keys = {k["kind"]: k for k in made.json()["keys"]}
        sk = {"apikey": keys["secret"]["secret"]}
        collection = self.call("POST", f"/v1/projects/{pid}/collections", sk, json={
            "name": "notes", "rules": {"list": "", "get": "", "create": "", "update": "",
                                       "delete": ""}})
        assert collection.status_code == 201, collection.text
        if limits:
            changed = self.call("PATCH", f"/v1/admin/projects/{pid}/limits", self.admin,
                                json=limits)
            assert changed.status_code == 200, changed.text
        return {"id": pid, "pk": {"apikey": keys["publishable"]["secret"]}, "sk": sk,
                "pk_id": keys["publishable"]["id"], "sk_id": keys["secret"]["id"],
                "docs": f"/v1/projects/{pid}/collections/notes/documents"}


@pytest.fixture(scope="module", params=ENGINES)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("limits")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    env.update({"BAAS_LOG_FORMAT": "json", "BAAS_ARGON2_TIME_COST": "1",
                "BAAS_CLI_CONFIG": str(root / "cli.json")})
    if request.param == "mongodb":
        env["BAAS_MONGODB_URL"] = request.getfixturevalue("mongo_url")
        env["BAAS_MONGODB_DB_PREFIX"] = "r" + uuid.uuid4().hex[:8] + "_"
    server = Server(env, root / "data")
    server.start()
    try:
        created = subprocess.run(
            [BAAS, "admin", "create", "--email", ADMIN_EMAIL, "--password-stdin",
             "--data-dir", str(server.data_dir)], env=env, input=ADMIN_PASSWORD + "\n",
            capture_output=True, text=True, timeout=60)
        assert created.returncode == 0, created.stderr
        login = httpx2.post(f"{server.url}/v1/admin/login",
                            json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        yield Live(server, login.json()["token"])
    finally:
        if server.proc is not None:
            server.proc.kill()
            server.proc.wait()


async def flood(live: Live, method: str, path: str, headers: dict[str, str], n: int,
                **kwargs: Any) -> list[httpx2.Response]:
    """``n`` concurrent requests over a few connections."""
    limits = httpx2.Limits(max_connections=20)
    async with httpx2.AsyncClient(base_url=live.url, timeout=60, limits=limits) as client:
        return list(await asyncio.gather(*[client.request(method, path, headers=headers,
                                                          **kwargs) for _ in range(n)]))


def assert_rate_limited(response: httpx2.Response, limit: str, allowed: int) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (429, "rate_limited")
    assert error["details"]["limit"] == limit
    retry = int(response.headers["Retry-After"])
    assert retry >= 1 and error["details"]["retry_after"] == retry
    assert response.headers["RateLimit-Limit"] == str(allowed)
    assert response.headers["RateLimit-Remaining"] == "0"
    assert response.headers["RateLimit-Reset"] == str(retry)
    assert response.headers["x-request-id"]


def test_concurrent_creates_with_a_publishable_key_are_limited(live: Live) -> None:
    """The issue's finding: 500 concurrent creates with a publishable key all succeeded."""
    project = live.project(address_rate=1, address_burst=20)
    started = time.monotonic()
    answers = asyncio.run(flood(live, "POST", project["docs"], project["pk"], 100,
                                json={"title": "spam"}))
    elapsed = time.monotonic() - started
    statuses = [a.status_code for a in answers]
    created = statuses.count(201)
    assert 20 <= created <= 20 + elapsed + 1, statuses  # the burst, plus 1/s of refill
    assert created + statuses.count(429) == 100
    assert_rate_limited(next(a for a in answers if a.status_code == 429), "address_rate", 20)
    listed = live.call("GET", project["docs"], project["sk"], params={"count": "true"})
    assert listed.json()["total"] == created  # a refused request wrote nothing

    # The secret key is not limited per address, nor is an admin token at all.
    assert live.call("GET", project["docs"], project["sk"]).status_code == 200
    assert live.call("GET", project["docs"], live.admin).status_code == 200
    # The publishable key stays refused from this address.
    assert live.call("GET", project["docs"], project["pk"]).status_code == 429


def test_a_key_rate_limits_all_its_callers_together(live: Live) -> None:
    project = live.project()
    changed = live.call("PATCH", f"/v1/admin/projects/{project['id']}/keys/"
                        f"{project['sk_id']}/limits", live.admin,
                        json={"key_rate": 0.01, "key_burst": 5})
    assert changed.status_code == 200, changed.text
    for _ in range(5):
        assert live.call("GET", project["docs"], project["sk"]).status_code == 200
    refused = live.call("GET", project["docs"], project["sk"])
    assert_rate_limited(refused, "key_rate", 5)
    assert int(refused.headers["Retry-After"]) == pytest.approx(100, abs=2)  # 1 / 0.01 s
    # The publishable key of the same project has its own bucket.
    assert live.call("GET", project["docs"], project["pk"]).status_code == 200


def test_a_batch_spends_one_per_operation(live: Live) -> None:
    project = live.project(key_rate=0.01, key_burst=10)
    batch = project["docs"] + ":batch"

    def operations(n: int) -> dict[str, Any]:
        return {"operations": [{"op": "create", "data": {"n": i}} for i in range(n)]}

    assert live.call("POST", batch, project["sk"], json=operations(8)).status_code == 200
    refused = live.call("POST", batch, project["sk"], json=operations(3))
    assert_rate_limited(refused, "key_rate", 10)
    assert live.call("POST", batch, project["sk"], json=operations(1)).status_code == 200
    assert live.call("GET", project["docs"], project["sk"]).status_code == 200
    assert live.call("GET", project["docs"], project["sk"]).status_code == 429
    listed = live.call("GET", project["docs"], live.admin, params={"count": "true"})
    assert listed.json()["total"] == 9


def test_daily_quota_per_key_and_todays_usage(live: Live) -> None:
    project = live.project()
    key_limits = f"/v1/admin/projects/{project['id']}/keys/{project['pk_id']}/limits"
    assert live.call("PATCH", key_limits, live.admin,
                     json={"daily_quota": 4}).status_code == 200
    for _ in range(4):
        assert live.call("GET", project["docs"], project["pk"]).status_code == 200
    refused = live.call("GET", project["docs"], project["pk"])
    assert_rate_limited(refused, "daily_quota", 4)
    assert int(refused.headers["Retry-After"]) == pytest.approx(
        seconds_to_next_day(time.time()), abs=5)
    assert live.call("GET", project["docs"], project["sk"]).status_code == 200  # its own
    time.sleep(1.2)  # the counts are shared every 0.5 s
    shown = live.call("GET", key_limits, live.admin).json()
    assert shown["usage"]["requests"] == 4  # the refused request was not counted
    assert shown["limits"]["daily_quota"] == 4 and shown["overrides"] == {"daily_quota": 4}


def test_refused_credentials_count_against_the_address(live: Live) -> None:
    """Guessing keys from one address meets a 429 once its burst is spent."""
    project = live.project(address_burst=5, address_rate=0.01)
    wrong = {"apikey": "pk_" + "x" * 40}
    statuses = [live.call("GET", project["docs"], wrong).status_code for _ in range(7)]
    assert statuses == [401] * 5 + [429] * 2


def test_limits_admin_routes(live: Live) -> None:
    project = live.project()
    path = f"/v1/admin/projects/{project['id']}/limits"
    shown = live.call("GET", path, live.admin)
    assert shown.status_code == 200, shown.text
    assert shown.json() == {"project": project["id"], "overrides": {}, "limits": {
        "key_rate": 1000.0, "key_burst": 5000, "address_rate": 100.0, "address_burst": 1000,
        "daily_quota": 10_000_000}}
    set_ = live.call("PATCH", path, live.admin, json={"key_rate": 50, "daily_quota": 0})
    assert set_.json()["limits"]["key_rate"] == 50 and set_.json()["limits"]["daily_quota"] == 0
    key_path = f"/v1/admin/projects/{project['id']}/keys/{project['pk_id']}/limits"
    key = live.call("PATCH", key_path, live.admin, json={"key_burst": 7}).json()
    assert key["limits"]["key_rate"] == 50 and key["limits"]["key_burst"] == 7  # layered
    assert key["overrides"] == {"key_burst": 7}
    reset = live.call("PATCH", path, live.admin, json={"key_rate": None}).json()
    assert reset["overrides"] == {"daily_quota": 0} and reset["limits"]["key_rate"] == 1000

    for body, status in (({"key_burst": 0}, 422), ({"nope": 1}, 422), ({}, 400),
                         ({"key_rate": "fast"}, 422)):
        answer = live.call("PATCH", path, live.admin, json=body)
        assert answer.status_code == status, (body, answer.text)
    missing = live.call("GET", f"/v1/admin/projects/{project['id']}/keys/key_nope/limits",
                        live.admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "key_not_found"
    assert live.call("GET", "/v1/admin/projects/nope/limits", live.admin).status_code == 404
    assert live.call("GET", path, project["sk"]).status_code == 403  # admins only

    # Deleting the project forgets its limits: one made again under its id has defaults.
    assert live.call("DELETE", f"/v1/admin/projects/{project['id']}",
                     live.admin).status_code == 204
    assert live.call("POST", "/v1/admin/projects", live.admin,
                     json={"id": project["id"]}).status_code == 201
    assert live.call("GET", path, live.admin).json()["overrides"] == {}


def test_the_openapi_document_shows_the_limits_routes(live: Live) -> None:
    spec = live.call("GET", "/openapi.json").json()
    assert {"get", "patch"} <= set(spec["paths"]["/v1/admin/projects/{project}/limits"])
    assert {"get", "patch"} <= set(
        spec["paths"]["/v1/admin/projects/{project}/keys/{key_id}/limits"])
