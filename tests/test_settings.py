"""Settings: defaults, environment, config file, and clear errors at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from baas.settings import SettingsError, load_settings, unknown_env


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("BAAS_") and not name.startswith("BAAS_TEST_"):
            monkeypatch.delenv(name)


def test_defaults() -> None:
    s = load_settings()
    assert s.engine == "sqlite" and s.port == 8080 and s.base_url == "http://127.0.0.1:8080"
    assert s.max_body_bytes == 1_048_576 and s.argon2_memory_kib >= 19_456


def test_environment_file_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "baas.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\ncors_origins = ["https://a.example"]\n')
    s = load_settings(config)
    assert s.port == 9000 and s.cors_origins == ["https://a.example"]
    assert s.base_url == "http://127.0.0.1:9000"
    monkeypatch.setenv("BAAS_PORT", "9100")
    monkeypatch.setenv("BAAS_CORS_ORIGINS", "https://b.example, https://c.example")
    s = load_settings(config)
    assert s.port == 9100 and s.cors_origins == ["https://b.example", "https://c.example"]
    assert load_settings(config, port=9200).port == 9200
    monkeypatch.setenv("BAAS_MONGODB_URL", "mongodb://db:27017")
    assert load_settings().engine == "mongodb"


@pytest.mark.parametrize("name,value,fragment", [
    ("BAAS_PORT", "eighty", "BAAS_PORT"),
    ("BAAS_PORT", "70000", "BAAS_PORT"),
    ("BAAS_MONGODB_URL", "postgres://x", "mongodb://"),
    ("BAAS_ARGON2_MEMORY_KIB", "1024", "BAAS_ARGON2_MEMORY_KIB"),
    ("BAAS_PUBLIC_URL", "example.com", "http"),
    ("BAAS_LOG_FORMAT", "xml", "BAAS_LOG_FORMAT"),
    ("BAAS_WORKERS", "0", "BAAS_WORKERS"),
    ("BAAS_WORKERS", "65", "BAAS_WORKERS"),
    ("BAAS_LOOP", "trio", "BAAS_LOOP"),
    ("BAAS_HTTP", "h2", "BAAS_HTTP"),
])
def test_invalid_values_are_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                  fragment: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert fragment in str(err.value)


def test_bad_config_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("port = = 1")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(broken)
    typo = tmp_path / "typo.toml"
    typo.write_text("prot = 1")
    with pytest.raises(SettingsError, match="unknown setting 'prot'"):
        load_settings(typo)


def test_unknown_environment_variables_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAAS_PROT", "1")
    assert unknown_env() == ["BAAS_PROT"]


def test_serve_refuses_bad_settings_with_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    env["BAAS_PORT"] = "not-a-port"
    baas = str(Path(sys.executable).parent / "baas")
    result = subprocess.run([baas, "serve", "--data-dir", str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "BAAS_PORT" in result.stderr and "Traceback" not in result.stderr


def test_server_settings_and_the_banner(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    from baas import server

    monkeypatch.setenv("BAAS_WORKERS", "3")
    monkeypatch.setenv("BAAS_LOOP", "asyncio")
    s = load_settings(data_dir=tmp_path, http="h11")
    assert (s.workers, s.loop, s.http) == (3, "asyncio", "h11")
    assert "  server:    asyncio + h11, 3 worker processes\n" in server.banner(s)

    monkeypatch.delenv("BAAS_WORKERS")
    monkeypatch.delenv("BAAS_LOOP")
    default = load_settings(data_dir=tmp_path)
    assert (default.workers, default.loop, default.http) == (1, "auto", "auto")
    assert server.server_choice(default) == ("uvloop", "httptools", [])  # uvicorn[standard]
    assert "  server:    uvloop + httptools, 1 worker process\n" in server.banner(default)

    # Without them, auto falls back and says how to get them; naming one is an error.
    monkeypatch.setattr(server, "_importable", lambda module: False)
    assert server.server_choice(default) == ("asyncio", "h11", ["uvloop", "httptools"])
    assert ("server:    asyncio + h11, 1 worker process "
            "(faster: pip install uvloop httptools)") in server.banner(default)
    with pytest.raises(SettingsError, match="BAAS_LOOP: uvloop is not installed"):
        server.server_choice(load_settings(data_dir=tmp_path, loop="uvloop"))


def test_workers_get_the_flags_as_environment_variables(tmp_path: Path) -> None:
    from baas_cli.serve import worker_env

    config = tmp_path / "baas.toml"
    env = worker_env(config, {"host": "0.0.0.0", "port": 9000, "data_dir": Path("rel"),  # noqa: S104
                              "workers": 2, "loop": None, "http": "h11"})
    assert env == {"BAAS_HOST": "0.0.0.0", "BAAS_PORT": "9000",  # noqa: S104
                   "BAAS_DATA_DIR": str(Path("rel").resolve()), "BAAS_WORKERS": "2",
                   "BAAS_HTTP": "h11", "BAAS_CONFIG_FILE": str(config.resolve())}
    assert worker_env(None, {"host": None}) == {}


def test_a_worker_with_bad_settings_exits_with_the_startup_failure_status(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """uvicorn's supervisor stops (instead of restarting it forever) on status 3."""
    import logging

    from baas import server

    baas_logger = logging.getLogger("baas")  # worker_app() configures it; put it back
    monkeypatch.setattr(baas_logger, "handlers", list(baas_logger.handlers))
    monkeypatch.setattr(baas_logger, "propagate", baas_logger.propagate)
    monkeypatch.setattr(baas_logger, "level", baas_logger.level)
    monkeypatch.setenv("BAAS_DATA_DIR", str(tmp_path))
    assert server.worker_app().state.settings.data_dir == tmp_path
    monkeypatch.setenv("BAAS_PORT", "not-a-port")
    with pytest.raises(SystemExit) as exited:
        server.worker_app()
    assert exited.value.code == server.STARTUP_FAILURE == 3
