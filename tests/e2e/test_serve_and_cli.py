"""End to end: `baas serve` as a real process, the CLI as real processes, the SDK over
real sockets, on both engines; SIGTERM stops cleanly and data survives a restart."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from baas_sdk import Client, Forbidden, Unauthorized

from tests.conftest import free_port, wait_for_port

BAAS = shutil.which("baas") or str(Path(sys.executable).parent / "baas")
PASSWORD = "end to end password"


class Server:
    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.env = env
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None
        self.log = data_dir.parent / f"serve-{self.port}.log"

    def start(self) -> None:
        """Start (or restart, on the same port, so the CLI's stored URL still works)."""
        self.log = self.data_dir.parent / f"serve-{time.monotonic_ns()}.log"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [BAAS, "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, text=True,
            )
        wait_for_port(self.port, timeout=30, proc=self.proc)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if httpx2.get(f"{self.url}/ready").status_code == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(self.log.read_text())

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=20)
        self.proc = None
        return code

    def output(self) -> str:
        return self.log.read_text()


@pytest.fixture
def server(engine_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    env.update({"BAAS_LOG_FORMAT": "json", "BAAS_CLI_CONFIG": str(tmp_path / "cli" / "config.json"),
                "BAAS_ARGON2_TIME_COST": "1"})
    if engine_kind == "mongodb":
        env["BAAS_MONGODB_URL"] = request.getfixturevalue("mongo_url")
        env["BAAS_MONGODB_DB_PREFIX"] = "e" + uuid.uuid4().hex[:8] + "_"
    srv = Server(env, tmp_path / "data")
    srv.start()
    yield srv
    if srv.proc is not None:
        srv.proc.kill()
        srv.proc.wait()


def cli(server: Server, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BAAS, *args], env=server.env, input=stdin, capture_output=True,
                          text=True, timeout=60)


def admin_and_project(server: Server) -> dict[str, str]:
    """Create an admin (the CLI, on the data folder), log in and create project ``demo``:
    its keys by kind, and the admin token under ``admin``."""
    made = cli(server, "admin", "create", "--email", "ops@example.com", "--password-stdin",
               "--data-dir", str(server.data_dir), stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    token = httpx2.post(f"{server.url}/v1/admin/login", json={
        "email": "ops@example.com", "password": PASSWORD}).json()["token"]
    project = httpx2.post(f"{server.url}/v1/admin/projects", json={"id": "demo"},
                          headers={"Authorization": f"Bearer {token}"}).json()
    keys = {k["kind"]: k["secret"] for k in project["keys"]}
    keys["admin"] = token
    return keys


def test_serve_admin_login_projects_keys_restart(server: Server, engine_kind: str) -> None:
    banner = server.output()
    assert server.url in banner and f"engine:    {engine_kind}" in banner
    if engine_kind == "sqlite":
        assert str(server.data_dir.resolve()) in banner
    assert "no SMTP configured; mail is written to" in banner
    assert str(server.data_dir / "outbox") in banner or "outbox" in banner

    created = cli(server, "admin", "create", "--email", "Ops@Example.com", "--password-stdin",
                  "--data-dir", str(server.data_dir), stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    again = cli(server, "admin", "create", "--email", "ops@example.com", "--password-stdin",
                "--data-dir", str(server.data_dir), stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "already exists" in again.stderr + again.stdout
    assert "Traceback" not in again.stderr

    not_logged_in = cli(server, "projects", "list")
    assert not_logged_in.returncode == 3 and "baas login" in not_logged_in.stderr

    bad_login = cli(server, "login", "--url", server.url, "--email", "ops@example.com",
                    "--password-stdin", stdin="wrong password\n")
    assert bad_login.returncode == 3
    login = cli(server, "login", "--url", server.url, "--email", "ops@example.com",
                "--password-stdin", stdin=PASSWORD + "\n")
    assert login.returncode == 0, login.stderr
    config = Path(server.env["BAAS_CLI_CONFIG"])
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["token"].startswith("adm_")

    made = cli(server, "projects", "create", "demo", "--name", "Demo App", "--json")
    assert made.returncode == 0, made.stderr
    keys = {k["kind"]: k for k in json.loads(made.stdout)["keys"]}
    assert keys["publishable"]["secret"].startswith("pk_")
    human = cli(server, "projects", "create", "demo")
    assert human.returncode == 1 and "already exists" in human.stderr

    listed = cli(server, "keys", "list", "--project", "demo", "--json")
    assert {k["id"] for k in json.loads(listed.stdout)} == {k["id"] for k in keys.values()}
    missing = cli(server, "keys", "list", "--project", "nope")
    assert missing.returncode == 1 and "not found" in missing.stderr

    with Client(server.url, project="demo", api_key=keys["publishable"]["secret"]) as app:
        assert app.project_info()["caller"]["kind"] == "publishable"
    with Client(server.url, token=keys["secret"]["secret"]) as wrong:
        with pytest.raises(Forbidden):
            wrong.admin.projects.list()

    revoked = cli(server, "keys", "revoke", "--project", "demo", keys["publishable"]["id"],
                  "--json")
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["revoked_at"]
    with Client(server.url, project="demo", api_key=keys["publishable"]["secret"]) as app:
        with pytest.raises(Unauthorized) as err:
            app.project_info()
        assert err.value.code == "key_revoked"

    assert server.stop() == 0
    log = server.output()
    assert "Traceback" not in log
    server.start()
    shown = cli(server, "projects", "show", "demo", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["name"] == "Demo App"
    with Client(server.url, project="demo", api_key=keys["secret"]["secret"]) as app:
        assert app.project_info()["caller"]["kind"] == "secret"
    token = json.loads(config.read_text())["token"]
    out = cli(server, "logout", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["revoked_on_server"] is True
    with Client(server.url, token=token) as stale:
        with pytest.raises(Unauthorized):
            stale.admin.projects.list()
    assert server.stop() == 0


def test_unreachable_server_is_a_clear_error(server: Server) -> None:
    server.stop()
    result = cli(server, "login", "--url", server.url, "--email", "a@b.co", "--password-stdin",
                 stdin=PASSWORD + "\n")
    assert result.returncode == 4 and "cannot reach" in result.stderr
    assert "Traceback" not in result.stderr
