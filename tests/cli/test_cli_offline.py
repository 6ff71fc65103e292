"""CLI behaviour that needs no server: help, the config file, and error exits.
End-to-end tests against a running server live elsewhere."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import baas_cli
import pytest
from baas_cli import config
from baas_cli.main import app
from typer.testing import CliRunner

from tests.cli.conftest import logged_in
from tests.conftest import free_port as closed_port

runner = CliRunner()


# -- help ---------------------------------------------------------------------------

COMMANDS = [
    [],
    ["serve"],
    ["login"],
    ["logout"],
    ["whoami"],
    ["admin"],
    ["admin", "create"],
    ["projects"],
    ["projects", "create"],
    ["projects", "list"],
    ["projects", "show"],
    ["projects", "delete"],
    ["keys"],
    ["keys", "create"],
    ["keys", "list"],
    ["keys", "revoke"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a) or "baas")
def test_help(argv: list[str]) -> None:
    result = runner.invoke(app, [*argv, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout


@pytest.mark.parametrize("argv", [a for a in COMMANDS if len(a) == 2 or a[:1] in (
    ["login"], ["whoami"], ["logout"])])
def test_every_command_but_serve_has_json(argv: list[str]) -> None:
    assert "--json" in runner.invoke(app, [*argv, "--help"]).stdout


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert baas_cli.__version__ in result.stdout


def test_importing_cli_imports_no_server_module() -> None:
    cli_root = str(Path(baas_cli.__file__).resolve().parent.parent)
    code = (
        "import sys, baas_cli.main; "
        "print(sorted(m for m in sys.modules if m == 'baas' or m.startswith('baas.')))"
    )
    env = {**os.environ, "PYTHONPATH": cli_root}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.strip() == "[]"


# -- config file --------------------------------------------------------------------


def test_config_path_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.config_path() == tmp_path / "cli" / "config.json"
    monkeypatch.delenv("BAAS_CLI_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config.config_path() == tmp_path / "xdg" / "baas" / "config.json"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config.config_path() == tmp_path / "home" / ".config" / "baas" / "config.json"


def test_config_written_0600_and_atomically(isolated_env: Path) -> None:
    assert config.load_config() == {}
    path = config.save_config({"url": "http://x", "token": "t"})
    assert path == isolated_env
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.load_config() == {"url": "http://x", "token": "t"}
    assert [p.name for p in path.parent.iterdir()] == ["config.json"]  # no temp file left


def test_existing_wide_config_is_tightened(isolated_env: Path) -> None:
    isolated_env.parent.mkdir(parents=True)
    isolated_env.write_text("{}")
    isolated_env.chmod(0o644)
    config.save_config({"token": "t"})
    assert stat.S_IMODE(isolated_env.stat().st_mode) == 0o600


def test_clear_token_keeps_url_and_email(isolated_env: Path) -> None:
    logged_in(isolated_env, "http://x")
    assert config.clear_token() is True
    assert config.load_config() == {"url": "http://x", "email": "a@example.com"}
    assert config.clear_token() is False


def test_corrupt_config_is_a_clean_error(isolated_env: Path) -> None:
    isolated_env.parent.mkdir(parents=True)
    isolated_env.write_text("{not json")
    result = runner.invoke(app, ["projects", "list"])
    assert result.exit_code == 1
    assert "not valid JSON" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


# -- login state ----------------------------------------------------------------------

HTTP_COMMANDS = [
    ["projects", "list"],
    ["projects", "show", "myapp"],
    ["projects", "create", "myapp"],
    ["projects", "delete", "myapp", "--yes"],
    ["keys", "list", "--project", "myapp"],
    ["keys", "create", "--project", "myapp", "--kind", "secret"],
    ["keys", "revoke", "--project", "myapp", "key_1"],
]


@pytest.mark.parametrize("argv", HTTP_COMMANDS, ids=" ".join)
def test_not_logged_in_exits_3(argv: list[str]) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 3, result.output
    assert "not logged in: run `baas login --url" in result.stderr
    assert "Traceback" not in result.output


def test_expired_stored_token_exits_3(isolated_env: Path) -> None:
    logged_in(isolated_env, "http://127.0.0.1:9", expires_at="2000-01-01T00:00:00Z")
    result = runner.invoke(app, ["projects", "list"])
    assert result.exit_code == 3
    assert "expired" in result.stderr and "baas login" in result.stderr


@pytest.mark.parametrize("argv", HTTP_COMMANDS, ids=" ".join)
def test_unreachable_server_exits_4(isolated_env: Path, argv: list[str]) -> None:
    logged_in(isolated_env, "http://127.0.0.1:9")
    url = f"http://127.0.0.1:{closed_port()}"
    result = runner.invoke(app, [*argv, "--url", url])
    assert result.exit_code == 4, result.output
    assert f"cannot reach the server at {url}: is `baas serve` running?" in result.stderr


def test_env_token_and_url_are_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAAS_CLI_TOKEN", "tok")
    monkeypatch.setenv("BAAS_CLI_URL", f"http://127.0.0.1:{closed_port()}")
    result = runner.invoke(app, ["projects", "list", "--json"])
    assert result.exit_code == 4
    assert result.stdout == ""


def test_login_unreachable_exits_4() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = runner.invoke(
        app, ["login", "--url", url, "--email", "a@example.com", "--password-stdin"],
        input="pw\n",
    )
    assert result.exit_code == 4
    assert url in result.stderr


def test_login_needs_url_and_email() -> None:
    result = runner.invoke(app, ["login", "--password-stdin"], input="pw\n")
    assert result.exit_code == 2


def test_whoami_and_logout(isolated_env: Path) -> None:
    assert runner.invoke(app, ["whoami"]).exit_code == 3
    logged_in(isolated_env, "http://127.0.0.1:9")
    result = runner.invoke(app, ["whoami", "--json"])
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert info["url"] == "http://127.0.0.1:9"
    assert info["email"] == "a@example.com"
    assert info["expired"] is False
    assert "adm_token" not in result.stdout
    result = runner.invoke(app, ["logout", "--json"])
    assert json.loads(result.stdout)["logged_out"] is True
    assert "token" not in config.load_config()
    assert runner.invoke(app, ["whoami"]).exit_code == 3


def test_delete_asks_first(isolated_env: Path) -> None:
    logged_in(isolated_env, f"http://127.0.0.1:{closed_port()}")
    result = runner.invoke(app, ["projects", "delete", "myapp"], input="n\n")
    assert result.exit_code == 1  # aborted before any request: not the unreachable code 4
    assert "Delete project 'myapp'" in result.output


def test_bad_expiry_is_a_usage_error(isolated_env: Path) -> None:
    logged_in(isolated_env, "http://127.0.0.1:9")
    result = runner.invoke(
        app, ["keys", "create", "-p", "myapp", "--kind", "secret", "--expires-at", "tomorrow"]
    )
    assert result.exit_code == 2
    result = runner.invoke(app, ["keys", "create", "-p", "myapp", "--kind", "root"])
    assert result.exit_code == 2


def test_console_script_prints_one_line_no_traceback(isolated_env: Path) -> None:
    logged_in(isolated_env, "http://127.0.0.1:9")
    cli_root = str(Path(baas_cli.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": cli_root}
    url = f"http://127.0.0.1:{closed_port()}"
    proc = subprocess.run(
        [sys.executable, "-c", "from baas_cli.main import main; main()",
         "projects", "list", "--url", url],
        capture_output=True, text=True, env=env,
    )
    assert proc.returncode == 4
    assert proc.stderr.strip().splitlines() == [
        f"error: cannot reach the server at {url}: is `baas serve` running?"
    ]
