"""Usage plans: the request rates, bursts and daily quota of a project and of each key.

A plan is the settings' defaults, overridden field by field by the project's record, then by
the key's. Records live in the platform database (``usage_plans``, ids ``project:<id>`` and
``key:<id>``); each process reuses what it read for ``cache_seconds``, like API keys."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace
from typing import Any

from baas.core.errors import BadRequest
from baas.settings import Settings
from baas.store import Database, DuplicateKeyError, IndexSpec, eq

# name -> (kind, smallest, largest); 0 turns a rate or the quota off.
LIMITS: dict[str, tuple[type, float, float]] = {
    "key_rate": (float, 0, 1_000_000),
    "key_burst": (int, 1, 10_000_000),
    "address_rate": (float, 0, 1_000_000),
    "address_burst": (int, 1, 10_000_000),
    "daily_quota": (int, 0, 10**12),
}
CACHED_PLANS = 10_000


@dataclass(frozen=True, slots=True)
class Plan:
    """Requests per second and burst per key and per client address; requests per UTC day
    per key. A rate or quota of 0 is no limit."""

    key_rate: float
    key_burst: int
    address_rate: float
    address_burst: int
    daily_quota: int

    @classmethod
    def defaults(cls, settings: Settings) -> Plan:
        return cls(settings.key_rate, settings.key_burst, settings.address_rate,
                   settings.address_burst, settings.daily_quota)

    def with_overrides(self, overrides: dict[str, Any]) -> Plan:
        return replace(self, **{k: v for k, v in overrides.items() if k in LIMITS})

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def check_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes as stored: known names, numbers in range, None to clear a field."""
    if not changes:
        raise BadRequest(f"name at least one limit to change: {', '.join(LIMITS)}",
                         code="invalid_limit")
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in LIMITS:
            raise BadRequest(f"unknown limit {name!r}; the limits are {', '.join(LIMITS)}",
                             code="invalid_limit", details={"field": name})
        if value is None:
            checked[name] = None
            continue
        kind, low, high = LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                kind is int and not float(value).is_integer()):
            raise BadRequest(f"{name} must be {'an integer' if kind is int else 'a number'}",
                             code="invalid_limit", details={"field": name})
        if not low <= value <= high:
            raise BadRequest(f"{name} must be between {low:g} and {high:g} (or null for the "
                             "default)", code="invalid_limit", details={"field": name})
        checked[name] = kind(value)
    return checked


async def create_indexes(platform_db: Database) -> None:
    """Migration step (see ``baas.core.migrations``)."""
    await platform_db.collection("usage_plans").ensure_index(IndexSpec((("project", 1),)))


class Plans:
    def __init__(self, platform_db: Database, defaults: Plan, cache_seconds: float = 0) -> None:
        self.records = platform_db.collection("usage_plans")
        self.defaults = defaults
        self.cache_seconds = cache_seconds
        # (project, key id) -> (read until, plan): a plain dict, not a TTLCache, whose
        # lookup cost 10 times more (3 us) on the path of every request.
        self._known: dict[tuple[str, str | None], tuple[float, Plan]] = {}

    def cached(self, project: str, key_id: str | None) -> Plan | None:
        """The plan this process read lately, if any (no await on the hot path)."""
        hit = self._known.get((project, key_id))
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    async def plan(self, project: str, key_id: str | None) -> Plan:
        """The plan in force for requests with ``key_id`` (None: the project's own)."""
        found = self.cached(project, key_id)
        if found is not None:
            return found
        plan = self.defaults.with_overrides(await self.overrides("project", project))
        if key_id is not None:
            plan = plan.with_overrides(await self.overrides("key", key_id))
        if self.cache_seconds > 0:
            if len(self._known) >= CACHED_PLANS:
                self._known.clear()
            self._known[(project, key_id)] = (time.monotonic() + self.cache_seconds, plan)
        return plan

    async def overrides(self, scope: str, id: str) -> dict[str, Any]:
        record = await self.records.get(f"{scope}:{id}")
        if record is None:
            return {}
        return {k: record[k] for k in LIMITS if record.get(k) is not None}

    async def change(self, project: str, scope: str, id: str,
                     changes: dict[str, Any]) -> dict[str, Any]:
        """Set (a number) or clear (None) fields of a project's or key's record; the
        overrides that remain."""
        checked = check_changes(changes)
        record_id = f"{scope}:{id}"
        current = await self.overrides(scope, id)
        current.update(checked)
        kept = {k: v for k, v in current.items() if v is not None}
        fields = {"project": project, **{k: kept.get(k) for k in LIMITS}}
        if await self.records.update(record_id, fields) is None:
            try:
                await self.records.insert({"id": record_id, **fields})
            except DuplicateKeyError:  # created meanwhile by another request
                await self.records.update(record_id, fields)
        self.forget()
        return kept

    async def delete_project(self, project: str) -> None:
        await self.records.delete_many(eq("project", project))
        self.forget()

    def forget(self) -> None:
        self._known.clear()
