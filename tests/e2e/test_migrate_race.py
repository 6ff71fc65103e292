"""Two processes that start together on one store migrate once: each step runs in one
of them, the other waits for it, and both end at the latest version. On SQLite (one
data folder) and on MongoDB (one server, the stand-in unless BAAS_TEST_MONGODB_URL)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from baas.core import migrations
from baas.settings import Settings
from baas.store import create_engine
from tests.conftest import make_settings

STEP_SECONDS = 0.4

# One process of the race: wait for the common start time, then run three counting steps
# on p_race and open a real Platform (the platform and project lists) at the same time.
CHILD = """
import asyncio, json, os, secrets, sys, time
from baas.core import migrations
from baas.core.migrations import Migration
from baas.core.platform import Platform
from baas.settings import load_settings
from baas.store import create_engine

values, start_at, pause = json.loads(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
ran = []

def step(version):
    async def apply(db):
        ran.append(version)
        await db.collection("step_log").insert(
            {"id": secrets.token_hex(8), "step": version, "pid": os.getpid()})
        await asyncio.sleep(pause)
    return apply

async def main():
    settings = load_settings(**values)
    engine = create_engine(settings)
    await engine.open()
    platform = Platform(settings)
    steps = [Migration(v, f"step {v}", step(v)) for v in (1, 2, 3)]
    time.sleep(max(0.0, start_at - time.time()))
    started = time.monotonic()
    reached, _ = await asyncio.gather(
        migrations.migrate(engine.database("p_race"), steps),
        platform.open(background=False))
    elapsed = time.monotonic() - started
    await platform.close()
    await engine.close()
    print(json.dumps({"reached": reached, "ran": ran, "elapsed": elapsed}))

asyncio.run(main())
"""


@pytest.mark.parametrize("engine_kind", ["sqlite", "mongodb"])
def test_two_processes_starting_together_migrate_once(
        engine_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    settings = make_settings(engine_kind, tmp_path, request)
    values = {"data_dir": str(settings.data_dir), "log_level": "warning"}
    if settings.mongodb_url:
        values.update(mongodb_url=settings.mongodb_url,
                      mongodb_db_prefix=settings.mongodb_db_prefix)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    start_at = time.time() + 4  # both have imported everything by then
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(values), str(start_at),
                               str(STEP_SECONDS)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(2)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        results.append(json.loads(out.decode().strip().splitlines()[-1]))

    assert [r["reached"] for r in results] == [3, 3]
    assert sorted(len(r["ran"]) for r in results) == [0, 3]  # one ran every step
    winner, loser = sorted(results, key=lambda r: -len(r["ran"]))
    assert winner["ran"] == [1, 2, 3]
    # The loser overlapped the winner's work and waited for it, rather than skipping it.
    assert loser["elapsed"] > STEP_SECONDS
    asyncio.run(check_store(settings))


async def check_store(settings: Settings) -> None:
    """What the store holds: each step logged once, by one process, and the platform's
    own steps applied once."""
    engine = create_engine(settings)
    await engine.open()
    try:
        logged = (await engine.database("p_race").collection("step_log").find(limit=100)).items
        assert sorted(d["step"] for d in logged) == [1, 2, 3]
        assert len({d["pid"] for d in logged}) == 1
        platform_db = engine.database("platform")
        state = await platform_db.collection(migrations.COLLECTION).get(migrations.STATE_ID)
        assert state is not None and state["reached"] == migrations.latest(migrations.PLATFORM)
        assert [a["version"] for a in state["applied"]] == [
            m.version for m in migrations.PLATFORM]
    finally:
        if engine.kind == "mongodb":
            for name in await engine.databases():
                await engine.drop_database(name)
        await engine.close()
