"""The collections acceptance test, end to end on both engines: ``baas serve`` as a real
process, the SDK over real sockets. An admin creates a project, a publishable key and a
``todos`` collection whose rules keep each user's to-dos private; two users sign up, each
sees and changes only their own. A ``posts`` collection is publicly readable and only its
authors may change their posts; an anonymous client can read it but not write.

``running_app`` (a server with an admin, a project and its keys) is shared with
``tests/sdk/test_documents.py``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from baas_sdk import AsyncClient, BadRequest, Client, Forbidden, NotFound

from tests.conftest import ENGINES
from tests.e2e.test_serve_and_cli import Server, cli

ADMIN_EMAIL = "ops@example.com"
ADMIN_PASSWORD = "a long admin password"
PASSWORD = "correct horse battery"
OPERATIONS = ("list", "get", "create", "update", "delete")
OWNER = {"type": "string", "server_owned": True, "value": "@auth.id"}


@dataclass
class App:
    """A running server with a project, its keys and an admin token."""

    server: Server
    project: str
    pk: str
    sk: str
    admin_token: str

    def client(self, **kwargs: Any) -> Client:
        return Client(self.server.url, project=self.project, api_key=self.pk, **kwargs)

    def aclient(self, **kwargs: Any) -> AsyncClient:
        return AsyncClient(self.server.url, project=self.project, api_key=self.pk, **kwargs)

    def secret_client(self) -> Client:
        return Client(self.server.url, project=self.project, api_key=self.sk)

    def define(self, name: str, *, rules: Mapping[str, str | None] | None = None,
               schema: dict[str, Any] | None = None, bearer: str | None = None,
               **extra: Any) -> dict[str, Any]:
        """Create a collection over plain HTTP (the secret key unless ``bearer`` is given)."""
        body: dict[str, Any] = {"name": name, **extra}
        if rules is not None:
            body["rules"] = dict(rules)
        if schema is not None:
            body["schema"] = schema
        answer = httpx2.post(
            f"{self.server.url}/v1/projects/{self.project}/collections", json=body,
            headers={"Authorization": f"Bearer {bearer or self.sk}"}, timeout=30)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())


@contextmanager
def running_app(request: pytest.FixtureRequest, tmp: Path, engine: str,
                project: str = "docs") -> Iterator[App]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    env.update({"BAAS_LOG_FORMAT": "json", "BAAS_CLI_CONFIG": str(tmp / "cli.json"),
                "BAAS_ARGON2_TIME_COST": "1", "BAAS_AUTH_IP_LIMIT": "100000",
                "BAAS_AUTH_ACCOUNT_LIMIT": "100000"})
    if engine == "mongodb":
        env["BAAS_MONGODB_URL"] = request.getfixturevalue("mongo_url")
        env["BAAS_MONGODB_DB_PREFIX"] = "d" + uuid.uuid4().hex[:8] + "_"
    server = Server(env, tmp / "data")
    server.start()
    try:
        made = cli(server, "admin", "create", "--email", ADMIN_EMAIL, "--password-stdin",
                   "--data-dir", str(server.data_dir), stdin=ADMIN_PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
        with Client(server.url) as admin:
            token = admin.admin.login(ADMIN_EMAIL, ADMIN_PASSWORD).token
            created = admin.admin.projects.create(project, name="Documents")
            # The app's own publishable key, next to the project's default ones.
            pk = admin.admin.keys.create(project, "publishable", name="web").secret
        sk = next(k.secret for k in created.keys if k.kind == "secret")
        assert pk is not None and sk is not None
        yield App(server, project, pk, sk, token)
        assert "Traceback" not in server.output()
    finally:
        if server.proc is not None:
            server.proc.kill()
            server.proc.wait()


@pytest.fixture(scope="module", params=ENGINES)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp(f"todo-{request.param}")
    with running_app(request, tmp, str(request.param), project="todoapp") as running:
        yield running


def signed_up(app: App) -> tuple[Client, str]:
    client = app.client()
    session = client.auth.sign_up(f"u{uuid.uuid4().hex[:12]}@example.com", PASSWORD)
    assert session.user is not None
    return client, session.user.id


def test_each_user_sees_and_changes_only_their_own_todos(app: App) -> None:
    # The admin defines the collection over plain HTTP with the admin token.
    app.define("todos", bearer=app.admin_token, rules={
        "list": "owner = @auth.id", "get": "owner = @auth.id", "create": "@auth.id != null",
        "update": "owner = @auth.id", "delete": "owner = @auth.id",
    }, schema={"fields": {"title": {"type": "string", "required": True},
                          "done": {"type": "boolean", "default": False},
                          "owner": OWNER},
               "additional_fields": False})
    (ann, ann_id), (bob, bob_id) = signed_up(app), signed_up(app)
    with ann, bob, app.client() as anonymous:
        assert ann_id != bob_id
        ann_todos, bob_todos = ann.collection("todos"), bob.collection("todos")
        milk = ann_todos.create({"title": "buy milk"})
        assert milk["owner"] == ann_id and milk["done"] is False and milk.version == 1
        ann_todos.create({"title": "call mum"})
        bread = bob_todos.create({"title": "bake bread"})
        assert bread["owner"] == bob_id

        assert sorted(t["title"] for t in ann_todos.iterate()) == ["buy milk", "call mum"]
        assert [t["title"] for t in bob_todos.list().items] == ["bake bread"]
        assert ann_todos.count() == 2 and bob_todos.count() == 1
        assert all(t["owner"] == ann_id for t in ann_todos.list(sort="-created_at"))

        with pytest.raises(NotFound) as err:
            bob_todos.get(milk.id)
        assert err.value.code == "document_not_found"
        with pytest.raises(NotFound):
            bob_todos.update(milk.id, {"done": True})
        with pytest.raises(NotFound):
            bob_todos.replace(milk.id, {"title": "stolen"})
        with pytest.raises(NotFound):
            bob_todos.delete(milk.id)
        assert ann_todos.get(milk.id) == milk  # unchanged: same fields, same version

        with pytest.raises(BadRequest) as bad:
            bob_todos.create({"title": "mine now", "owner": ann_id})
        assert bad.value.code == "server_owned_field"
        with pytest.raises(Forbidden) as denied:
            anonymous.collection("todos").create({"title": "who am I"})
        assert denied.value.code == "forbidden"

        done = ann_todos.update(milk.id, {"done": True}, if_match=milk)
        assert done.version == 2 and done["owner"] == ann_id
        assert done["done"] is True and ann_todos.get(milk.id)["done"] is True
        ann_todos.delete(milk.id)
        assert [t["title"] for t in ann_todos.iterate()] == ["call mum"]
        assert bob_todos.count() == 1


def test_public_posts_are_read_by_all_and_changed_by_their_author(app: App) -> None:
    # Public read, owner write; defined with the secret key.
    app.define("posts", rules={
        "list": "", "get": "", "create": "@auth.id != null",
        "update": "owner = @auth.id", "delete": "owner = @auth.id",
    }, schema={"fields": {"title": {"type": "string", "required": True}, "owner": OWNER},
               "additional_fields": True})
    (ann, ann_id), (bob, _) = signed_up(app), signed_up(app)
    with ann, bob, app.client() as anonymous:
        ann_posts, bob_posts = ann.collection("posts"), bob.collection("posts")
        hello = ann_posts.create({"title": "Hello", "body": "first"})
        assert hello["owner"] == ann_id
        bob_posts.create({"title": "Bonjour"})
        for reader in (ann, bob, anonymous):
            assert sorted(p["title"] for p in reader.collection("posts")) == ["Bonjour", "Hello"]
        assert anonymous.collection("posts").get(hello.id) == hello

        # Another user's post is readable (so not hidden: 403, not 404) but not theirs.
        for attempt in (lambda: bob_posts.update(hello.id, {"title": "Hacked"}),
                        lambda: bob_posts.replace(hello.id, {"title": "Hacked"}),
                        lambda: bob_posts.delete(hello.id),
                        lambda: anonymous.collection("posts").update(hello.id, {"x": 1})):
            with pytest.raises(Forbidden) as refused:
                attempt()
            assert refused.value.code == "forbidden"
        assert bob_posts.get(hello.id) == hello

        with pytest.raises(Forbidden) as denied:
            anonymous.collection("posts").create({"title": "spam"})
        assert denied.value.code == "forbidden"

        edited = ann_posts.update(hello.id, {"title": "Hello, world"})
        assert edited["title"] == "Hello, world" and edited["owner"] == ann_id
        ann_posts.delete(hello.id)
        assert [p["title"] for p in anonymous.collection("posts")] == ["Bonjour"]
