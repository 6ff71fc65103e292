"""``baas keys``: create, list and revoke a project's API keys; list and rotate its
access-token signing keys."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import typer

from . import limits as plans
from .output import JsonOpt, emit, keys_table, say, secrets, signing_keys_table
from .session import UrlOpt, admin_session

app = typer.Typer(
    help="Create, list and revoke a project's API keys; list and rotate its signing keys.",
    no_args_is_help=True,
)

ProjectOpt = Annotated[
    str, typer.Option("--project", "-p", help="Project id.", show_default=False)
]


class Kind(enum.StrEnum):
    publishable = "publishable"
    secret = "secret"  # noqa: S105 - a key kind, not a password


def _check_iso(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("expected an ISO 8601 time, e.g. 2030-01-01T00:00:00Z") from None
    if when.tzinfo is None:
        raise typer.BadParameter("give a time zone, e.g. 2030-01-01T00:00:00Z")
    return value


@app.command("create")
def create(
    project: ProjectOpt,
    kind: Annotated[
        Kind,
        typer.Option(
            "--kind", show_default=False,
            help="publishable (client apps; access rules apply) or secret (trusted servers).",
        ),
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="A label for the key.", show_default=False)
    ] = None,
    expires_at: Annotated[
        str | None,
        typer.Option("--expires-at", callback=_check_iso, show_default=False,
                     help="Expiry time, ISO 8601 with a zone (default: never)."),
    ] = None,
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Create an API key; its secret is shown once."""
    with admin_session(url) as admin:
        key = admin.keys.create(project, kind.value, name=name, expires_at=expires_at)

    def human() -> None:
        keys_table([key])
        secrets([key])

    emit(key, json_output, human)


@app.command("list")
def list_keys(project: ProjectOpt, url: UrlOpt = None, json_output: JsonOpt = False) -> None:
    """List a project's keys (secrets are never shown again)."""
    with admin_session(url) as admin:
        keys = admin.keys.list(project)
    emit(keys, json_output, lambda: keys_table(keys), empty=f"Project {project} has no keys.")


@app.command("revoke")
def revoke(
    project: ProjectOpt,
    key_id: Annotated[str, typer.Argument(help="Id of the key to revoke.", show_default=False)],
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Revoke a key: requests using it are refused from now on."""
    with admin_session(url) as admin:
        key = admin.keys.revoke(project, key_id)
    emit(key, json_output, f"Revoked key {key.id} ({key.kind}) at {key.revoked_at}.")


@app.command("signing")
def signing(project: ProjectOpt, url: UrlOpt = None, json_output: JsonOpt = False) -> None:
    """List the keys that sign the project's user access tokens (no private parts)."""
    with admin_session(url) as admin:
        keys = admin.projects.signing_keys(project)
    emit(keys, json_output, lambda: signing_keys_table(keys))


@app.command("rotate-signing")
def rotate_signing(
    project: ProjectOpt, url: UrlOpt = None, json_output: JsonOpt = False
) -> None:
    """Make a new signing key current; the old one still verifies until its tokens expire."""
    with admin_session(url) as admin:
        rotation = admin.projects.rotate_signing_key(project)

    def human() -> None:
        say(f"Signing key {rotation.current} is now current for project {project}.",
            style="green")
        signing_keys_table(rotation.items)

    emit(rotation, json_output, human)


@app.command("limits")
def limits(
    project: ProjectOpt,
    key_id: Annotated[str, typer.Argument(help="Id of the key.", show_default=False)],
    key_rate: plans.KeyRateOpt = None,
    key_burst: plans.KeyBurstOpt = None,
    address_rate: plans.AddressRateOpt = None,
    address_burst: plans.AddressBurstOpt = None,
    daily_quota: plans.DailyQuotaOpt = None,
    reset: plans.ResetOpt = None,
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Show a key's rate limits, daily quota and requests today; with options, change them
    first (a key's own limits win over its project's)."""
    changes = plans.changes_of(reset, key_rate=key_rate, key_burst=key_burst,
                               address_rate=address_rate, address_burst=address_burst,
                               daily_quota=daily_quota)
    plans.show_key(project, key_id, changes, url, json_output)
