"""The SDK's admin side of collections (``client.admin.collections(project)``): the pure
request builders, then sync and async against a real ``baas serve`` on both engines."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx2
import pytest
from baas_sdk import (
    AsyncClient,
    BadRequest,
    Client,
    CollectionDef,
    CollectionRules,
    Conflict,
    Forbidden,
    IndexDef,
    NotFound,
    RuleCheck,
    Unauthorized,
)
from baas_sdk._admin_collections import (
    check_rules_call,
    collection_changes,
    create_collection_call,
    list_collections_call,
    update_collection_call,
)

from tests.conftest import ENGINES
from tests.e2e.test_serve_and_cli import BAAS, Server

ADMIN_EMAIL = "ops@example.com"
ADMIN_PASSWORD = "a long admin password"
SCHEMA = {"fields": {"title": {"type": "string", "required": True, "max_length": 200},
                     "owner": {"type": "string", "server_owned": True, "value": "@auth.id"}},
          "additional_fields": False}


# -- a real server, shared by the module (and by tests/cli/test_cli_collections.py) -----


@dataclass
class Backend:
    server: Server
    token: str  # an admin token

    @property
    def url(self) -> str:
        return self.server.url

    def admin(self) -> Client:
        return Client(self.url, token=self.token)

    def new_project(self) -> tuple[str, dict[str, str]]:
        """A fresh project and its key secrets by kind."""
        project = "c" + uuid.uuid4().hex[:12]
        with self.admin() as client:
            made = client.admin.projects.create(project)
        return project, {k.kind: k.secret or "" for k in made.keys}


@pytest.fixture(scope="module", params=ENGINES)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Backend]:
    tmp = tmp_path_factory.mktemp(f"collections-{request.param}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    env.update({"BAAS_LOG_FORMAT": "json", "BAAS_CLI_CONFIG": str(tmp / "cli.json"),
                "BAAS_ARGON2_TIME_COST": "1"})
    if request.param == "mongodb":
        env["BAAS_MONGODB_URL"] = request.getfixturevalue("mongo_url")
        env["BAAS_MONGODB_DB_PREFIX"] = "k" + uuid.uuid4().hex[:8] + "_"
    server = Server(env, tmp / "data")
    made = subprocess.run([BAAS, "admin", "create", "--email", ADMIN_EMAIL, "--password-stdin",
                           "--data-dir", str(server.data_dir)], env=env,
                          input=ADMIN_PASSWORD + "\n", capture_output=True, text=True,
                          timeout=60)
    assert made.returncode == 0, made.stderr
    server.start()
    try:
        with Client(server.url) as client:
            token = client.admin.login(ADMIN_EMAIL, ADMIN_PASSWORD).token
        yield Backend(server, token)
        assert "Traceback" not in server.output()
    finally:
        if server.proc is not None:
            server.proc.kill()
            server.proc.wait()


# -- request builders (pure) --------------------------------------------------------


def test_builders_send_what_the_contract_says() -> None:
    create = create_collection_call(
        "my app", "todos", schema=SCHEMA, rules={"list": "", "get": None},
        indexes=[IndexDef(fields=["owner", "-created_at"], unique=True, name="ignored"),
                 {"fields": ["title"]}])
    assert (create.method, create.path) == ("POST", "/v1/projects/my%20app/collections")
    assert create.json == {
        "name": "todos", "schema": SCHEMA, "rules": {"list": "", "get": None},
        "indexes": [{"fields": ["owner", "-created_at"], "unique": True, "ttl": False},
                    {"fields": ["title"]}]}
    assert create_collection_call("p", "bare").json == {"name": "bare"}

    listed = list_collections_call("p", "abc", limit=5)
    assert (listed.path, dict(listed.params or {})) == (
        "/v1/projects/p/collections", {"cursor": "abc", "limit": 5})
    assert list_collections_call("p").params is None

    # Not given, None and a value are three different things for an update.
    assert collection_changes() == {}
    assert collection_changes(schema=None) == {"schema": None}
    assert collection_changes(rules={"delete": None}) == {"rules": {"delete": None}}
    assert collection_changes(rules=CollectionRules(list="")) == {"rules": {
        "list": "", "get": None, "create": None, "update": None, "delete": None}}
    assert collection_changes(indexes=[]) == {"indexes": []}
    update = update_collection_call("p", "a/b", {"schema": None})
    assert (update.method, update.path, update.json) == (
        "PATCH", "/v1/projects/p/collections/a%2Fb", {"schema": None})

    check = check_rules_call("p", "todos", "get", id="d1")
    assert (check.method, check.path) == ("POST", "/v1/projects/p/rules:check")
    assert check.json == {"collection": "todos", "operation": "get", "auth": None, "id": "d1"}
    check = check_rules_call("p", "todos", "create", auth={"id": "usr_1"},
                             document={"a": 1}, data={"b": 2})
    assert check.json == {"collection": "todos", "operation": "create",
                          "auth": {"id": "usr_1"}, "document": {"a": 1}, "data": {"b": 2}}


def test_models_read_and_dump_schema_by_its_wire_name() -> None:
    made = CollectionDef.model_validate({
        "name": "todos", "schema": SCHEMA, "rules": {"list": "", "get": None},
        "indexes": [{"name": "ix", "fields": ["a"], "unique": False, "ttl": False,
                     "status": "ready"}],
        "created_at": "t", "updated_at": "t", "version": 1, "future": True})
    assert made.schema_ == SCHEMA
    assert made.rules.as_dict() == {"list": "", "get": None, "create": None, "update": None,
                                    "delete": None}
    assert made.indexes[0].status == "ready"
    dumped = made.model_dump(mode="json")
    assert dumped["schema"] == SCHEMA and "schema_" not in dumped and dumped["future"] is True
    assert CollectionDef(name="x", schema=None).schema_ is None


# -- against a real server ----------------------------------------------------------


def test_lifecycle_sync(backend: Backend) -> None:
    project, keys = backend.new_project()
    with backend.admin() as client:
        cols = client.admin.collections(project)
        assert cols.list() == []
        made = cols.create("todos", schema=SCHEMA,
                           rules={"list": "owner = @auth.id", "create": "@auth.id != null"},
                           indexes=[IndexDef(fields=["owner", "-created_at"])])
        assert isinstance(made, CollectionDef)
        assert made.name == "todos" and made.version == 1
        assert made.schema_ is not None and set(made.schema_["fields"]) == {"title", "owner"}
        assert made.rules.as_dict() == {"list": "owner = @auth.id", "get": None,
                                        "create": "@auth.id != null", "update": None,
                                        "delete": None}
        assert [(ix.fields, ix.unique, ix.ttl) for ix in made.indexes] == [
            (["owner", "-created_at"], False, False)]
        assert made.indexes[0].name
        cols.create("posts", rules=CollectionRules(list="", get=""))
        assert [c.name for c in cols.list()] == ["posts", "todos"]
        assert cols.page(limit=10).items[0].name == "posts"

        with pytest.raises(Conflict) as exists:
            cols.create("todos")
        assert exists.value.code == "collection_exists"

        # Rules merge key by key; None closes; other parts stay.
        changed = cols.update("todos", rules={"get": "", "list": None})
        assert changed.version == 2
        assert changed.rules.as_dict() == {"list": None, "get": "",
                                           "create": "@auth.id != null", "update": None,
                                           "delete": None}
        assert changed.schema_ == made.schema_ and len(changed.indexes) == 1
        # Indexes are the full list; schema=None removes the schema.
        changed = cols.update("todos", schema=None,
                              indexes=[{"fields": ["title"], "unique": True}])
        assert changed.schema_ is None
        assert [(ix.fields, ix.unique) for ix in changed.indexes] == [(["title"], True)]
        assert cols.get("todos").version == changed.version == 3
        unchanged = cols.update("todos")  # nothing given: nothing written
        assert unchanged.version == 3

        with pytest.raises(BadRequest) as bad:
            cols.update("todos", rules={"list": "owner = = 1"})
        assert bad.value.code == "invalid_rule"
        assert "rules.list" in bad.value.message and "column" in bad.value.message
        with pytest.raises(BadRequest) as bad_schema:
            cols.create("broken", schema={"fields": {"n": {"type": "nope"}}})
        assert bad_schema.value.code == "invalid_schema"
        assert bad_schema.value.details["errors"]

        check = cols.check("posts", "list")
        assert isinstance(check, RuleCheck)
        assert (check.allowed, check.operation, check.rule) == (True, "list", "")
        check = cols.check("todos", "create", auth={"id": "usr_1", "role": "authenticated"},
                           data={"title": "x"})
        assert (check.allowed, check.rule) == (True, "@auth.id != null")
        assert check.reason
        closed = cols.check("todos", "delete", auth={"id": "usr_1"}, document={"owner": "a"})
        assert (closed.allowed, closed.rule) == (False, None)

        cols.delete("posts")
        with pytest.raises(NotFound) as gone:
            cols.get("posts")
        assert gone.value.code == "collection_not_found"
        with pytest.raises(NotFound):
            cols.delete("posts")
        with pytest.raises(NotFound):
            cols.check("posts", "get")

    # A secret key may manage collections too; a publishable key may not.
    with Client(backend.url, token=keys["secret"]) as trusted:
        assert [c.name for c in trusted.admin.collections(project).list()] == ["todos"]
    with Client(backend.url, project=project, api_key=keys["publishable"]) as app:
        with pytest.raises((Forbidden, Unauthorized)):
            app.admin.collections(project).list()


async def test_lifecycle_async(backend: Backend) -> None:
    project, _ = backend.new_project()
    async with AsyncClient(backend.url, token=backend.token) as client:
        cols = client.admin.collections(project)
        made = await cols.create("notes", rules={"get": ""},
                                 indexes=[IndexDef(fields=["-created_at"])])
        assert made.rules.get == "" and made.rules.list is None
        assert [c.name for c in await cols.list()] == ["notes"]
        assert (await cols.page()).next_cursor is None
        changed = await cols.update("notes", schema={"fields": {"t": {"type": "string"}}},
                                    rules={"list": "@auth.id != null"}, indexes=[])
        assert changed.indexes == [] and changed.schema_ is not None
        assert (await cols.get("notes")).rules.list == "@auth.id != null"
        check = await cols.check("notes", "list")
        assert (check.allowed, check.rule) == (False, "@auth.id != null")
        await cols.delete("notes")
        with pytest.raises(NotFound):
            await cols.get("notes")


def test_rule_check_reads_a_stored_document(backend: Backend) -> None:
    project, keys = backend.new_project()
    with backend.admin() as client:
        client.admin.collections(project).create(
            "todos", rules={"get": "owner = @auth.id", "update": "owner = @auth.id"})
    stored = httpx2.post(f"{backend.url}/v1/projects/{project}/collections/todos/documents",
                        headers={"apikey": keys["secret"]},
                        json={"owner": "usr_a", "title": "x"}, timeout=30)
    assert stored.status_code == 201, stored.text
    doc = stored.json()["id"]
    with backend.admin() as client:
        cols = client.admin.collections(project)
        assert cols.check("todos", "get", auth={"id": "usr_a"}, id=doc).allowed is True
        assert cols.check("todos", "get", auth={"id": "usr_b"}, id=doc).allowed is False
        assert cols.check("todos", "get", id=doc).allowed is False  # nobody signed in
        with pytest.raises(NotFound):
            cols.check("todos", "get", id="nope")


def test_paths_are_quoted() -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.raw_path.decode())
        return httpx2.Response(404, json={"error": {"status": 404, "code": "collection_not_found",
                                                   "message": "no", "details": {}}})

    with Client("http://baas.test", token="t", transport=httpx2.MockTransport(handler)) as c:
        with pytest.raises(NotFound):
            c.admin.collections("p").get("../users")
    assert seen == ["/v1/projects/p/collections/..%2Fusers"]
