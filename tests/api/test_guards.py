"""Who gets in, route by route, on both engines: every route the registry knows declares a
guard (``ROUTES``), and every guard lets in or refuses each kind of credentials as
``OUTCOMES`` says. A new route without a row in ``ROUTES`` fails the first test.

Requests carry a body that no route accepts (a JSON array) and name things that do not
exist (collection, document, user, session, key), so a caller who gets in meets a 4xx of
the handler, never a credential error, and changes nothing the next requests need.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import httpx2
import jwt
import pytest
from starlette.requests import Request
from starlette.responses import Response

from baas.app import REGISTRIES
from baas.core.callers import Guard
from baas.core.platform import Platform
from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.api.test_admin_api import error_of
from tests.api.test_auth_attacks import claims_for, real_key

P = "/v1/projects/{project}"
DOCS = P + "/collections/{name}/documents"
AUTH = P + "/auth"
ADMIN = "/v1/admin/projects/{project}"

ROUTES: dict[str, Guard] = {
    "GET /health": Guard.none,
    "GET /ready": Guard.none,
    "GET /metrics": Guard.none,
    "GET /openapi.json": Guard.none,
    "GET /docs": Guard.none,
    "POST /v1/admin/login": Guard.none,
    "POST /v1/admin/logout": Guard.admin,
    "GET /v1/admin/projects": Guard.admin,
    "POST /v1/admin/projects": Guard.admin,
    f"GET {ADMIN}": Guard.admin,
    f"PATCH {ADMIN}": Guard.admin,
    f"DELETE {ADMIN}": Guard.admin,
    f"GET {ADMIN}/keys": Guard.admin,
    f"POST {ADMIN}/keys": Guard.admin,
    f"DELETE {ADMIN}/keys/{{key_id}}": Guard.admin,
    f"GET {ADMIN}/signing-keys": Guard.admin,
    f"POST {ADMIN}/signing-keys:rotate": Guard.admin,
    f"GET {ADMIN}/limits": Guard.admin,
    f"PATCH {ADMIN}/limits": Guard.admin,
    f"GET {ADMIN}/keys/{{key_id}}/limits": Guard.admin,
    f"PATCH {ADMIN}/keys/{{key_id}}/limits": Guard.admin,
    f"GET {ADMIN}/mail": Guard.admin,
    f"PUT {ADMIN}/mail": Guard.admin,
    f"GET {P}": Guard.key,
    f"GET {P}/.well-known/jwks.json": Guard.none,
    f"POST {AUTH}/signup": Guard.key,
    f"POST {AUTH}/login": Guard.key,
    f"POST {AUTH}/anonymous": Guard.key,
    f"POST {AUTH}/refresh": Guard.key,
    f"POST {AUTH}/password/forgot": Guard.key,
    f"POST {AUTH}/logout": Guard.user,
    f"GET {AUTH}/me": Guard.user,
    f"PATCH {AUTH}/me": Guard.user,
    f"DELETE {AUTH}/me": Guard.user,
    f"GET {AUTH}/sessions": Guard.user,
    f"DELETE {AUTH}/sessions/{{session_id}}": Guard.user,
    f"POST {AUTH}/verify/request": Guard.user,
    f"GET {AUTH}/verify/confirm": Guard.none,
    f"POST {AUTH}/verify/confirm": Guard.none,
    f"GET {AUTH}/password/reset": Guard.none,
    f"POST {AUTH}/password/reset": Guard.none,
    f"GET {P}/users": Guard.manager,
    f"POST {P}/users": Guard.manager,
    f"GET {P}/users/{{user_id}}": Guard.manager,
    f"PATCH {P}/users/{{user_id}}": Guard.manager,
    f"DELETE {P}/users/{{user_id}}": Guard.manager,
    f"GET {P}/collections": Guard.manager,
    f"POST {P}/collections": Guard.manager,
    f"GET {P}/collections/{{name}}": Guard.manager,
    f"PATCH {P}/collections/{{name}}": Guard.manager,
    f"DELETE {P}/collections/{{name}}": Guard.manager,
    f"POST {P}/rules:check": Guard.manager,
    f"GET {DOCS}": Guard.access,
    f"POST {DOCS}": Guard.access,
    f"POST {DOCS}:batch": Guard.access,
    f"GET {DOCS}/{{id}}": Guard.access,
    f"PATCH {DOCS}/{{id}}": Guard.access,
    f"PUT {DOCS}/{{id}}": Guard.access,
    f"DELETE {DOCS}/{{id}}": Guard.access,
}

IN = None  # the caller gets past the guard
MISSING_KEY = (401, "missing_api_key")
MISSING_CREDENTIALS = (401, "missing_credentials")
INVALID_KEY = (401, "invalid_key")
INVALID_TOKEN = (401, "invalid_token")
EXPIRED = (401, "token_expired")
MALFORMED = (401, "invalid_authorization")
ADMIN_ONLY = (403, "admin_token_required")
SECRET_ONLY = (403, "secret_key_required")
CREDENTIALS = ["admin", "secret", "publishable", "user", "expired", "foreign_token",
               "foreign_key", "wrong_key", "none", "malformed"]

# guard -> what each kind of credentials gets (IN, or the refusal's status and code).
OUTCOMES: dict[Guard, dict[str, tuple[int, str] | None]] = {
    Guard.none: dict.fromkeys(CREDENTIALS, IN),
    Guard.admin: {
        "admin": IN, "secret": ADMIN_ONLY, "publishable": ADMIN_ONLY,
        "user": INVALID_TOKEN, "expired": INVALID_TOKEN, "foreign_token": INVALID_TOKEN,
        "foreign_key": ADMIN_ONLY, "wrong_key": ADMIN_ONLY, "none": MISSING_CREDENTIALS,
        "malformed": MALFORMED,
    },
    # The key alone counts: a user token beside it is not looked at.
    Guard.key: {
        "admin": MISSING_KEY, "secret": IN, "publishable": IN, "user": IN, "expired": IN,
        "foreign_token": IN, "foreign_key": INVALID_KEY, "wrong_key": INVALID_KEY,
        "none": MISSING_KEY, "malformed": MALFORMED,
    },
    Guard.user: {
        "admin": MISSING_KEY, "secret": MISSING_CREDENTIALS,
        "publishable": MISSING_CREDENTIALS, "user": IN, "expired": EXPIRED,
        "foreign_token": INVALID_TOKEN, "foreign_key": INVALID_KEY, "wrong_key": INVALID_KEY,
        # Without an apikey that is the first problem reported, whatever Authorization says.
        "none": MISSING_KEY, "malformed": MISSING_KEY,
    },
    Guard.manager: {
        "admin": IN, "secret": IN, "publishable": SECRET_ONLY, "user": SECRET_ONLY,
        "expired": SECRET_ONLY, "foreign_token": SECRET_ONLY, "foreign_key": INVALID_KEY,
        "wrong_key": INVALID_KEY, "none": MISSING_KEY, "malformed": MALFORMED,
    },
    Guard.access: {
        "admin": IN, "secret": IN, "publishable": IN, "user": IN, "expired": EXPIRED,
        "foreign_token": INVALID_TOKEN, "foreign_key": INVALID_KEY, "wrong_key": INVALID_KEY,
        "none": MISSING_KEY, "malformed": MALFORMED,
    },
}
CREDENTIAL_CODES = {code for table in OUTCOMES.values() for o in table.values() if o
                    for code in [o[1]]} | {"key_revoked", "key_expired"}
# Path values that name nothing, so a caller who gets in changes nothing; the project is
# "demo" except where even the admin must not touch it.
PATH_VALUES = {"project": "demo", "name": "ghost", "id": "doc_missing",
               "user_id": "usr_missing", "session_id": "ses_missing", "key_id": "key_missing"}
OTHER_PROJECT = {f"DELETE {ADMIN}": "ghost"}
# Routes that spend the credentials that get in (a revoked admin token, a deleted user):
# those are made afresh for them.
SPENDS = {"POST /v1/admin/logout": "admin", f"DELETE {AUTH}/me": "user"}


def declared() -> dict[str, tuple[Guard, str]]:
    return {f"{e.method} {e.path}": (e.guard, e.tag)
            for registry in REGISTRIES for e in registry.endpoints}


def test_every_route_declares_the_guard_the_table_expects() -> None:
    routes = declared()
    assert set(routes) - set(ROUTES) == set(), "new routes need a row in ROUTES"
    assert set(ROUTES) - set(routes) == set(), "rows for routes that no longer exist"
    wrong = {name: guard for name, (guard, _) in routes.items() if guard is not ROUTES[name]}
    assert wrong == {}


def test_the_openapi_document_states_each_routes_guard() -> None:
    from baas.api.docs import build_openapi

    spec = build_openapi([e for registry in REGISTRIES for e in registry.endpoints])
    for name, guard in ROUTES.items():
        method, path = name.split(" ", 1)
        op = spec["paths"][path][method.lower()]
        if guard is Guard.none:
            assert "security" not in op and "x-baas-guard" not in op, name
        else:
            assert op["x-baas-guard"] == guard.value and op["security"], name
            assert {"401", "403"} <= set(op["responses"]), name
    documents = spec["paths"][DOCS]["get"]["security"]
    assert {"apiKey": [], "userToken": []} in documents and {"adminToken": []} in documents


def test_a_project_guard_on_a_path_without_a_project_is_refused_at_declaration() -> None:
    from baas.api.routing import Registry

    route = Registry("test")
    with pytest.raises(ValueError, match="needs a {project}"):
        route("GET", "/v1/nothing", "no project to check a key against", guard=Guard.key)

    @route("GET", "/v1/admin/everything", "admin routes name no project", guard=Guard.admin)
    async def everything(request: Request) -> Response:
        return Response()

    assert [(e.path, e.guard) for e in route.endpoints] == [("/v1/admin/everything",
                                                             Guard.admin)]


@dataclass
class World:
    client: httpx2.AsyncClient
    headers: dict[str, dict[str, str]]

    async def fresh(self, kind: str) -> dict[str, str]:
        if kind == "admin":
            response = await self.client.post("/v1/admin/login", json={
                "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            return bearer(response.json()["token"])
        pk = self.headers["publishable"]
        response = await self.client.post("/v1/projects/demo/auth/anonymous", headers=pk)
        assert response.status_code == 201, response.text
        return {**pk, **bearer(response.json()["session"]["access_token"])}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def world(client: httpx2.AsyncClient, admin: dict[str, str], keys: dict[str, str],
                platform: Platform) -> World:
    pk, sk = {"apikey": keys["publishable"]}, {"apikey": keys["secret"]}
    other = await client.post("/v1/admin/projects", json={"id": "other"}, headers=admin)
    assert other.status_code == 201, other.text
    other_pk = {"apikey": next(k["secret"] for k in other.json()["keys"]
                               if k["kind"] == "publishable")}
    mine = await client.post("/v1/projects/demo/auth/anonymous", headers=pk)
    theirs = await client.post("/v1/projects/other/auth/anonymous", headers=other_pk)
    assert mine.status_code == theirs.status_code == 201, (mine.text, theirs.text)
    # Signed with the project's own current key, but expired.
    kid, private = await real_key(platform)
    now = int(time.time())
    expired = jwt.encode(claims_for(mine.json(), iat=now - 2000, exp=now - 1000), private,
                         algorithm="ES256", headers={"kid": kid})
    headers = {
        "admin": admin, "secret": sk, "publishable": pk,
        "user": {**pk, **bearer(mine.json()["session"]["access_token"])},
        "expired": {**pk, **bearer(expired)},
        "foreign_token": {**pk, **bearer(theirs.json()["session"]["access_token"])},
        "foreign_key": other_pk,
        "wrong_key": {"apikey": "pk_" + "x" * 43},
        "none": {},
        "malformed": {"Authorization": "Basic dXNlcjpwYXNz"},
    }
    assert set(headers) == set(CREDENTIALS)
    return World(client, headers)


def url(name: str) -> tuple[str, str]:
    method, path = name.split(" ", 1)
    values = {**PATH_VALUES, "project": OTHER_PROJECT.get(name, "demo")}
    return method, re.sub(r"{(\w+)(?::\w+)?}", lambda m: values[m.group(1)], path)


async def attempt(world: World, name: str, credentials: str) -> httpx2.Response:
    method, target = url(name)
    headers = dict(world.headers[credentials])
    if SPENDS.get(name) == credentials:
        headers = await world.fresh(credentials)
    body: dict[str, Any] = {}
    if method in ("POST", "PUT", "PATCH"):
        body = {"content": b"[]", "headers": {**headers, "Content-Type": "application/json"}}
    else:
        body = {"headers": headers}
    return await world.client.request(method, target, **body)


@pytest.mark.parametrize("family", sorted({tag for _, tag in declared().values()}))
async def test_who_gets_in(world: World, family: str) -> None:
    rows = [name for name, (_, tag) in declared().items() if tag == family]
    assert rows
    for name in rows:
        for credentials, expected in OUTCOMES[ROUTES[name]].items():
            response = await attempt(world, name, credentials)
            where = f"{name} with {credentials}: {response.text[:300]}"
            if expected is IN:
                assert response.status_code < 500, where
                if response.status_code >= 400:
                    code = response.json()["error"]["code"]
                    assert code not in CREDENTIAL_CODES, where
            else:
                assert (response.status_code, response.json()["error"]["code"]) == expected, where
                error_of(response, *expected)
