"""The store contract, run against both engines."""

from __future__ import annotations

import asyncio

import pytest

from baas.store import (
    And,
    BatchFailed,
    Cmp,
    Delete,
    DuplicateKeyError,
    Engine,
    In,
    IndexSpec,
    Insert,
    InvalidDocument,
    InvalidQuery,
    Or,
    Update,
    eq,
    matches,
)

PEOPLE = [
    {"id": "a", "name": "ann", "age": 31, "city": {"name": "oslo"}, "tags": ["x"]},
    {"id": "b", "name": "bob", "age": 25, "city": {"name": "rome"}},
    {"id": "c", "name": "cy", "age": "25", "city": None},
    {"id": "d", "name": "dee", "age": 40.5, "active": True},
    {"id": "e", "name": "eve", "age": None, "active": False, "tags": [25]},
    {"id": "f", "name": "fay", "age": [25]},
]


async def seed(engine: Engine, name: str = "people") -> None:
    coll = engine.database("proj").collection(name)
    for person in PEOPLE:
        await coll.insert(dict(person))


async def test_insert_get_and_version(engine: Engine) -> None:
    coll = engine.database("proj").collection("things")
    stored = await coll.insert({"id": "x1", "n": 1, "nested": {"a": [1, 2]}})
    assert stored["version"] == 1
    assert await coll.get("x1") == {"id": "x1", "n": 1, "nested": {"a": [1, 2]}, "version": 1}
    assert await coll.get("missing") is None
    with pytest.raises(DuplicateKeyError) as err:
        await coll.insert({"id": "x1"})
    assert err.value.fields == ("id",)
    with pytest.raises(InvalidDocument):
        await coll.insert({"n": 1})
    with pytest.raises(InvalidDocument):
        await coll.insert({"id": "nan", "n": float("nan")})
    assert await coll.get("nan") is None


async def test_unknown_collection_reads_are_empty(engine: Engine) -> None:
    coll = engine.database("proj").collection("never")
    assert await coll.get("x") is None
    assert (await coll.find()).items == []
    assert await coll.count() == 0
    assert await coll.delete("x") is False


FILTER_CASES = [
    (eq("age", 25), {"b"}),
    (eq("age", "25"), {"c"}),
    (eq("age", None), {"e"}),
    (Cmp("!=", "age", None), {"a", "b", "c", "d", "f"}),
    (Cmp(">", "age", 30), {"a", "d"}),
    (Cmp(">=", "age", 25), {"a", "b", "d"}),
    (Cmp("<", "age", 100), {"a", "b", "d"}),
    (Cmp("!=", "age", 25), {"a", "d"}),
    (Cmp(">", "name", "c"), {"c", "d", "e", "f"}),
    (eq("active", True), {"d"}),
    (eq("active", False), {"e"}),
    (Cmp("!=", "active", True), {"e"}),
    (eq("city.name", "oslo"), {"a"}),
    (eq("city", None), {"c", "d", "e", "f"}),
    (eq("id", "b"), {"b"}),
    (In("age", (25, "25", None)), {"b", "c", "e"}),
    (In("id", ("a", "z")), {"a"}),
    (And((Cmp(">=", "age", 25), Cmp("<", "age", 35))), {"a", "b"}),
    (Or((eq("name", "ann"), eq("active", False))), {"a", "e"}),
    (Or(()), set()),
    (And(()), {"a", "b", "c", "d", "e", "f"}),
]


@pytest.mark.parametrize("flt,expected", FILTER_CASES,
                         ids=[str(i) for i in range(len(FILTER_CASES))])
async def test_filter_semantics_agree_with_python(engine: Engine, flt, expected) -> None:
    await seed(engine)
    coll = engine.database("proj").collection("people")
    found = {doc["id"] for doc in (await coll.find(flt)).items}
    by_python = {p["id"] for p in PEOPLE if matches(flt, p)}
    assert by_python == expected
    assert found == expected
    assert await coll.count(flt) == len(expected)


async def test_sort_limit_and_keyset_cursor(engine: Engine) -> None:
    coll = engine.database("proj").collection("items")
    for i in range(23):
        await coll.insert({"id": f"i{i:02d}", "group": i % 3, "n": i})
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await coll.find(Cmp(">=", "n", 2), sort=[("group", 1), ("n", -1)], limit=5,
                               cursor=cursor)
        seen.extend(doc["id"] for doc in page.items)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    rows = [{"id": f"i{i:02d}", "group": i % 3, "n": i} for i in range(23)]
    expected = sorted((d for d in rows if d["n"] >= 2), key=lambda d: (d["group"], -d["n"]))
    assert seen == [d["id"] for d in expected]
    assert pages == 5
    # A descending sort with a cursor, and an insert between pages, skips nothing.
    first = await coll.find(sort=[("n", -1)], limit=10)
    assert [d["n"] for d in first.items] == list(range(22, 12, -1))
    await coll.insert({"id": "i99", "group": 0, "n": -1})
    second = await coll.find(sort=[("n", -1)], limit=100, cursor=first.next_cursor)
    assert [d["n"] for d in second.items] == list(range(12, -2, -1))
    assert second.next_cursor is None


async def test_cursor_with_missing_sort_values(engine: Engine) -> None:
    coll = engine.database("proj").collection("gaps")
    for i in range(6):
        await coll.insert({"id": f"g{i}", **({"rank": i} if i % 2 else {})})
    ids: list[str] = []
    cursor = None
    for _ in range(10):
        page = await coll.find(sort=[("rank", 1)], limit=2, cursor=cursor)
        ids += [d["id"] for d in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert ids == ["g0", "g2", "g4", "g1", "g3", "g5"]


async def test_bad_cursor_and_paths_are_refused(engine: Engine) -> None:
    coll = engine.database("proj").collection("items")
    await coll.insert({"id": "x"})
    with pytest.raises(InvalidQuery):
        await coll.find(cursor="not-a-cursor!!", limit=1)
    with pytest.raises(InvalidQuery):
        await coll.find(sort=[("a'); DROP TABLE x; --", 1)])
    with pytest.raises(InvalidQuery):
        await coll.find(eq("$where", 1))


async def test_offset_and_projection(engine: Engine) -> None:
    await seed(engine)
    coll = engine.database("proj").collection("people")
    page = await coll.find(sort=[("name", 1)], limit=2, offset=2, fields=["name", "city.name"])
    assert page.items == [{"id": "c", "name": "cy"}, {"id": "d", "name": "dee"}]
    page = await coll.find(eq("id", "a"), fields=["city.name"])
    assert page.items == [{"id": "a", "city": {"name": "oslo"}}]


async def test_conditional_update_and_delete(engine: Engine) -> None:
    coll = engine.database("proj").collection("things")
    await coll.insert({"id": "t", "n": 1, "drop": True, "deep": {"x": 1}})
    updated = await coll.update("t", {"n": 2, "deep.y": 2}, unset=["drop"], expected_version=1)
    assert updated == {"id": "t", "n": 2, "deep": {"x": 1, "y": 2}, "version": 2}
    assert await coll.update("t", {"n": 3}, expected_version=1) is None
    assert (await coll.get("t"))["n"] == 2
    assert await coll.update("missing", {"n": 1}) is None
    with pytest.raises(InvalidDocument):
        await coll.update("t", {"version": 10})
    assert await coll.delete("t", expected_version=1) is False
    assert await coll.delete("t", expected_version=2) is True
    assert await coll.get("t") is None


async def test_find_one_and_update_is_atomic(engine: Engine) -> None:
    coll = engine.database("proj").collection("tokens")
    await coll.insert({"id": "tok", "used": False})

    async def redeem() -> bool:
        got = await coll.find_one_and_update(And((eq("id", "tok"), eq("used", False))),
                                             {"used": True})
        return got is not None

    results = await asyncio.gather(*(redeem() for _ in range(20)))
    assert results.count(True) == 1
    assert (await coll.get("tok"))["version"] == 2


async def test_unique_index(engine: Engine) -> None:
    coll = engine.database("proj").collection("users")
    await coll.ensure_index(IndexSpec((("email", 1),), unique=True))
    await coll.insert({"id": "u1", "email": "a@x"})
    await coll.insert({"id": "u2"})
    await coll.insert({"id": "u3"})  # missing values never collide
    with pytest.raises(DuplicateKeyError) as err:
        await coll.insert({"id": "u4", "email": "a@x"})
    assert err.value.fields == ("email",)
    await coll.insert({"id": "u5", "email": "b@x"})
    with pytest.raises(DuplicateKeyError):
        await coll.update("u5", {"email": "a@x"})
    assert (await coll.get("u5"))["email"] == "b@x"
    specs = await coll.indexes()
    assert [s.fields for s in specs] == [(("email", 1),)] and specs[0].unique


async def test_ttl_sweep(engine: Engine) -> None:
    db = engine.database("proj")
    coll = db.collection("sessions")
    await coll.ensure_index(IndexSpec((("expires_at", 1),), ttl=True))
    await coll.insert({"id": "old", "expires_at": "2020-01-01T00:00:00.000000Z"})
    await coll.insert({"id": "new", "expires_at": "2999-01-01T00:00:00.000000Z"})
    await coll.insert({"id": "none"})
    removed = await db.sweep_expired("2026-01-01T00:00:00.000000Z")
    assert removed == 1
    assert {d["id"] for d in (await coll.find()).items} == {"new", "none"}


async def test_batch_is_all_or_nothing(engine: Engine) -> None:
    db = engine.database("proj")
    coll = db.collection("ledger")
    await coll.insert({"id": "keep", "n": 1})
    ops = [Insert("ledger", {"id": f"n{i}", "n": i}) for i in range(49)]
    ops.append(Insert("ledger", {"id": "keep"}))  # the 50th fails: duplicate id
    with pytest.raises(BatchFailed) as err:
        await db.batch(ops)
    assert err.value.index == 49
    assert await coll.count() == 1
    ops2 = [Update("ledger", "keep", {"n": 2}, expected_version=1),
            Insert("other", {"id": "o1"}), Delete("ledger", "keep", expected_version=5)]
    with pytest.raises(BatchFailed) as err:
        await db.batch(ops2)
    assert err.value.index == 2
    assert (await coll.get("keep"))["n"] == 1
    assert await db.collection("other").get("o1") is None
    results = await db.batch([Update("ledger", "keep", {"n": 3}), Insert("other", {"id": "o2"})])
    assert results[0]["n"] == 3 and results[1]["id"] == "o2"


async def test_change_feed_in_order_and_resumable(engine: Engine) -> None:
    coll = engine.database("proj").collection("events")
    seen: list[tuple[str, str]] = []
    tokens: list[str] = []
    ready = asyncio.Event()

    async def consume(n: int, after: str | None = None) -> None:
        stream = coll.watch(after)
        ready.set()
        async for change in stream:
            seen.append((change.op, change.id))
            tokens.append(change.token)
            if len(seen) >= n:
                break
        await stream.aclose()

    task = asyncio.create_task(consume(3))
    await ready.wait()
    await asyncio.sleep(0.3)  # the stream is open before the writes
    await coll.insert({"id": "e1", "n": 1})
    await coll.update("e1", {"n": 2})
    await coll.delete("e1")
    await asyncio.wait_for(task, 10)
    assert seen == [("insert", "e1"), ("update", "e1"), ("delete", "e1")]
    # Resuming after the first event yields the rest again, in order.
    first_token = tokens[0]
    seen.clear()
    ready.clear()
    await asyncio.wait_for(consume(2, first_token), 10)
    assert seen == [("update", "e1"), ("delete", "e1")]


async def test_databases_are_isolated_and_droppable(engine: Engine) -> None:
    await engine.database("one").collection("c").insert({"id": "x"})
    assert await engine.database("two").collection("c").get("x") is None
    assert "one" in await engine.databases()
    await engine.drop_database("one")
    assert await engine.database("one").collection("c").get("x") is None
    with pytest.raises(InvalidQuery):
        engine.database("../etc")
    with pytest.raises(InvalidQuery):
        engine.database("one").collection("bad name")


async def test_sweep_covers_every_project(tmp_path, settings) -> None:
    from baas.core.platform import Platform
    from baas.core.tenancy.projects import database_name
    from baas.store import IndexSpec as Spec

    platform = Platform(settings)
    await platform.open(background=False)
    try:
        for i in range(3):
            pid = f"proj-{i}"
            await platform.projects.records.insert({"id": pid, "name": pid, "created_at": "x",
                                                     "updated_at": "x"})
            coll = platform.engine.database(database_name(pid)).collection("sessions")
            await coll.ensure_index(Spec((("expires_at", 1),), ttl=True))
            await coll.insert({"id": "old", "expires_at": "2000-01-01T00:00:00.000000Z"})
        assert await platform.sweep_once() == 3
    finally:
        if platform.engine.kind == "mongodb":
            for name in await platform.engine.databases():
                await platform.engine.drop_database(name)
        await platform.close()
