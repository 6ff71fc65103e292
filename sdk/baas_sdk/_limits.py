"""Usage plans (``/v1/admin/projects/{project}/limits`` and ``.../keys/{key_id}/limits``):
a project's and a key's request rates, bursts and daily quota, with an admin token.

Reach them as ``client.admin.projects.limits(project)`` / ``set_limits(project, ...)`` and
``client.admin.keys.limits(project, key_id)`` / ``set_limits(project, key_id, ...)``.
"""

from __future__ import annotations

from ._core import Call, parse_model, segment
from ._models import Model

LIMIT_NAMES = ("key_rate", "key_burst", "address_rate", "address_burst", "daily_quota")
LimitValue = float | int | None


class Limits(Model):
    """Requests per second (0: no limit) and burst per key and per client address;
    requests per UTC day per key (0: no quota)."""

    key_rate: float
    key_burst: int
    address_rate: float
    address_burst: int
    daily_quota: int


class KeyUsage(Model):
    """A key's requests on one UTC day (YYYY-MM-DD), on every server process."""

    day: str
    requests: int


class ProjectLimits(Model):
    project: str
    limits: Limits
    # What the project (or key) sets itself, by name; the others take the default.
    overrides: dict[str, float | int]


class KeyLimits(Model):
    project: str
    key: str
    limits: Limits
    # What the project (or key) sets itself, by name; the others take the default.
    overrides: dict[str, float | int]
    usage: KeyUsage


def _project_path(project: str) -> str:
    return f"/v1/admin/projects/{segment(project)}/limits"


def _key_path(project: str, key_id: str) -> str:
    return f"/v1/admin/projects/{segment(project)}/keys/{segment(key_id)}/limits"


def _changes(changes: dict[str, LimitValue]) -> dict[str, LimitValue]:
    unknown = sorted(set(changes) - set(LIMIT_NAMES))
    if unknown:
        raise TypeError(f"unknown limit {unknown[0]!r}; the limits are {', '.join(LIMIT_NAMES)}")
    return changes


def project_limits_call(project: str) -> Call[ProjectLimits]:
    return Call("GET", _project_path(project), parse_model(ProjectLimits))


def set_project_limits_call(project: str, changes: dict[str, LimitValue]) -> Call[ProjectLimits]:
    """``changes``: a number sets a limit, None returns it to the server's default."""
    return Call("PATCH", _project_path(project), parse_model(ProjectLimits),
                json=_changes(changes))


def key_limits_call(project: str, key_id: str) -> Call[KeyLimits]:
    return Call("GET", _key_path(project, key_id), parse_model(KeyLimits))


def set_key_limits_call(project: str, key_id: str,
                        changes: dict[str, LimitValue]) -> Call[KeyLimits]:
    """``changes``: a number sets a limit, None returns it to the project's."""
    return Call("PATCH", _key_path(project, key_id), parse_model(KeyLimits),
                json=_changes(changes))
