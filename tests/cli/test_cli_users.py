"""`baas users` and `baas keys signing/rotate-signing` without a server: help, argument
checks, login state, and the requests sent to (and answers shown from) a fake server
behind ``httpx2.MockTransport``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from baas_cli import session
from baas_cli.main import app
from baas_sdk import AsyncClient, Client
from typer.testing import CliRunner

from tests.cli.conftest import logged_in
from tests.conftest import free_port as closed_port

runner = CliRunner()
URL = "http://baas.test"


def log_in(path: Path, url: str = URL) -> None:
    logged_in(path, url)


def user(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"usr_{n}", "email": f"u{n}@example.com", "email_verified": False,
            "anonymous": False, "disabled": False, "data": {},
            "created_at": f"2030-01-0{n % 9 + 1}T10:00:00.123456+00:00",
            "updated_at": "2030-01-01T10:00:00Z", "last_sign_in_at": None, **extra}


class Fake:
    """Records requests and answers them with ``handler``."""

    def __init__(self, handler: Callable[[httpx2.Request], httpx2.Response]) -> None:
        self.handler = handler
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.handler(request)

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


@pytest.fixture
def fake(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Fake:
    log_in(isolated_env)
    fake = Fake(lambda request: httpx2.Response(500))

    def client(url: str, token: str | None = None) -> Client:
        return Client(url, token=token, transport=httpx2.MockTransport(fake))

    monkeypatch.setattr(session, "Client", client)
    return fake


# -- help and usage -----------------------------------------------------------------

COMMANDS = [
    ["users"], ["users", "list"], ["users", "create"], ["users", "show"], ["users", "update"],
    ["users", "disable"], ["users", "enable"], ["users", "delete"],
    ["keys", "signing"], ["keys", "rotate-signing"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_help(argv: list[str]) -> None:
    result = runner.invoke(app, [*argv, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    if len(argv) == 2:
        assert "--json" in result.stdout and "--project" in result.stdout


HTTP_COMMANDS = [
    ["users", "list", "-p", "demo"],
    ["users", "create", "-p", "demo", "--email", "a@b.co", "--password-stdin"],
    ["users", "show", "-p", "demo", "usr_1"],
    ["users", "update", "-p", "demo", "usr_1", "--verified"],
    ["users", "disable", "-p", "demo", "usr_1"],
    ["users", "enable", "-p", "demo", "usr_1"],
    ["users", "delete", "-p", "demo", "usr_1", "--yes"],
    ["keys", "signing", "-p", "demo"],
    ["keys", "rotate-signing", "-p", "demo"],
]


@pytest.mark.parametrize("argv", HTTP_COMMANDS, ids=" ".join)
def test_not_logged_in_exits_3(argv: list[str]) -> None:
    result = runner.invoke(app, argv, input="a password\n")
    assert result.exit_code == 3, result.output
    assert "not logged in" in result.stderr


@pytest.mark.parametrize("argv", HTTP_COMMANDS, ids=" ".join)
def test_unreachable_exits_4(isolated_env: Path, argv: list[str]) -> None:
    log_in(isolated_env)
    url = f"http://127.0.0.1:{closed_port()}"
    result = runner.invoke(app, [*argv, "--url", url], input="a password\n")
    assert result.exit_code == 4, result.output
    assert "cannot reach the server" in result.stderr


@pytest.mark.parametrize("argv", [
    ["users", "list"],  # no --project
    ["users", "list", "-p", "demo", "--limit", "0"],
    ["users", "list", "-p", "demo", "--page-size", "1001"],
    ["users", "create", "-p", "demo"],  # no --email
    ["users", "create", "-p", "demo", "--email", "a@b.co", "--data", "[1]"],
    ["users", "create", "-p", "demo", "--email", "a@b.co", "--data", "{nope"],
    ["users", "create", "-p", "demo", "--email", "a@b.co", "--password", "x",
     "--password-stdin"],
    ["users", "create", "-p", "demo", "--email", "a@b.co", "--password", ""],
    ["users", "create", "-p", "demo", "--email", "a@b.co", "--no-password", "--password", "x"],
    ["users", "update", "-p", "demo", "usr_1"],  # nothing to change
    ["users", "update", "-p", "demo", "usr_1", "--password-stdin", "--password-prompt"],
    ["users", "show", "-p", "demo"],  # no USER
])
def test_usage_errors_exit_2_before_any_request(fake: Fake, argv: list[str]) -> None:
    result = runner.invoke(app, argv, input="pw\n")
    assert result.exit_code == 2, result.output
    assert fake.requests == []
    assert "Traceback" not in result.output


def test_delete_asks_first(fake: Fake) -> None:
    result = runner.invoke(app, ["users", "delete", "-p", "demo", "usr_1"], input="n\n")
    assert result.exit_code == 1
    assert "Delete user 'usr_1' of project 'demo'?" in result.output
    assert fake.requests == []


# -- against a fake server ----------------------------------------------------------


def test_list_pages_through_everything(fake: Fake) -> None:
    everyone = [user(n) for n in range(1, 6)]

    def handler(request: httpx2.Request) -> httpx2.Response:
        start = int(request.url.params.get("cursor") or 0)
        size = int(request.url.params["limit"])
        end = start + size
        return httpx2.Response(200, json={"items": everyone[start:end],
                                         "next_cursor": str(end) if end < 5 else None})

    fake.handler = handler
    result = runner.invoke(app, ["users", "list", "-p", "demo", "--page-size", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert [u["id"] for u in json.loads(result.stdout)] == [f"usr_{n}" for n in range(1, 6)]
    assert len(fake.requests) == 3
    assert all(r.url.path == "/v1/projects/demo/users" for r in fake.requests)
    assert all(r.headers["authorization"] == "Bearer adm_token" for r in fake.requests)

    fake.requests.clear()
    result = runner.invoke(app, ["users", "list", "-p", "demo", "--page-size", "2",
                                 "--limit", "3", "--email", "u", "--enabled", "--registered"])
    assert result.exit_code == 0, result.output
    assert "usr_3" in result.stdout and "usr_4" not in result.stdout
    assert "2030-01-04" in result.stdout and "123456" not in result.stdout  # readable times
    assert "Showing the first 3 users" in result.stderr
    last = fake.requests[-1].url.params
    assert (last["limit"], last["email"], last["disabled"], last["anonymous"]) == (
        "1", "u", "false", "false")


def test_list_empty(fake: Fake) -> None:
    fake.handler = lambda r: httpx2.Response(200, json={"items": [], "next_cursor": None})
    result = runner.invoke(app, ["users", "list", "-p", "demo"])
    assert result.exit_code == 0
    assert "No users in project demo." in result.stdout
    result = runner.invoke(app, ["users", "list", "-p", "demo", "--email", "zz"])
    assert "No matching users" in result.stdout


def test_create_sends_the_prompted_password(fake: Fake) -> None:
    fake.handler = lambda r: httpx2.Response(201, json=user(1, email_verified=True))
    result = runner.invoke(app, ["users", "create", "-p", "demo", "--email", "u1@example.com",
                                 "--verified", "--data", '{"name": "Ada"}', "--json"],
                           input="secret pw\nsecret pw\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == "usr_1"  # the prompt went to stderr
    assert "secret pw" not in result.output
    assert fake.bodies() == [{"email": "u1@example.com", "password": "secret pw",
                              "data": {"name": "Ada"}, "email_verified": True}]
    assert fake.requests[0].method == "POST"

    fake.requests.clear()
    result = runner.invoke(app, ["users", "create", "-p", "demo", "--email", "u1@example.com",
                                 "--no-password"])
    assert result.exit_code == 0, result.output
    assert "Created user usr_1" in result.stdout
    assert fake.bodies() == [{"email": "u1@example.com"}]


def test_create_refused_is_exit_1(fake: Fake) -> None:
    fake.handler = lambda r: httpx2.Response(409, json={"error": {
        "status": 409, "code": "email_taken", "message": "the email is already registered",
        "details": {}}})
    result = runner.invoke(app, ["users", "create", "-p", "demo", "--email", "u1@example.com",
                                 "--password-stdin"], input="secret pw\n")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: the email is already registered"


def test_user_by_email_then_disable_and_delete(fake: Fake) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET":  # the email lookup: a prefix match, then exact
            prefix = request.url.params["email"]
            items = [u for u in (user(1), user(11, email="u1@example.com.au"))
                     if u["email"].startswith(prefix)]
            return httpx2.Response(200, json={"items": items, "next_cursor": None})
        if request.method == "PATCH":
            return httpx2.Response(200, json=user(1, disabled=True))
        return httpx2.Response(204)

    fake.handler = handler
    result = runner.invoke(app, ["users", "disable", "-p", "demo", "U1@example.com"])
    assert result.exit_code == 0, result.output
    assert "Disabled user usr_1 (u1@example.com)" in result.stdout
    assert fake.requests[-1].url.path == "/v1/projects/demo/users/usr_1"
    assert fake.bodies()[-1] == {"disabled": True}

    result = runner.invoke(app, ["users", "delete", "-p", "demo", "u1@example.com", "--yes",
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"deleted": "usr_1"}
    assert fake.requests[-1].method == "DELETE"

    result = runner.invoke(app, ["users", "show", "-p", "demo", "nobody@example.com"])
    assert result.exit_code == 1
    assert "no user with email nobody@example.com" in result.stderr


def test_show_and_update(fake: Fake) -> None:
    fake.handler = lambda r: httpx2.Response(200, json=user(2, data={"name": "Ada"}))
    result = runner.invoke(app, ["users", "show", "-p", "demo", "usr_2"])
    assert result.exit_code == 0, result.output
    assert '{"name": "Ada"}' in result.stdout and "u2@example.com" in result.stdout
    result = runner.invoke(app, ["users", "update", "-p", "demo", "usr_2", "--unverified",
                                 "--email", "new@example.com", "--password-stdin"],
                           input="new password\n")
    assert result.exit_code == 0, result.output
    assert fake.bodies()[-1] == {"email": "new@example.com", "password": "new password",
                                 "email_verified": False}
    assert fake.requests[-1].method == "PATCH"


def test_not_found_is_exit_1(fake: Fake) -> None:
    fake.handler = lambda r: httpx2.Response(404, json={"error": {
        "status": 404, "code": "user_not_found", "message": "user usr_9 not found",
        "details": {}}})
    result = runner.invoke(app, ["users", "enable", "-p", "demo", "usr_9"])
    assert result.exit_code == 1
    assert "user usr_9 not found" in result.stderr


SIGNING = [
    {"id": "sig_2", "created_at": "2030-01-02T00:00:00Z", "retired_at": None, "current": True},
    {"id": "sig_1", "created_at": "2030-01-01T00:00:00Z",
     "retired_at": "2030-01-02T00:00:00Z", "current": False},
]


def test_signing_keys(fake: Fake) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST":
            return httpx2.Response(200, json={"current": "sig_2", "items": SIGNING})
        return httpx2.Response(200, json={"items": SIGNING, "next_cursor": None})

    fake.handler = handler
    result = runner.invoke(app, ["keys", "rotate-signing", "-p", "demo"])
    assert result.exit_code == 0, result.output
    assert "Signing key sig_2 is now current" in result.stdout and "sig_1" in result.stdout
    assert fake.requests[-1].url.path == "/v1/admin/projects/demo/signing-keys:rotate"
    result = runner.invoke(app, ["keys", "rotate-signing", "-p", "demo", "--json"])
    assert json.loads(result.stdout)["current"] == "sig_2"
    result = runner.invoke(app, ["keys", "signing", "-p", "demo", "--json"])
    assert [k["id"] for k in json.loads(result.stdout)] == ["sig_2", "sig_1"]
    assert fake.requests[-1].url.path == "/v1/admin/projects/demo/signing-keys"


async def test_async_sdk_users_and_signing_keys() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append((request.method, request.url.path))
        if request.url.path.endswith("signing-keys"):
            return httpx2.Response(200, json={"items": SIGNING, "next_cursor": None})
        if request.method == "GET" and request.url.path.endswith("/users"):
            return httpx2.Response(200, json={"items": [user(1)], "next_cursor": None})
        if request.method == "DELETE":
            return httpx2.Response(204)
        return httpx2.Response(200, json=user(1))

    async with AsyncClient(URL, token="adm_x", transport=httpx2.MockTransport(handler)) as c:
        users = c.admin.users("my app")
        assert [u.id for u in await users.list(email="u")] == ["usr_1"]
        assert (await users.create("u1@example.com", "pw")).email == "u1@example.com"
        assert (await users.update("usr_1", disabled=True)).id == "usr_1"
        await users.delete("usr_1")
        assert [k.current for k in await c.admin.projects.signing_keys("p")] == [True, False]
    assert seen[0] == ("GET", "/v1/projects/my app/users")  # url.path is decoded
    assert seen[-2] == ("DELETE", "/v1/projects/my app/users/usr_1")
