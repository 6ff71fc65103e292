"""Human output (rich tables) versus ``--json`` (machine-readable, stdout only)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from baas_sdk import ApiKey, Project, SigningKey, User
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON to stdout instead of tables.")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]

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


def emit(
    value: Any, json_output: bool, human: str | Callable[[], object], style: str | None = None,
    empty: str | None = None,
) -> None:
    """A command's result: ``value`` as JSON on stdout with ``--json``; otherwise ``human``,
    a message (printed with ``style``) or a function that prints the tables and lines, or
    the ``empty`` message instead when given and ``value`` is an empty list."""
    if json_output:
        print_json(value)
    elif empty is not None and not value:
        say(empty)
    elif isinstance(human, str):
        say(human, style=style)
    else:
        human()


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


def when(value: str | None, seconds: bool = True) -> str | None:
    """An RFC 3339 time as ``2030-01-02 03:04:05Z`` (UTC) for tables."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ" if seconds else "%Y-%m-%d %H:%MZ")


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def users_table(users: Sequence[User], title: str | None = None) -> None:
    # Ids stay whole; on a narrow terminal the rest folds (times break at the space).
    grid = Table(title=title, title_justify="left")
    grid.add_column("id", no_wrap=True)
    for column in ("email", "verified", "anonymous", "disabled", "created", "last sign-in"):
        grid.add_column(column, overflow="fold")
    for u in users:
        grid.add_row(*(_cell(v) for v in (
            u.id, u.email, yes_no(u.email_verified), yes_no(u.anonymous), yes_no(u.disabled),
            when(u.created_at, seconds=False), when(u.last_sign_in_at, seconds=False))))
    console.print(grid)


def user_details(user: User) -> None:
    """One user as a two-column table, ``data`` as compact JSON."""
    table(None, ["", ""], [
        ["id", user.id],
        ["email", user.email],
        ["email verified", yes_no(user.email_verified)],
        ["anonymous", yes_no(user.anonymous)],
        ["disabled", yes_no(user.disabled)],
        ["created", when(user.created_at)],
        ["updated", when(user.updated_at)],
        ["last sign-in", when(user.last_sign_in_at)],
        ["data", json.dumps(user.data, ensure_ascii=False, sort_keys=True)],
    ])


def signing_keys_table(keys: Sequence[SigningKey], title: str | None = None) -> None:
    table(
        title,
        ["id", "current", "created", "retired"],
        ([k.id, yes_no(k.current), when(k.created_at), when(k.retired_at)] for k in keys),
    )
