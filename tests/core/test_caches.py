"""What a process reuses without reading (API keys, collection definitions, verified
tokens): a change through the same process applies at once, one through another
process (two instances on one store stand in for two workers) within cache_seconds."""

from __future__ import annotations

import asyncio

import pytest

from baas.core import migrations
from baas.core.data.collections import CollectionDefs
from baas.core.errors import Unauthorized
from baas.core.tenancy.keys import Keys
from baas.store import Engine

TTL = 0.5


async def test_a_key_revoked_here_is_refused_at_once(engine: Engine) -> None:
    keys = Keys(engine.database("platform"), cache_seconds=60)
    await migrations.migrate(engine.database("platform"), migrations.PLATFORM)
    made = await keys.create("demo", "publishable", None, None)
    assert (await keys.authenticate("demo", made["secret"])).id == made["id"]
    await keys.revoke("demo", made["id"])
    with pytest.raises(Unauthorized) as err:
        await keys.authenticate("demo", made["secret"])
    assert err.value.code == "key_revoked"


async def test_a_key_revoked_elsewhere_is_refused_within_the_cache_time(engine: Engine) -> None:
    here = Keys(engine.database("platform"), cache_seconds=TTL)
    there = Keys(engine.database("platform"), cache_seconds=TTL)
    await migrations.migrate(engine.database("platform"), migrations.PLATFORM)
    made = await here.create("demo", "secret", None, None)
    assert (await here.authenticate("demo", made["secret"])).kind == "secret"
    await there.revoke("demo", made["id"])
    # Reused for now (no read)...
    assert (await here.authenticate("demo", made["secret"])).kind == "secret"
    await asyncio.sleep(TTL + 0.1)
    # ...and read again once the time is up.
    with pytest.raises(Unauthorized) as err:
        await here.authenticate("demo", made["secret"])
    assert err.value.code == "key_revoked"
    # The reused record still answers only for its own project, and wrong keys still fail.
    other = await here.create("demo", "publishable", None, None)
    await here.authenticate("demo", other["secret"])
    with pytest.raises(Unauthorized):
        await here.authenticate("elsewhere", other["secret"])
    with pytest.raises(Unauthorized):
        await here.authenticate("demo", other["secret"][:-1] + "x")


async def test_no_cache_reads_every_time(engine: Engine) -> None:
    here = Keys(engine.database("platform"), cache_seconds=0)
    there = Keys(engine.database("platform"), cache_seconds=0)
    await migrations.migrate(engine.database("platform"), migrations.PLATFORM)
    made = await here.create("demo", "publishable", None, None)
    await here.authenticate("demo", made["secret"])
    await there.revoke("demo", made["id"])
    with pytest.raises(Unauthorized):
        await here.authenticate("demo", made["secret"])


async def test_definitions_changed_elsewhere_apply_within_the_cache_time(engine: Engine) -> None:
    def database(project: str):  # type: ignore[no-untyped-def]
        return engine.database("p_" + project)

    here = CollectionDefs(database, cache_seconds=TTL)
    there = CollectionDefs(database, cache_seconds=TTL)
    await here.create("demo", {"name": "posts", "rules": {"get": "@auth.id != null"}})
    assert (await here.get("demo", "posts")).rules["get"].text == "@auth.id != null"
    await there.update("demo", "posts", {"rules": {"get": "owner = @auth.id"}})
    # At once in the process that made the change; the other reuses its copy for now.
    assert (await there.get("demo", "posts")).rules["get"].text == "owner = @auth.id"
    assert (await here.get("demo", "posts")).rules["get"].text == "@auth.id != null"
    # A change made here starts from the stored version, not the reused one.
    await here.update("demo", "posts", {"rules": {"list": "owner = @auth.id"}})
    got = await here.get("demo", "posts")
    assert got.rules["get"].text == got.rules["list"].text == "owner = @auth.id"
    await asyncio.sleep(TTL + 0.1)
    assert (await there.get("demo", "posts")).rules["list"].text == "owner = @auth.id"
    # A drop elsewhere: found missing once the time is up.
    await there.delete("demo", "posts")
    await asyncio.sleep(TTL + 0.1)
    with pytest.raises(Exception) as err:
        await here.get("demo", "posts")
    assert getattr(err.value, "code", None) == "collection_not_found"
    await here.drain()
    await there.drain()
