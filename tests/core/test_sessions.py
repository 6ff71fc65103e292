"""Sessions and refresh tokens in the store, on both engines: lifetimes, rotation,
reuse detection and revocation."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from baas.core import clock
from baas.core.auth import sessions as sessions_module
from baas.core.auth.sessions import Sessions
from baas.core.errors import Unauthorized
from baas.store import Engine


def make(engine: Engine, idle: int = 300, absolute: int = 900) -> Sessions:
    return Sessions(engine.database("p_demo"), idle, absolute)


async def test_lifetimes_idle_capped_by_absolute(engine: Engine) -> None:
    sessions = make(engine)
    await sessions_module.create_indexes(engine.database("p_demo"))
    record, token = await sessions.start("usr_1", user_agent="x" * 1000, ip="192.0.2.1")
    created = clock.parse(record["created_at"])
    assert record["expires_at"] == record["idle_expires_at"]
    assert abs((clock.parse(record["idle_expires_at"]) - created).total_seconds() - 300) < 2
    assert abs((clock.parse(record["absolute_expires_at"]) - created).total_seconds() - 900) < 1
    assert len(record["user_agent"]) == 256 and "refresh_hash" in record
    assert token not in str(record)  # only the hash is stored
    # Near the absolute end, a refresh cannot extend the session past it.
    old = clock.iso(clock.now() - timedelta(seconds=800))
    await sessions.records.update(record["id"], {"created_at": old})
    rotated, _ = await sessions.rotate(token)
    assert rotated["expires_at"] == rotated["absolute_expires_at"]
    assert clock.parse(rotated["expires_at"]) < clock.now() + timedelta(seconds=101)


async def test_expired_session_cannot_refresh(engine: Engine) -> None:
    sessions = make(engine)
    await sessions_module.create_indexes(engine.database("p_demo"))
    record, token = await sessions.start("usr_1", user_agent=None, ip=None)
    await sessions.records.update(record["id"], {"expires_at": clock.iso(
        clock.now() - timedelta(seconds=1))})
    with pytest.raises(Unauthorized) as caught:
        await sessions.rotate(token)
    assert caught.value.code == "session_expired"
    assert await sessions.get(record["id"]) is None
    assert await sessions.records.get(record["id"]) is None  # removed, not just refused


async def test_reuse_revokes_the_family_and_races_spend_once(engine: Engine) -> None:
    sessions = make(engine)
    await sessions_module.create_indexes(engine.database("p_demo"))
    record, first = await sessions.start("usr_1", user_agent=None, ip=None)
    _, second = await sessions.rotate(first)
    with pytest.raises(Unauthorized) as caught:
        await sessions.rotate(first)
    assert caught.value.code == "refresh_token_reused"
    assert await sessions.get(record["id"]) is None
    with pytest.raises(Unauthorized):
        await sessions.rotate(second)
    # Ten concurrent refreshes of one token: at most one wins.
    _, token = await sessions.start("usr_1", user_agent=None, ip=None)
    results = await asyncio.gather(*[sessions.rotate(token) for _ in range(10)],
                                   return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) <= 1
    assert all(isinstance(r, Unauthorized | tuple) for r in results)


async def test_revoke_user_keeps_one(engine: Engine) -> None:
    sessions = make(engine)
    await sessions_module.create_indexes(engine.database("p_demo"))
    keep, _ = await sessions.start("usr_1", user_agent=None, ip=None)
    await asyncio.sleep(0.002)  # ids order by millisecond
    await sessions.start("usr_1", user_agent=None, ip=None)
    other, _ = await sessions.start("usr_2", user_agent=None, ip=None)
    assert [s["id"] for s in await sessions.list("usr_1")][-1] == keep["id"]  # newest first
    assert await sessions.revoke_user("usr_1", keep=keep["id"]) == 1
    assert [s["id"] for s in await sessions.list("usr_1")] == [keep["id"]]
    assert [s["id"] for s in await sessions.list("usr_2")] == [other["id"]]
