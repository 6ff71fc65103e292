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
