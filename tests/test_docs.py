"""The user docs name every setting, CLI command and route that exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main
from baas_cli.main import app as cli_app

from baas.app import REGISTRIES
from baas.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def cli_paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    # Duck-typed: recent typer versions vendor click, so isinstance(click.Group) fails.
    found = [prefix] if prefix else []
    for name, sub in (getattr(command, "commands", None) or {}).items():
        found += cli_paths(sub, (*prefix, name))
    return found


def test_every_setting_is_documented() -> None:
    text = read("configuration.md")
    missing = [f"BAAS_{name.upper()}" for name in Settings.model_fields
               if not re.search(rf"\bBAAS_{name.upper()}\b", text)]
    assert not missing, f"docs/configuration.md does not mention {missing}"
    assert "BAAS_CONFIG_FILE" in text


def test_every_cli_command_is_documented() -> None:
    text = read("cli.md")
    paths = cli_paths(typer.main.get_command(cli_app))
    assert len(paths) >= 10, paths  # serve, login, logout, whoami, admin, projects, keys, ...
    missing = [" ".join(p) for p in paths if f"baas {' '.join(p)}" not in text]
    assert not missing, f"docs/cli.md does not mention {missing}"


def test_every_route_is_documented() -> None:
    text = read("api.md")
    endpoints = [e for registry in REGISTRIES for e in registry.endpoints]
    assert endpoints
    missing = [f"{e.method} {e.path}" for e in endpoints if f"`{e.path}`" not in text]
    assert not missing, f"docs/api.md does not mention {missing}"


def test_every_route_method_is_documented() -> None:
    text = read("api.md")
    for registry in REGISTRIES:
        for e in registry.endpoints:
            row = re.search(rf"^\| {e.method} \| `{re.escape(e.path)}` \|", text, re.MULTILINE)
            assert row, f"docs/api.md has no table row for {e.method} {e.path}"
