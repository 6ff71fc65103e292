"""Several processes on one data folder (``baas serve --workers N``): two SQLiteEngine
instances on the same files stand in for two processes, each with its own
connections and metadata. What one changes (tables, indexes, TTL, feeds, dropped
databases), the other must see at once."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from baas.store import DuplicateKeyError, IndexSpec, Insert, eq
from baas.store.base import Change
from baas.store.sqlite import SQLiteEngine

Pair = tuple[SQLiteEngine, SQLiteEngine]


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    a, b = SQLiteEngine(tmp_path, readers=2), SQLiteEngine(tmp_path, readers=2)
    await a.open()
    await b.open()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_a_collection_made_in_one_process_is_read_in_the_other(pair: Pair) -> None:
    a, b = pair
    # B opens the file and looks first, so it has seen the collection missing.
    assert await b.database("p_x").collection("posts").get("p1") is None
    assert await b.database("p_x").collections() == []
    await a.database("p_x").collection("posts").insert({"id": "p1", "n": 1})
    posts = b.database("p_x").collection("posts")
    assert await posts.get("p1") == {"id": "p1", "n": 1, "version": 1}
    assert [d["id"] for d in (await posts.find(eq("n", 1))).items] == ["p1"]
    assert await posts.count() == 1
    assert await b.database("p_x").collections() == ["posts"]
    # B writes to it as well (its writer learns the table exists), and A sees that.
    await posts.insert({"id": "p2", "n": 2})
    assert await posts.update("p1", {"n": 3}) is not None
    assert await a.database("p_x").collection("posts").count(eq("n", 3)) == 1
    assert await a.database("p_x").collection("posts").count() == 2


async def test_a_collection_dropped_in_one_process_is_empty_in_the_other(pair: Pair) -> None:
    a, b = pair
    a_posts = a.database("p_x").collection("posts")
    b_posts = b.database("p_x").collection("posts")
    await a_posts.insert({"id": "p1"})
    await b_posts.insert({"id": "p2"})  # B's metadata now has the table
    assert await b_posts.count() == 2

    await a.database("p_x").drop_collection("posts")
    assert await b_posts.get("p1") is None
    assert (await b_posts.find()).items == []
    assert await b_posts.count() == 0
    assert await b_posts.update("p2", {"n": 1}) is None
    assert await b_posts.delete("p2") is False
    assert await b.database("p_x").collections() == []

    # B's writer recreates the table it no longer has, and A reads the new document.
    await b_posts.insert({"id": "p3"})
    assert [d["id"] for d in (await a_posts.find()).items] == ["p3"]
    await b.database("p_x").batch([Insert("posts", {"id": "p4"})])
    assert await a_posts.count() == 2


async def test_an_index_made_in_one_process_is_enforced_and_named_in_the_other(
        pair: Pair) -> None:
    a, b = pair
    b_users = b.database("p_x").collection("users")
    await b_users.insert({"id": "u1", "email": "one@x", "team": "t", "seat": 1})
    a_users = a.database("p_x").collection("users")
    await a_users.ensure_index(IndexSpec((("email", 1),), unique=True))
    await a_users.ensure_index(IndexSpec((("team", 1), ("seat", 1)), unique=True))

    with pytest.raises(DuplicateKeyError) as err:
        await b_users.insert({"id": "u2", "email": "one@x"})
    assert err.value.fields == ("email",)
    await b_users.insert({"id": "u2", "email": "two@x", "team": "t", "seat": 2})
    with pytest.raises(DuplicateKeyError) as err:
        await b_users.update("u2", {"seat": 1})
    assert err.value.fields == ("team", "seat")
    assert [i.name for i in await b_users.indexes()] == [
        "uniq_email_a", "uniq_team_a_seat_a"]

    # Dropped in A: B lets the duplicate in.
    assert await a_users.drop_index("uniq_email_a") is True
    await b_users.insert({"id": "u3", "email": "one@x"})
    assert await a_users.count(eq("email", "one@x")) == 2


async def test_a_ttl_index_made_in_one_process_is_swept_by_the_other(pair: Pair) -> None:
    a, b = pair
    b_db = b.database("p_x")
    assert await b_db.sweep_expired("2026-01-01T00:00:00.000000Z") == 0  # B opened it
    tokens = a.database("p_x").collection("tokens")
    await tokens.ensure_index(IndexSpec((("expires_at", 1),), ttl=True))
    await tokens.insert({"id": "old", "expires_at": "2020-01-01T00:00:00.000000Z"})
    await tokens.insert({"id": "new", "expires_at": "2999-01-01T00:00:00.000000Z"})
    assert await b_db.sweep_expired("2026-01-01T00:00:00.000000Z") == 1
    assert [d["id"] for d in (await tokens.find()).items] == ["new"]


async def test_a_feed_opened_in_one_process_records_the_others_writes(pair: Pair) -> None:
    a, b = pair
    a_posts = a.database("p_x").collection("posts")
    await a_posts.insert({"id": "before"})  # A's metadata is loaded, without the feed
    await b.database("p_x").record_changes("posts")  # what B's watch() does first
    await a_posts.insert({"id": "e1"})
    await a_posts.update("e1", {"n": 1})
    await a_posts.delete("e1")
    seen: list[Change] = []
    async with asyncio.timeout(10):  # B polls the table: nothing in A wakes it
        async for change in b.database("p_x").collection("posts").watch(after="0"):
            seen.append(change)
            if len(seen) == 3:
                break
    assert [(c.op, c.id) for c in seen] == [
        ("insert", "e1"), ("update", "e1"), ("delete", "e1")]


async def test_a_database_dropped_in_one_process_is_reopened_by_the_other(
        pair: Pair) -> None:
    a, b = pair
    await a.database("p_x").collection("posts").insert({"id": "old"})
    b_posts = b.database("p_x").collection("posts")
    assert await b_posts.get("old") is not None  # B has the file open

    await a.drop_database("p_x")
    # B's connections still point at the unlinked file: it was emptied and marked.
    assert await b_posts.get("old") is None
    assert await b.database("p_x").collections() == []

    # Recreated (a project deleted and created again under the same id): B reads and
    # writes the new file, not the old one.
    await a.database("p_x").collection("posts").insert({"id": "new"})
    assert await b_posts.get("new") is not None
    assert await b_posts.count() == 1
    await b_posts.insert({"id": "from-b"})
    await b.database("p_x").collection("posts").ensure_index(IndexSpec((("n", 1),)))
    a_posts = a.database("p_x").collection("posts")
    assert sorted(d["id"] for d in (await a_posts.find()).items) == ["from-b", "new"]
    assert [i.name for i in await a_posts.indexes()] == ["ix_n_a"]


async def test_a_database_dropped_in_one_process_accepts_the_others_writes(
        pair: Pair) -> None:
    a, b = pair
    await a.database("p_x").collection("posts").insert({"id": "old"})
    b_posts = b.database("p_x").collection("posts")
    await b_posts.insert({"id": "b-old"})
    await a.drop_database("p_x")
    # B's first write after the drop lands in a new file at the path, as in one process.
    await b_posts.insert({"id": "b-new"})
    assert [d["id"] for d in (await a.database("p_x").collection("posts").find()).items
            ] == ["b-new"]


async def test_a_rolled_back_table_is_forgotten(pair: Pair) -> None:
    a, b = pair
    db = a.database("p_x")
    with pytest.raises(Exception):  # noqa: B017 - any failure rolls the batch back
        await db.batch([Insert("fresh", {"id": "f1"}), Insert("fresh", {"id": "f1"})])
    assert await db.collections() == []
    await db.collection("fresh").insert({"id": "f1"})  # the table is created again
    assert await b.database("p_x").collection("fresh").count() == 1


def _writer_process(root: str, name: str, start: Any, rounds: int) -> None:
    async def run() -> None:
        engine = SQLiteEngine(Path(root), readers=1)
        await engine.open()
        for r in range(rounds):
            start.wait(30)  # every process opens the same new file at the same moment
            coll = engine.database(f"p_mp{r}").collection("items")
            await coll.ensure_index(IndexSpec((("k", 1),), unique=True))
            for i in range(10):
                await coll.insert({"id": f"{name}-{i}", "k": f"{name}-{i}"})
        await engine.close()

    asyncio.run(run())


async def test_real_processes_create_the_same_files_and_collections(tmp_path: Path) -> None:
    """Processes open new files and create the same collection and index at once."""
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(3)
    procs = [spawn.Process(target=_writer_process, args=(str(tmp_path), n, start, 5))
             for n in ("a", "b", "c")]
    for proc in procs:
        proc.start()
    for proc in procs:
        await asyncio.to_thread(proc.join, 60)
        assert proc.exitcode == 0
    engine = SQLiteEngine(tmp_path)
    await engine.open()
    try:
        for r in range(5):
            items = engine.database(f"p_mp{r}").collection("items")
            assert await items.count() == 30
            with pytest.raises(DuplicateKeyError):
                await items.insert({"id": "x", "k": "a-1"})
    finally:
        await engine.close()
