"""End to end: `baas users` and `baas keys signing/rotate-signing` as real processes
against a real `baas serve`, on both engines."""

from __future__ import annotations

import base64
import json
import subprocess
from typing import Any

import httpx2

from tests.e2e.test_serve_and_cli import PASSWORD, Server, cli
from tests.e2e.test_serve_and_cli import server as server  # noqa: F401 - the fixture

USER_PASSWORD = "correct horse battery"


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result).stdout)


def setup_project(server: Server) -> dict[str, Any]:
    """An admin, a login and the project `demo`; its keys by kind."""
    server.env["COLUMNS"] = "200"  # wide tables: ids and emails on one line
    ok(cli(server, "admin", "create", "--email", "ops@example.com", "--password-stdin",
           "--data-dir", str(server.data_dir), stdin=PASSWORD + "\n"))
    ok(cli(server, "login", "--url", server.url, "--email", "ops@example.com",
           "--password-stdin", stdin=PASSWORD + "\n"))
    made = as_json(cli(server, "projects", "create", "demo", "--json"))
    return {k["kind"]: k["secret"] for k in made["keys"]}


def login(server: Server, key: str, email: str, password: str) -> httpx2.Response:
    return httpx2.post(f"{server.url}/v1/projects/demo/auth/login", headers={"apikey": key},
                      json={"email": email, "password": password}, timeout=30)


def test_users_lifecycle(server: Server) -> None:
    keys = setup_project(server)
    created = as_json(cli(server, "users", "create", "-p", "demo", "--email", "Ada@Example.com",
                          "--password-stdin", "--json", stdin=USER_PASSWORD + "\n"))
    ada = created["id"]
    assert ada.startswith("usr_")
    assert (created["email"], created["email_verified"], created["disabled"]) == (
        "ada@example.com", False, False)
    human = ok(cli(server, "users", "create", "-p", "demo", "--email", "bob@example.com",
                   "--password", USER_PASSWORD, "--verified", "--data", '{"team": "ops"}'))
    assert "Created user usr_" in human.stdout
    taken = cli(server, "users", "create", "-p", "demo", "--email", "ada@example.com",
                "--password-stdin", stdin=USER_PASSWORD + "\n")
    assert taken.returncode == 1 and taken.stderr.startswith("error: ")
    assert "Traceback" not in taken.stderr

    listed = as_json(cli(server, "users", "list", "-p", "demo", "--json"))
    assert [u["email"] for u in listed] == ["ada@example.com", "bob@example.com"]
    assert listed[1]["email_verified"] is True and listed[1]["data"] == {"team": "ops"}
    paged = as_json(cli(server, "users", "list", "-p", "demo", "--page-size", "1", "--json"))
    assert [u["id"] for u in paged] == [u["id"] for u in listed]
    first = as_json(cli(server, "users", "list", "-p", "demo", "--limit", "1", "--json"))
    assert [u["id"] for u in first] == [ada]
    only_bob = as_json(cli(server, "users", "list", "-p", "demo", "--email", "bo", "--json"))
    assert [u["email"] for u in only_bob] == ["bob@example.com"]
    table = ok(cli(server, "users", "list", "-p", "demo"))
    assert ada in table.stdout and "ada@example.com" in table.stdout
    for column in ("verified", "anonymous", "disabled", "created", "last sign-in"):
        assert column in table.stdout

    assert login(server, keys["publishable"], "ada@example.com", USER_PASSWORD).status_code == 200
    signed_in = as_json(cli(server, "users", "show", "-p", "demo", ada, "--json"))
    assert signed_in["last_sign_in_at"]

    disabled = as_json(cli(server, "users", "disable", "-p", "demo", "ada@example.com",
                           "--json"))
    assert disabled["id"] == ada and disabled["disabled"] is True
    refused = login(server, keys["publishable"], "ada@example.com", USER_PASSWORD)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "user_disabled"
    wrong = login(server, keys["publishable"], "ada@example.com", "not the password")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    only_disabled = as_json(cli(server, "users", "list", "-p", "demo", "--disabled", "--json"))
    assert [u["id"] for u in only_disabled] == [ada]

    ok(cli(server, "users", "enable", "-p", "demo", ada))
    assert login(server, keys["publishable"], "ada@example.com", USER_PASSWORD).status_code == 200
    updated = as_json(cli(server, "users", "update", "-p", "demo", ada, "--data",
                          '{"name": "Ada"}', "--verified", "--json"))
    assert updated["data"] == {"name": "Ada"} and updated["email_verified"] is True
    shown = ok(cli(server, "users", "show", "-p", "demo", ada))
    assert '{"name": "Ada"}' in shown.stdout

    declined = cli(server, "users", "delete", "-p", "demo", ada, stdin="n\n")
    assert declined.returncode == 1
    deleted = as_json(cli(server, "users", "delete", "-p", "demo", ada, "--yes", "--json"))
    assert deleted == {"deleted": ada}
    gone = cli(server, "users", "show", "-p", "demo", ada)
    assert gone.returncode == 1 and gone.stderr.startswith("error: ")
    by_email = cli(server, "users", "disable", "-p", "demo", "ada@example.com")
    assert by_email.returncode == 1 and "no user with email" in by_email.stderr
    left = as_json(cli(server, "users", "list", "-p", "demo", "--json"))
    assert [u["email"] for u in left] == ["bob@example.com"]
    assert login(server, keys["publishable"], "ada@example.com", USER_PASSWORD).status_code == 401

    missing = cli(server, "users", "list", "-p", "nope")
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_rotate_signing_key(server: Server) -> None:
    keys = setup_project(server)
    before = as_json(cli(server, "keys", "signing", "-p", "demo", "--json"))
    assert len(before) == 1 and before[0]["current"] is True
    old = before[0]["id"]

    rotated = as_json(cli(server, "keys", "rotate-signing", "-p", "demo", "--json"))
    new = rotated["current"]
    assert new.startswith("sig_") and new != old
    by_id = {k["id"]: k for k in rotated["items"]}
    assert by_id[new]["current"] is True
    assert by_id[old]["current"] is False and by_id[old]["retired_at"]

    jwks = httpx2.get(f"{server.url}/v1/projects/demo/.well-known/jwks.json", timeout=30)
    assert jwks.status_code == 200
    assert {new, old} <= {k["kid"] for k in jwks.json()["keys"]}

    ok(cli(server, "users", "create", "-p", "demo", "--email", "cy@example.com",
           "--password-stdin", stdin=USER_PASSWORD + "\n"))
    answer = login(server, keys["publishable"], "cy@example.com", USER_PASSWORD)
    assert answer.status_code == 200
    token = answer.json()["session"]["access_token"]
    part = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    assert header["kid"] == new

    human = ok(cli(server, "keys", "rotate-signing", "-p", "demo"))
    assert "is now current for project demo" in human.stdout and new in human.stdout
    table = ok(cli(server, "keys", "signing", "-p", "demo"))
    assert old in table.stdout and new in table.stdout
    missing = cli(server, "keys", "rotate-signing", "-p", "nope")
    assert missing.returncode == 1 and "not found" in missing.stderr

