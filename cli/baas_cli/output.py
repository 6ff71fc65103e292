"""Human output (rich tables) versus ``--json`` (machine-readable, stdout only)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

import typer
from baas_sdk import ApiKey, Project
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON to stdout instead of tables.")
]

# highlight=False: rich would colour ids and numbers at random.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def jsonable(value: Any) -> Any:
    if isinstance(value, ApiKey) and value.secret is None:
        return value.model_dump(mode="json", exclude={"secret"})  # a null secret misleads
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    typer.echo(json.dumps(jsonable(value), indent=2))


def say(message: str, style: str | None = None) -> None:
    # markup=False: user data (names, emails) must never be read as rich markup.
    console.print(message, style=style, markup=False, soft_wrap=True)


def warn(message: str) -> None:
    err_console.print(message, style="bold yellow", markup=False, soft_wrap=True)


def _cell(value: Any) -> Text:
    return Text("-" if value is None else str(value))


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    grid = Table(title=title, title_justify="left", show_header=any(columns))
    for column in columns:
        grid.add_column(column, overflow="fold")  # fold, not ellipsis: never hide an id
    for row in rows:
        grid.add_row(*(_cell(v) for v in row))
    console.print(grid)


def projects_table(projects: Sequence[Project], title: str | None = None) -> None:
    table(
        title,
        ["id", "name", "created_at", "updated_at"],
        ([p.id, p.name, p.created_at, p.updated_at] for p in projects),
    )


def keys_table(keys: Sequence[ApiKey], title: str | None = None) -> None:
    table(
        title,
        ["id", "kind", "name", "prefix", "created_at", "expires_at", "revoked_at"],
        (
            [k.id, k.kind, k.name, k.prefix, k.created_at, k.expires_at, k.revoked_at]
            for k in keys
        ),
    )


def secrets(keys: Sequence[ApiKey]) -> None:
    """Secrets go on plain lines, outside tables, so they can be copied whole."""
    shown = [k for k in keys if k.secret]
    if not shown:
        return
    warn("Store these secrets now: the server never shows them again.")
    for key in shown:
        say(f"{key.kind} key {key.id}: {key.secret}")
