"""Setup as migrations, on both engines: steps run in order and once, the version is
recorded in the store, a lease serializes concurrent runs, a restored project gets its
indexes back, and a restarted process runs no index DDL on requests."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from baas.app import create_app
from baas.core import clock, migrations
from baas.core.migrations import Migration, MigrationError
from baas.core.platform import Platform
from baas.settings import Settings
from baas.store import Database, Engine, IndexSpec, create_engine
from tests.core.conftest import opened_platform

PASSWORD = "correct horse battery"


def counting_steps(calls: list[int], count: int = 3, pause: float = 0) -> list[Migration]:
    """Steps that record (in this process and in the store) that they ran."""

    def step(version: int) -> Any:
        async def apply(db: Database) -> None:
            calls.append(version)
            if pause:
                await asyncio.sleep(pause)
            await db.collection("step_log").insert({"id": secrets.token_hex(8),
                                                    "step": version})
        return apply

    return [Migration(v, f"step {v}", step(v)) for v in range(1, count + 1)]


async def runs_in_store(db: Database) -> list[int]:
    page = await db.collection("step_log").find(limit=1000)
    return sorted(int(d["step"]) for d in page.items)


async def test_steps_run_in_order_and_the_version_is_recorded(engine: Engine) -> None:
    db = engine.database("p_demo")
    calls: list[int] = []
    assert await migrations.version(db) == 0
    assert await migrations.migrate(db, counting_steps(calls)) == 3
    assert calls == [1, 2, 3]
    assert await migrations.version(db) == 3
    state = await db.collection(migrations.COLLECTION).get(migrations.STATE_ID)
    assert state is not None
    assert [a["version"] for a in state["applied"]] == [1, 2, 3]
    assert [a["name"] for a in state["applied"]] == ["step 1", "step 2", "step 3"]
    assert state["owner"] == "" and state["lease_until"] == ""  # released


async def test_a_rerun_runs_nothing_and_a_new_step_runs_alone(engine: Engine) -> None:
    db = engine.database("p_demo")
    calls: list[int] = []
    await migrations.migrate(db, counting_steps(calls))
    assert await migrations.migrate(db, counting_steps(calls)) == 3
    assert calls == [1, 2, 3]
    assert await migrations.migrate(db, counting_steps(calls, count=4)) == 4
    assert calls == [1, 2, 3, 4]
    assert await runs_in_store(db) == [1, 2, 3, 4]


async def test_steps_must_be_numbered_one_by_one() -> None:
    async def nothing(db: Database) -> None:
        return None

    with pytest.raises(MigrationError, match="expected 2"):
        migrations.check_steps([Migration(1, "a", nothing), Migration(3, "b", nothing)])
    migrations.check_steps(migrations.PLATFORM)
    migrations.check_steps(migrations.PROJECT)


async def test_a_failed_step_keeps_the_version_before_it_and_releases_the_lease(
        engine: Engine) -> None:
    db = engine.database("p_demo")
    calls: list[int] = []
    steps = counting_steps(calls)

    async def broken(db: Database) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        await migrations.migrate(db, [steps[0], Migration(2, "broken", broken), steps[2]])
    assert await migrations.version(db) == 1
    # Not locked out for a lease: the next start resumes at once from step 2.
    assert await migrations.migrate(db, steps) == 3
    assert calls == [1, 2, 3]


async def test_concurrent_runs_in_one_process_run_each_step_once(engine: Engine) -> None:
    db = engine.database("p_demo")
    calls: list[int] = []
    reached = await asyncio.gather(*(migrations.migrate(db, counting_steps(calls, pause=0.05))
                                     for _ in range(4)))
    assert reached == [3, 3, 3, 3]
    assert calls == [1, 2, 3]
    assert await runs_in_store(db) == [1, 2, 3]


async def test_a_lapsed_lease_is_taken_over_and_a_live_one_waited_for(engine: Engine) -> None:
    db = engine.database("p_demo")
    records = db.collection(migrations.COLLECTION)
    # A holder that died at step 1 (its lease ran out a while ago).
    await records.insert({"id": migrations.STATE_ID, "reached": 1, "owner": "dead:1:x",
                          "lease_until": clock.later_iso(-5), "applied": []})
    calls: list[int] = []
    assert await migrations.migrate(db, counting_steps(calls)) == 3
    assert calls == [2, 3]
    # A live holder: the caller waits, and finishes once the holder has gone.
    await records.find_one_and_update(
        migrations.held_by(""), {"owner": "alive:2:y", "lease_until": clock.later_iso(0.5)})
    started = asyncio.get_running_loop().time()
    assert await migrations.migrate(db, counting_steps(calls, count=4)) == 4
    assert asyncio.get_running_loop().time() - started >= 0.4
    assert calls == [2, 3, 4]


# -- the platform's own lists ---------------------------------------------------------


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    async with opened_platform(settings, argon2_time_cost=1) as made:
        yield made


async def index_names(db: Database, collection: str) -> set[str]:
    return {s.name for s in await db.collection(collection).indexes()}


async def test_open_and_project_creation_migrate_to_the_latest_version(
        platform: Platform) -> None:
    platform_db = platform.engine.database("platform")
    assert await migrations.version(platform_db) == migrations.latest(migrations.PLATFORM)
    assert "uniq_email_a" in await index_names(platform_db, "admins")
    assert "uniq_hash_a" in await index_names(platform_db, "keys")
    await platform.create_project("demo", None)
    db = platform.projects.database("demo")
    assert await migrations.version(db) == migrations.latest(migrations.PROJECT)
    assert "uniq_email_a" in await index_names(db, "users")
    assert "uniq_refresh_hash_a" in await index_names(db, "sessions")
    assert "uniq_current_a" in await index_names(db, "signing_keys")
    assert "ttl_expires_at_a" in await index_names(db, "idempotency_keys")
    assert "ttl_expires_at_a" in await index_names(db, "email_tokens")


async def test_a_restored_project_gets_its_indexes_back_at_start(
        platform: Platform, settings: Settings) -> None:
    await platform.create_project("demo", None)
    # Restored from a backup of only some of its data: its database is empty again.
    await platform.engine.drop_database("p_demo")
    db = platform.projects.database("demo")
    assert await migrations.version(db) == 0
    again = Platform(settings)
    await again.open(background=False)
    try:
        assert await migrations.version(db) == migrations.latest(migrations.PROJECT)
        assert "uniq_email_a" in await index_names(db, "users")
        # And the unique index does its work: one account per email.
        await again.accounts.sign_up("demo", "a@example.com", PASSWORD, None,
                                     ip="127.0.0.1", user_agent=None)
        with pytest.raises(Exception, match="already"):
            await again.accounts.sign_up("demo", "a@example.com", PASSWORD, None,
                                         ip="127.0.0.1", user_agent=None)
    finally:
        await again.close()


class Counting:
    """The real engine, with a note of every ``ensure_index`` that reaches it."""

    def __init__(self, inner: Any, calls: list[str]) -> None:
        self._inner = inner
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def database(self, name: str) -> Counting:
        return Counting(self._inner.database(name), self._calls)

    def collection(self, name: str) -> Counting:
        return Counting(self._inner.collection(name), self._calls)

    async def ensure_index(self, index: IndexSpec) -> None:
        self._calls.append(f"{self._inner.name}.{index.name}")
        await self._inner.ensure_index(index)


async def test_a_restarted_process_runs_no_index_ddl_on_requests(
        platform: Platform, settings: Settings) -> None:
    _, keys = await platform.create_project("demo", None)
    sk = {"apikey": next(k["secret"] for k in keys if k["kind"] == "secret")}
    pk = {"apikey": next(k["secret"] for k in keys if k["kind"] == "publishable")}
    await platform.collections.create("demo", {
        "name": "notes", "rules": {"create": "", "get": ""},
        "indexes": [{"fields": ["slug"], "unique": True}]})
    await platform.collections.drain()

    calls: list[str] = []
    restarted = Platform(settings.model_copy(update={"argon2_time_cost": 1}),
                         engine=Counting(create_engine(settings), calls))  # type: ignore[arg-type]
    app = create_app(restarted.settings, restarted)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://baas.test") as c:
            p = "/v1/projects/demo"
            signed = await c.post(f"{p}/auth/signup", headers=pk,
                                  json={"email": "a@example.com", "password": PASSWORD})
            assert signed.status_code == 201, signed.text
            made = await c.post(f"{p}/collections/notes/documents", json={"slug": "one"},
                                headers={**sk, "Idempotency-Key": "k1"})
            assert made.status_code == 201, made.text
            again = await c.post(f"{p}/collections/notes/documents", json={"slug": "one"},
                                 headers=sk)
            assert again.status_code == 409, again.text  # the unique index is there
            assert (await c.get(f"{p}/.well-known/jwks.json")).status_code == 200
        assert calls == []  # neither at start (all migrated) nor on any request
        # The count is live: a project created now is migrated here, with its DDL.
        await restarted.create_project("other", None)
        assert any(call.startswith("users.") for call in calls)
