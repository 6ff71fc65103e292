"""`baas projects limits` and `baas keys limits` against a real `baas serve`: show, set,
reset, and the JSON and human outputs; option checks without a server."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from baas_cli.main import app
from typer.testing import CliRunner

from tests.e2e.test_serve_and_cli import BAAS, Server

runner = CliRunner()
EMAIL = "cli-limits@example.com"
PASSWORD = "a long admin password"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("cli-limits")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    env.update({"BAAS_LOG_FORMAT": "json", "BAAS_ARGON2_TIME_COST": "1"})
    srv = Server(env, root / "data")
    srv.start()
    created = subprocess.run([BAAS, "admin", "create", "--email", EMAIL, "--password-stdin",
                              "--data-dir", str(srv.data_dir)], env=env,
                             input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    yield srv
    if srv.proc is not None:
        srv.proc.kill()
        srv.proc.wait()


@pytest.fixture
def project(server: Server, isolated_env: Path) -> dict[str, str]:
    """Logged in (in this test's CLI config), with a fresh project; its publishable key."""
    login = runner.invoke(app, ["login", "--url", server.url, "--email", EMAIL,
                                "--password-stdin"], input=PASSWORD + "\n")
    assert login.exit_code == 0, login.output
    pid = "cli" + uuid.uuid4().hex[:8]
    made = runner.invoke(app, ["projects", "create", pid, "--json"])
    assert made.exit_code == 0, made.output
    key = next(k for k in json.loads(made.stdout)["keys"] if k["kind"] == "publishable")
    return {"id": pid, "key_id": key["id"], "secret": key["secret"]}


def test_projects_limits_show_set_and_reset(server: Server, project: dict[str, str]) -> None:
    shown = runner.invoke(app, ["projects", "limits", project["id"], "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["limits"]["address_rate"] == 100
    assert json.loads(shown.stdout)["overrides"] == {}

    changed = runner.invoke(app, ["projects", "limits", project["id"], "--address-rate", "0.5",
                                  "--address-burst", "2"])
    assert changed.exit_code == 0, changed.output
    assert f"Limits of project {project['id']} changed." in changed.stdout
    assert "address_burst" in changed.stdout and "set here" in changed.stdout
    assert "server default" in changed.stdout  # the limits it does not set

    # The server enforces what the CLI set: two requests, then 429.
    docs = f"{server.url}/v1/projects/{project['id']}"
    statuses = [httpx2.get(docs, headers={"apikey": project["secret"]}).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]

    reset = runner.invoke(app, ["projects", "limits", project["id"], "--reset", "address_rate",
                                "--reset", "address_burst", "--json"])
    assert reset.exit_code == 0, reset.output
    assert json.loads(reset.stdout)["overrides"] == {}
    assert httpx2.get(docs, headers={"apikey": project["secret"]}).status_code == 200


def test_keys_limits_show_set_and_usage(server: Server, project: dict[str, str]) -> None:
    changed = runner.invoke(app, ["keys", "limits", project["key_id"], "-p", project["id"],
                                  "--daily-quota", "1000", "--key-rate", "0"])
    assert changed.exit_code == 0, changed.output
    assert "no limit" in changed.stdout  # key_rate 0
    assert "Requests today" in changed.stdout
    shown = runner.invoke(app, ["keys", "limits", project["key_id"], "-p", project["id"],
                                "--json"])
    answer = json.loads(shown.stdout)
    assert answer["overrides"] == {"daily_quota": 1000, "key_rate": 0.0}
    assert answer["limits"]["daily_quota"] == 1000 and answer["key"] == project["key_id"]
    assert answer["usage"]["requests"] >= 0

    missing = runner.invoke(app, ["keys", "limits", "key_nope", "-p", project["id"]])
    assert missing.exit_code == 1 and "not found" in missing.output


def test_limit_options_are_checked_before_sending(isolated_env: Path) -> None:
    """No login and no server needed: bad values never leave the CLI."""
    negative = runner.invoke(app, ["projects", "limits", "demo", "--key-rate", "-1"])
    assert negative.exit_code == 2 and "key-rate" in negative.output
    zero_burst = runner.invoke(app, ["keys", "limits", "k", "-p", "demo", "--key-burst", "0"])
    assert zero_burst.exit_code == 2
    both = runner.invoke(app, ["projects", "limits", "demo", "--daily-quota", "5",
                               "--reset", "daily_quota"])
    assert both.exit_code == 2 and "contradict" in both.output
    unknown = runner.invoke(app, ["projects", "limits", "demo", "--reset", "speed"])
    assert unknown.exit_code == 2
