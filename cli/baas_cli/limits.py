"""``baas projects limits`` and ``baas keys limits``: show, set and reset the request rates
and daily quota of a project or of one key (usage plans)."""

from __future__ import annotations

import enum
from typing import Annotated

import typer
from baas_sdk import KeyLimits, ProjectLimits

from .output import emit, say, table
from .session import admin_session


class LimitName(enum.StrEnum):
    key_rate = "key_rate"
    key_burst = "key_burst"
    address_rate = "address_rate"
    address_burst = "address_burst"
    daily_quota = "daily_quota"


UNITS = {"key_rate": "requests/s per key", "key_burst": "requests at once per key",
         "address_rate": "requests/s per client address",
         "address_burst": "requests at once per client address",
         "daily_quota": "requests per key per UTC day"}

KeyRateOpt = Annotated[float | None, typer.Option(
    "--key-rate", min=0, show_default=False,
    help="Requests per second of each key, all its callers together (0: no limit).")]
KeyBurstOpt = Annotated[int | None, typer.Option(
    "--key-burst", min=1, show_default=False, help="Requests a key may send at once.")]
AddressRateOpt = Annotated[float | None, typer.Option(
    "--address-rate", min=0, show_default=False,
    help="Requests per second per client address with a publishable key (0: no limit).")]
AddressBurstOpt = Annotated[int | None, typer.Option(
    "--address-burst", min=1, show_default=False,
    help="Requests a client address may send at once.")]
DailyQuotaOpt = Annotated[int | None, typer.Option(
    "--daily-quota", min=0, show_default=False,
    help="Requests per key per UTC day (0: no quota).")]
ResetOpt = Annotated[list[LimitName] | None, typer.Option(
    "--reset", show_default=False,
    help="Return a limit to its default (repeatable): the server's for a project, the "
         "project's for a key.")]


def changes_of(reset: list[LimitName] | None, **given: float | int | None
               ) -> dict[str, float | int | None]:
    changes: dict[str, float | int | None] = {k: v for k, v in given.items() if v is not None}
    for name in reset or []:
        if name.value in changes:
            raise typer.BadParameter(f"--reset {name.value} and --{name.value.replace('_', '-')}"
                                     " contradict each other")
        changes[name.value] = None
    return changes


def _show(answer: ProjectLimits | KeyLimits, inherited: str) -> None:
    overrides = answer.overrides
    rows = []
    for name, value in answer.limits.model_dump().items():
        off = value == 0 and name in ("key_rate", "address_rate", "daily_quota")
        rows.append([name, "no limit" if off else f"{value:g}", UNITS[name],
                     "set here" if overrides.get(name) is not None else inherited])
    table(None, ["limit", "value", "unit", "from"], rows)


def show_project(project: str, changes: dict[str, float | int | None], url: str | None,
                 json_output: bool) -> None:
    with admin_session(url) as admin:
        answer = (admin.projects.set_limits(project, **changes) if changes
                  else admin.projects.limits(project))

    def human() -> None:
        if changes:
            say(f"Limits of project {project} changed.", style="green")
        _show(answer, "server default")

    emit(answer, json_output, human)


def show_key(project: str, key_id: str, changes: dict[str, float | int | None],
             url: str | None, json_output: bool) -> None:
    with admin_session(url) as admin:
        answer = (admin.keys.set_limits(project, key_id, **changes) if changes
                  else admin.keys.limits(project, key_id))

    def human() -> None:
        if changes:
            say(f"Limits of key {key_id} changed.", style="green")
        _show(answer, "project")
        say(f"Requests today ({answer.usage.day}, UTC): {answer.usage.requests}")

    emit(answer, json_output, human)

