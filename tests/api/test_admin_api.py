"""Admin and project routes through the full ASGI stack, on both engines."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from baas.core.platform import Platform
from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD


def error_of(response: httpx2.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"status", "code", "message", "details"}
    assert err["status"] == status and err["code"] == code, err
    assert err["message"] and isinstance(err["details"], dict)
    assert response.headers["x-request-id"]
    return err


async def test_health_ready_metrics_openapi_docs(client: httpx2.AsyncClient,
                                                 platform: Platform) -> None:
    response = await client.get("/health")
    assert response.json() == {"status": "ok"} and response.headers["x-request-id"]
    response = await client.get("/ready")
    assert response.json() == {"status": "ready", "engine": platform.engine.kind}
    metrics = await client.get("/metrics")
    assert "baas_http_requests_total" in metrics.text
    assert 'route="health"' in metrics.text
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    login = spec["paths"]["/v1/admin/login"]["post"]
    schema_ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_ref.endswith("/AdminLogin")
    assert set(spec["components"]["schemas"]["AdminLogin"]["required"]) == {"email", "password"}
    assert "/v1/admin/projects/{project}/keys/{key_id}" in spec["paths"]
    page = await client.get("/docs")
    assert page.status_code == 200 and "/v1/admin/projects" in page.text


async def test_request_id_is_kept_when_sane(client: httpx2.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-Id": "abc12345-trace"})
    assert response.headers["x-request-id"] == "abc12345-trace"
    response = await client.get("/health", headers={"X-Request-Id": "bad id\twith junk"})
    assert response.headers["x-request-id"] != "bad id\twith junk"


async def test_generic_errors(client: httpx2.AsyncClient, admin: dict) -> None:
    error_of(await client.get("/v1/nothing-here"), 404, "route_not_found")
    error_of(await client.put("/health"), 405, "method_not_allowed")
    error_of(await client.post("/v1/admin/login", content=b"{not json",
                               headers={"content-type": "application/json"}),
             400, "invalid_json")
    error_of(await client.post("/v1/admin/login", content=b"email=a",
                               headers={"content-type": "application/x-www-form-urlencoded"}),
             415, "unsupported_media_type")
    big = b'{"id": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    err = error_of(await client.post("/v1/admin/projects", content=big, headers={
        **admin, "content-type": "application/json"}), 413, "payload_too_large")
    assert err["details"]["max_bytes"] == 1_048_576

    async def chunks():
        for _ in range(40):
            yield b" " * 65536

    # A streamed body without Content-Length is cut off too.
    error_of(await client.post("/v1/admin/projects", content=chunks(), headers={
        **admin, "content-type": "application/json"}), 413, "payload_too_large")
    err = error_of(await client.post("/v1/admin/projects", json={"id": 5}, headers=admin),
                   422, "validation_failed")
    assert err["details"]["errors"][0]["field"] == "id"
    error_of(await client.post("/v1/admin/projects", json={"id": "ok-id", "extra": 1},
                               headers=admin), 422, "validation_failed")
    error_of(await client.post("/v1/admin/projects", json=["a"], headers=admin),
             422, "validation_failed")
    assert (await client.get("/v1/admin/projects", headers=admin)).json()["items"] == []


async def test_server_fault_is_500_without_internals(client: httpx2.AsyncClient, admin: dict,
                                                     platform: Platform, monkeypatch) -> None:
    async def broken(limit, cursor):
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(platform.projects, "list", broken)
    response = await client.get("/v1/admin/projects", headers=admin)
    err = error_of(response, 500, "internal_error")
    assert "secret" not in response.text and "passwd" not in response.text
    assert err["details"]["request_id"] == response.headers["x-request-id"]


async def test_admin_login(client: httpx2.AsyncClient, platform: Platform) -> None:
    await platform.admins.create(ADMIN_EMAIL, ADMIN_PASSWORD)
    ok = await client.post("/v1/admin/login",
                           json={"email": "  ROOT@example.com ", "password": ADMIN_PASSWORD})
    assert ok.status_code == 200
    body = ok.json()
    assert body["token"].startswith("adm_") and body["admin"]["email"] == ADMIN_EMAIL
    assert "password_hash" not in ok.text
    wrong = await client.post("/v1/admin/login",
                              json={"email": ADMIN_EMAIL, "password": "wrong password"})
    unknown = await client.post("/v1/admin/login",
                                json={"email": "nobody@example.com", "password": "wrong password"})
    assert error_of(wrong, 401, "invalid_credentials") == error_of(unknown, 401,
                                                                   "invalid_credentials")
    error_of(await client.post("/v1/admin/login",
                               json={"email": ADMIN_EMAIL, "password": {"$ne": None}}),
             422, "validation_failed")
    error_of(await client.post("/v1/admin/login", json={"email": ADMIN_EMAIL}),
             422, "validation_failed")


async def test_admin_token_expiry_and_garbage(client: httpx2.AsyncClient, platform: Platform,
                                              admin_token: str) -> None:
    for header in ({}, {"Authorization": "Bearer adm_forged"}, {"Authorization": "Basic abc"}):
        response = await client.get("/v1/admin/projects", headers=header)
        assert response.status_code == 401, response.text
    record = (await platform.admins.tokens.find()).items[0]
    await platform.admins.tokens.update(record["id"], {"expires_at": "2000-01-01T00:00:00.000000Z"})
    error_of(await client.get("/v1/admin/projects",
                              headers={"Authorization": f"Bearer {admin_token}"}),
             401, "token_expired")


async def test_project_lifecycle(client: httpx2.AsyncClient, admin: dict, project: dict,
                                 platform: Platform) -> None:
    assert project["project"]["id"] == "demo" and project["project"]["name"] == "Demo"
    kinds = {key["kind"]: key for key in project["keys"]}
    assert kinds["publishable"]["secret"].startswith("pk_")
    assert kinds["secret"]["secret"].startswith("sk_")
    # Secrets are stored hashed, never in clear.
    stored = (await platform.keys.records.find()).items
    assert all(kinds[r["kind"]]["secret"] not in str(r) for r in stored)
    error_of(await client.post("/v1/admin/projects", json={"id": "demo"}, headers=admin),
             409, "project_exists")
    for bad in ("A", "ab", "Bad_Id", "-abc", "abc-", "x" * 41, "../etc"):
        response = await client.post("/v1/admin/projects", json={"id": bad}, headers=admin)
        assert response.status_code in (400, 422), bad
    listed = (await client.get("/v1/admin/projects", headers=admin)).json()
    assert [p["id"] for p in listed["items"]] == ["demo"] and listed["next_cursor"] is None
    renamed = await client.patch("/v1/admin/projects/demo", json={"name": "Renamed"},
                                 headers=admin)
    assert renamed.json()["name"] == "Renamed"
    assert (await client.get("/v1/admin/projects/demo", headers=admin)).json()["name"] == "Renamed"
    error_of(await client.get("/v1/admin/projects/nope", headers=admin), 404, "project_not_found")
    # Project data lives in its own database and goes away with the project.
    await platform.projects.database("demo").collection("things").insert({"id": "t1"})
    assert (await client.delete("/v1/admin/projects/demo", headers=admin)).status_code == 204
    error_of(await client.get("/v1/admin/projects/demo", headers=admin), 404, "project_not_found")
    assert await platform.projects.database("demo").collection("things").get("t1") is None
    assert await platform.keys.records.count() == 0
    pk = kinds["publishable"]["secret"]
    error_of(await client.get("/v1/projects/demo", headers={"apikey": pk}), 401, "invalid_key")


async def test_project_pagination(client: httpx2.AsyncClient, admin: dict) -> None:
    ids = [f"proj-{i:02d}" for i in range(7)]
    for pid in reversed(ids):
        assert (await client.post("/v1/admin/projects", json={"id": pid},
                                  headers=admin)).status_code == 201
    seen, cursor = [], None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/admin/projects", params=params, headers=admin)).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids
    for bad in ("0", "1001", "x", "-1"):
        error_of(await client.get("/v1/admin/projects", params={"limit": bad}, headers=admin),
                 400, "invalid_limit")
    error_of(await client.get("/v1/admin/projects", params={"cursor": "garbage!"}, headers=admin),
             400, "invalid_query")


async def test_keys_create_list_revoke_expire(client: httpx2.AsyncClient, admin: dict,
                                              project: dict, platform: Platform) -> None:
    base = "/v1/admin/projects/demo/keys"
    created = await client.post(base, json={"kind": "secret", "name": "ci"}, headers=admin)
    assert created.status_code == 201
    key = created.json()
    assert key["secret"].startswith("sk_") and key["prefix"] == key["secret"][:10]
    listed = (await client.get(base, headers=admin)).json()["items"]
    assert len(listed) == 3 and all("secret" not in k for k in listed)
    assert key["secret"] not in str(listed)
    info = await client.get("/v1/projects/demo", headers={"apikey": key["secret"]})
    assert info.json() == {"id": "demo", "name": "Demo", "caller": {"kind": "secret"}}
    info = await client.get("/v1/projects/demo",
                            headers={"Authorization": f"Bearer {key['secret']}"})
    assert info.status_code == 200
    revoked = await client.delete(f"{base}/{key['id']}", headers=admin)
    assert revoked.json()["revoked_at"]
    error_of(await client.get("/v1/projects/demo", headers={"apikey": key["secret"]}),
             401, "key_revoked")
    error_of(await client.delete(f"{base}/key_nope", headers=admin), 404, "key_not_found")
    # Expiring keys: in the past is refused; once expired, the key stops working.
    error_of(await client.post(base, json={"kind": "secret", "expires_at": "2001-01-01T00:00:00Z"},
                               headers=admin), 400, "invalid_expires_at")
    error_of(await client.post(base, json={"kind": "secret", "expires_at": "tomorrow"},
                               headers=admin), 400, "invalid_expires_at")
    error_of(await client.post(base, json={"kind": "admin"}, headers=admin),
             422, "validation_failed")
    soon = await client.post(base, json={"kind": "publishable",
                                         "expires_at": "2999-01-01T00:00:00+02:00"}, headers=admin)
    soon_key = soon.json()
    assert soon_key["expires_at"] == "2998-12-31T22:00:00.000000Z"
    assert (await client.get("/v1/projects/demo",
                             headers={"apikey": soon_key["secret"]})).status_code == 200
    await platform.keys.records.update(soon_key["id"],
                                       {"expires_at": "2000-01-01T00:00:00.000000Z"})
    platform.keys.forget()  # written to the store behind the service's back
    error_of(await client.get("/v1/projects/demo", headers={"apikey": soon_key["secret"]}),
             401, "key_expired")


CALLERS = ["none", "publishable", "secret", "garbage", "other-project"]


@pytest.mark.parametrize("caller", CALLERS)
async def test_route_access_by_caller(client: httpx2.AsyncClient, admin: dict, project: dict,
                                      caller: str) -> None:
    other = (await client.post("/v1/admin/projects", json={"id": "other"}, headers=admin)).json()
    keys = {k["kind"]: k["secret"] for k in project["keys"]}
    headers = {
        "none": {},
        "publishable": {"apikey": keys["publishable"]},
        "secret": {"Authorization": f"Bearer {keys['secret']}"},
        "garbage": {"apikey": "pk_" + "A" * 43},
        "other-project": {"apikey": other["keys"][1]["secret"]},
    }[caller]
    admin_route = await client.get("/v1/admin/projects", headers=headers)
    if caller in ("publishable", "secret", "garbage", "other-project"):
        error_of(admin_route, 403, "admin_token_required")
    else:
        error_of(admin_route, 401, "missing_credentials")
    project_route = await client.get("/v1/projects/demo", headers=headers)
    expected = {"none": (401, "missing_api_key"), "garbage": (401, "invalid_key"),
                "other-project": (401, "invalid_key")}
    if caller in expected:
        error_of(project_route, *expected[caller])
        # Without a valid key, a missing project answers exactly like an existing one.
        missing = await client.get("/v1/projects/no-such-project", headers=headers)
        assert missing.json()["error"]["code"] == project_route.json()["error"]["code"]
    else:
        assert project_route.json()["caller"]["kind"] == caller


async def test_concurrent_project_creation_is_single(client: httpx2.AsyncClient,
                                                     admin: dict) -> None:
    results = await asyncio.gather(*(
        client.post("/v1/admin/projects", json={"id": "race"}, headers=admin) for _ in range(8)
    ))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * 7
    keys = (await client.get("/v1/admin/projects/race/keys", headers=admin)).json()["items"]
    assert len(keys) == 2


async def test_cors(settings, platform: Platform) -> None:
    from baas.app import create_app

    app = create_app(settings.model_copy(update={"cors_origins": ["https://app.example"]}),
                     platform)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
            pre = await c.options("/v1/admin/projects", headers={
                "Origin": "https://app.example", "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization"})
            assert pre.headers["access-control-allow-origin"] == "https://app.example"
            bad = await c.get("/health", headers={"Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in bad.headers


async def test_admin_login_is_throttled(client: httpx2.AsyncClient, platform: Platform) -> None:
    await platform.admins.create(ADMIN_EMAIL, ADMIN_PASSWORD)
    for _ in range(10):
        response = await client.post("/v1/admin/login",
                                     json={"email": ADMIN_EMAIL, "password": "guess guess"})
        assert response.status_code == 401
    blocked = await client.post("/v1/admin/login",
                                json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    err = error_of(blocked, 429, "rate_limited")
    assert int(blocked.headers["retry-after"]) > 0 and err["details"]["retry_after"] > 0
    # Another account from the same address is not locked out by the first one.
    await platform.admins.create("second@example.com", ADMIN_PASSWORD)
    other = await client.post("/v1/admin/login",
                              json={"email": "second@example.com", "password": ADMIN_PASSWORD})
    assert other.status_code == 200


async def test_jwks_publishes_keys_that_verify_project_tokens(
        client: httpx2.AsyncClient, project: dict, platform: Platform) -> None:
    import jwt

    token = await platform.signing("demo").mint("demo", "user-1", "sess-1", "authenticated")
    response = await client.get("/v1/projects/demo/.well-known/jwks.json")
    assert response.status_code == 200 and "max-age" in response.headers["cache-control"]
    keyset = jwt.PyJWKSet.from_dict(response.json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keyset.keys if k.key_id == kid)
    claims = jwt.decode(token, key.key, algorithms=["ES256"], audience="demo")
    assert claims["sub"] == "user-1" and claims["iss"].endswith("/v1/projects/demo")
    assert "d" not in response.json()["keys"][0]  # the private scalar is never published
    error_of(await client.get("/v1/projects/nope/.well-known/jwks.json"), 404,
             "project_not_found")
    # Rotation keeps the old key published next to the new one.
    await platform.signing("demo").rotate()
    keys = (await client.get("/v1/projects/demo/.well-known/jwks.json")).json()["keys"]
    assert len(keys) == 2 and kid in {k["kid"] for k in keys}
