"""CLI tests run with their own config file and no CLI variables from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from baas_cli import config


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli" / "config.json"
    monkeypatch.setenv("BAAS_CLI_CONFIG", str(path))
    for name in ("BAAS_CLI_TOKEN", "BAAS_CLI_URL", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    return path


def logged_in(path: Path, url: str, expires_at: str = "2999-01-01T00:00:00Z") -> None:
    """Store a CLI login as `baas login` would."""
    config.save_config(
        {"url": url, "token": "adm_token", "expires_at": expires_at, "email": "a@example.com"},
        path,
    )
