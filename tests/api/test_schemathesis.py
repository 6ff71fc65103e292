"""A bounded schemathesis run: every operation of the OpenAPI document, a few generated
requests each (valid and invalid, seeded so runs repeat), against ``baas serve`` over real
sockets on both engines, with every check schemathesis has. A 5xx, a status the document
does not list, a body or header that does not match it, schema-valid data refused or
schema-invalid data accepted fails the test for that operation.

Requests carry real credentials (the admin token, the project's keys, a fresh guest
session), and the path names real things (the project, a collection, a fresh document,
user or key), so generated bodies reach the handlers instead of stopping at 401 or 404.
Deleting operations get things of their own, so the run does not eat its fixtures."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation

from baas.api.docs import build_openapi
from baas.app import REGISTRIES
from baas.core.callers import Guard
from tests.conftest import ENGINES
from tests.e2e.test_todo_e2e import ADMIN_EMAIL, ADMIN_PASSWORD, App, running_app

SPEC = build_openapi([e for registry in REGISTRIES for e in registry.endpoints])
EXAMPLES = 3


def _refers(node: Any, names: set[str]) -> bool:
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.rsplit("/", 1)[-1] in names:
            return True
        return any(_refers(value, names) for value in node.values())
    return isinstance(node, list) and any(_refers(item, names) for item in node)


def _free_form() -> set[str]:
    """Operations whose body holds free-form JSON (a JsonValue, however deep)."""
    components = SPEC["components"]["schemas"]
    names = {"JsonValue", "JsonObject"}
    while True:
        more = {name for name, sub in components.items() if _refers(sub, names)} - names
        if not more:
            break
        names |= more
    return {op["operationId"] for ops in SPEC["paths"].values() for op in ops.values()
            if _refers(op.get("requestBody", {}), names)}


FREE_FORM = _free_form()
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis' own
# Statuses that refuse a schema-valid body for what JSON Schema cannot say, per operation:
# the rule language and collection schemas, emailed tokens only the server issues, fields
# that go together depending on the account (PATCH auth/me: a guest sets email and password
# at once, a full account confirms with current_password), mail settings that must work (a
# template with $link, an SMTP host).
BEYOND_JSON_SCHEMA = {
    "400": ["create_collection", "update_collection", "check_rule", "verify_confirm",
            "reset_password", "update_me"],
    "422": ["put_mail_settings"],
}
# Inputs no schema makes valid at random (the filter language, cursors the server issued,
# reference fields to expand, a time that must be in the future): valid requests are sent
# without them, so the rest of the request is still held to the schema; invalid ones keep them.
UNGUESSABLE_QUERY = ("filter", "sort", "fields", "cursor", "expand")
UNGUESSABLE_BODY = ("expires_at",)
CONFIG = schemathesis.Config.from_dict({
    "seed": 20261204,
    # no-shrink: a failing run stays as short as a passing one; credentials are the
    # test's (real ones), not generated.
    "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none",
                   "no-shrink": True, "with-security-parameters": False},
    "phases": {"stateful": {"enabled": False}},
    "checks": {
        # 412: the document moved on (If-Match), a state like 409, not a shape.
        "positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "412"]},
        # 413, 431: a body or headers too large are refused as such before they are read.
        "negative_data_rejection": {"expected-statuses": [
            "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429",
            "431", "5xx"]},
    },
    "operations": [
        {"include-operation-id": operations, "checks": {"positive_data_acceptance": {
            "expected-statuses": [*ACCEPTED, "412", status]}}}
        for status, operations in BEYOND_JSON_SCHEMA.items()
    ] + [
        # The coverage phase (each constraint's boundaries, deterministically) spends
        # minutes on bodies of free-form JSON; those operations get generated cases only.
        {"include-operation-id": sorted(FREE_FORM), "phases": {"coverage": {"enabled": False}}},
        # It may set a burst of 1 for the project; the probes ignored_auth then sends
        # without credentials are rightly 429 (refused requests count against the limit).
        {"include-operation-id": ["set_project_limits"],
         "checks": {"ignored_auth": {"enabled": False}}},
    ],
})
schema = schemathesis.openapi.from_dict(copy.deepcopy(SPEC), config=CONFIG)
INT64 = 2**63


def _ambiguous(value: Any) -> bool:
    """A float with no fraction beyond 64 bits, such as 1e300: JSON does not say whether it
    is an integer (the document says integers fit in 64 bits) or a float (which the server
    takes), so such a body proves nothing either way."""
    if isinstance(value, float):
        return value.is_integer() and abs(value) >= INT64
    if isinstance(value, dict):
        return any(_ambiguous(item) for item in value.values())
    return isinstance(value, list) and any(_ambiguous(item) for item in value)


@schema.hook("filter_body")
def _unambiguous(context: schemathesis.HookContext, body: Any) -> bool:
    return not _ambiguous(body)
COLLECTION = "notes"
# Operations that would change the shared project for every later request (a rate limit
# of 1, a made-up SMTP server) work on a project of their own; deleting one, on a fresh one.
ON_THE_SIDE = {("PATCH", "/v1/admin/projects/{project}/limits"),
               ("PUT", "/v1/admin/projects/{project}/mail")}
OPEN = {op: "" for op in ("list", "get", "create", "update", "delete")}


@dataclass
class World:
    app: App
    http: httpx2.Client
    spare_key: str | None = None
    side_projects: dict[str, str] = field(default_factory=dict)  # one per operation

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.app.admin_token}"}

    def secret(self) -> dict[str, str]:
        return {"apikey": self.app.sk}

    def made(self, method: str, path: str, headers: dict[str, str],
             body: Any = None) -> dict[str, Any]:
        answer = self.http.request(method, path, json=body, headers=headers)
        assert answer.status_code in (200, 201), answer.text
        return dict(answer.json())

    def new_project(self) -> str:
        return str(self.made("POST", "/v1/admin/projects", self.admin(),
                             {"id": "p" + uuid.uuid4().hex[:10]})["project"]["id"])

    def guest(self) -> dict[str, str]:
        """A fresh guest session: user operations may end or delete it."""
        session = self.made("POST", f"/v1/projects/{self.app.project}/auth/anonymous",
                            {"apikey": self.app.pk})["session"]
        return {"apikey": self.app.pk, "Authorization": f"Bearer {session['access_token']}"}

    def member(self) -> dict[str, str]:
        """A fresh user with an email and a password."""
        session = self.made("POST", f"/v1/projects/{self.app.project}/auth/signup",
                            {"apikey": self.app.pk},
                            {"email": f"m{uuid.uuid4().hex[:10]}@example.com",
                             "password": "correct horse battery"})["session"]
        return {"apikey": self.app.pk, "Authorization": f"Bearer {session['access_token']}"}

    def credentials(self, case: schemathesis.Case) -> dict[str, str]:
        guard = case.operation.definition.raw.get("x-baas-guard")
        if case.path == "/v1/admin/logout":  # it revokes the token: one of its own
            token = self.made("POST", "/v1/admin/login", {},
                              {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})["token"]
            return {"Authorization": f"Bearer {token}"}
        if guard == Guard.admin.value:
            return self.admin()
        if case.path.endswith("/auth/verify/request"):  # a guest has no email to verify
            return self.member()
        if guard == Guard.user.value:
            return self.guest()
        if guard == Guard.key.value:
            return {"apikey": self.app.pk}
        if guard in (Guard.manager.value, Guard.access.value):
            return self.secret()
        return {}

    def aim(self, case: schemathesis.Case) -> None:
        """Point the path at real things (unless the path is the invalid part)."""
        meta = case.meta
        if meta is not None and not meta.is_negative_at(ParameterLocation.QUERY):
            for name in UNGUESSABLE_QUERY:
                (case.query or {}).pop(name, None)
        if meta is not None and not meta.is_negative_at(ParameterLocation.BODY) \
                and isinstance(case.body, dict):
            for name in UNGUESSABLE_BODY:
                case.body.pop(name, None)
        if meta is not None and meta.is_negative_at(ParameterLocation.PATH):
            return
        project = self.app.project
        params = case.path_parameters or {}
        deleting = case.method == "DELETE"
        if "project" in params:
            params["project"] = project
            if deleting and case.path == "/v1/admin/projects/{project}":
                params["project"] = self.new_project()
            elif (case.method, case.path) in ON_THE_SIDE:
                side = self.side_projects.get(case.path) or self.new_project()
                params["project"] = self.side_projects[case.path] = side
        if "name" in params:
            params["name"] = COLLECTION
            if deleting and case.path.endswith("/collections/{name}"):
                params["name"] = self.made(
                    "POST", f"/v1/projects/{project}/collections", self.secret(),
                    {"name": "c" + uuid.uuid4().hex[:10]})["name"]
        if "id" in params:
            params["id"] = self.made(
                "POST", f"/v1/projects/{project}/collections/{COLLECTION}/documents",
                self.secret(), {"title": "a note"})["id"]
        if "user_id" in params:
            params["user_id"] = self.made(
                "POST", f"/v1/projects/{project}/users", self.secret(),
                {"email": f"u{uuid.uuid4().hex[:10]}@example.com"})["id"]
        if "key_id" in params:  # a project has at most 100 keys: a fresh one to revoke only
            if deleting or self.spare_key is None:
                params["key_id"] = self.made("POST", f"/v1/admin/projects/{project}/keys",
                                             self.admin(), {"kind": "publishable"})["id"]
                self.spare_key = self.spare_key or params["key_id"]
            else:
                params["key_id"] = self.spare_key
        case.path_parameters = params


@pytest.fixture(scope="module", params=ENGINES)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp(f"schemathesis-{request.param}")
    with running_app(request, tmp, str(request.param), project="fuzz") as app, \
            httpx2.Client(base_url=app.server.url, timeout=30) as http:
        served = http.get("/openapi.json").json()
        assert served == SPEC, "the run must test the document the server serves"
        world = World(app, http)
        world.made("POST", f"/v1/projects/{app.project}/collections", world.secret(),
                   {"name": COLLECTION, "rules": OPEN})
        yield world


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_server_keeps_to_its_openapi_document(case: schemathesis.Case, world: World
                                                  ) -> None:
    world.aim(case)
    case.call_and_validate(base_url=world.app.server.url, headers=world.credentials(case),
                           timeout=30)
