"""Setup as migrations: the collections and indexes the platform and every project need.

Two ordered lists, ``PLATFORM`` (the platform database) and ``PROJECT`` (each project's
database), of numbered steps. Each database records the version it has reached in its
``migrations`` collection (one record, ``state``: ``reached``, the steps ``applied``
and the lease), so a process that starts only reads
that record, and a database that is older or empty (restored from an old backup, or
dropped) gets exactly the steps it lacks.

Two processes starting together migrate once: the one that claims the record's lease
(an atomic find-and-update on "lease lapsed") runs the steps, renewing the lease while
it works; the others poll until the version is reached, or take over once a lease lapses
(its holder died). Steps must be idempotent (``ensure_index`` is): a holder that dies in
the middle of a step leaves the step to run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from baas.core import clock
from baas.core.auth import onetime, sessions, tokens, users
from baas.core.data import idempotency
from baas.core.tenancy import admins, keys
from baas.core.usage import counters, plans
from baas.store import And, Cmp, Database, DuplicateKeyError, Filter, eq

log = logging.getLogger("baas.migrations")

COLLECTION = "migrations"
STATE_ID = "state"
LEASE_SECONDS = 30.0
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Migration:
    """One step: ``apply`` brings a database from ``version - 1`` to ``version``."""

    version: int
    name: str
    apply: Callable[[Database], Awaitable[None]]


PLATFORM: tuple[Migration, ...] = (
    Migration(1, "admins and admin tokens", admins.create_indexes),
    Migration(2, "project API keys", keys.create_indexes),
    Migration(3, "usage plans and shared request counts", plans.create_indexes),
    Migration(4, "expiry of shared request counts", counters.create_indexes),
)

PROJECT: tuple[Migration, ...] = (
    Migration(1, "users", users.create_indexes),
    Migration(2, "sessions and spent refresh tokens", sessions.create_indexes),
    Migration(3, "one-time email tokens", onetime.create_indexes),
    Migration(4, "signing keys", tokens.create_indexes),
    Migration(5, "idempotency keys", idempotency.create_indexes),
)


class MigrationError(Exception):
    """A list of steps that cannot run, or a lease lost while running them."""


def check_steps(steps: Sequence[Migration]) -> None:
    """Versions are 1, 2, 3, ... in order: a gap or a repeat is a programming error."""
    for position, step in enumerate(steps, start=1):
        if step.version != position:
            raise MigrationError(f"migration {step.name!r} has version {step.version}; "
                                 f"expected {position}")


def held_by(owner: str) -> Filter:
    return And((eq("id", STATE_ID), eq("owner", owner)))


def latest(steps: Sequence[Migration]) -> int:
    return steps[-1].version if steps else 0


def new_owner() -> str:
    """Who holds a lease: readable in the record, unique per call."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


async def version(db: Database) -> int:
    """The version ``db`` has reached (0 when it was never migrated)."""
    state = await db.collection(COLLECTION).get(STATE_ID)
    return int(state["reached"]) if state is not None else 0


async def migrate(db: Database, steps: Sequence[Migration], *,
                  lease: float = LEASE_SECONDS) -> int:
    """Bring ``db`` to the last step's version, running each missing step once across
    every process that calls this at the same time; returns the version reached."""
    check_steps(steps)
    target = latest(steps)
    records = db.collection(COLLECTION)
    owner = new_owner()
    while True:
        state = await records.get(STATE_ID)
        if state is None:
            with contextlib.suppress(DuplicateKeyError):  # another process made it first
                await records.insert({"id": STATE_ID, "reached": 0, "owner": "",
                                      "lease_until": "", "applied": []})
            continue
        if int(state["reached"]) >= target:
            return int(state["reached"])
        claimed = await records.find_one_and_update(
            And((eq("id", STATE_ID), Cmp("<", "lease_until", clock.now_iso()))),
            {"owner": owner, "lease_until": clock.later_iso(lease)})
        if claimed is None:  # another process holds a live lease: wait for its work
            await asyncio.sleep(POLL_SECONDS)
            continue
        try:
            return await _run(db, claimed, steps, owner, lease)
        finally:
            await records.find_one_and_update(
                held_by(owner),
                {"owner": "", "lease_until": ""})


async def _run(db: Database, state: dict[str, Any], steps: Sequence[Migration], owner: str,
               lease: float) -> int:
    records = db.collection(COLLECTION)
    reached = int(state["reached"])
    applied: list[dict[str, Any]] = list(state.get("applied") or [])
    for step in steps:
        if step.version <= reached:
            continue
        async with _renewing(db, owner, lease):
            await step.apply(db)
        applied.append({"version": step.version, "name": step.name, "at": clock.now_iso()})
        saved = await records.find_one_and_update(
            held_by(owner),
            {"reached": step.version, "applied": applied, "lease_until": clock.later_iso(lease)})
        if saved is None:
            raise MigrationError(f"lost the migration lease of {db.name} during step "
                                 f"{step.version} ({step.name}); is a step slower than "
                                 f"{lease:g} s, or the clocks of two nodes apart?")
        reached = step.version
        log.info("migrated", extra={"database": db.name, "version": step.version,
                                    "step": step.name})
    return reached


@contextlib.asynccontextmanager
async def _renewing(db: Database, owner: str, lease: float) -> AsyncIterator[None]:
    """Keep the lease alive while one step runs (an index build can take a while)."""
    records = db.collection(COLLECTION)

    async def renew() -> None:
        while True:
            await asyncio.sleep(lease / 3)
            await records.find_one_and_update(
                held_by(owner),
                {"lease_until": clock.later_iso(lease)})

    task = asyncio.create_task(renew(), name=f"migration lease {db.name}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
