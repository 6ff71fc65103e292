"""Filters, sorts and time limits of the query language's store half, on both engines."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import ExecutionTimeout

from baas.store import (
    And,
    Cmp,
    Const,
    Contains,
    DuplicateKeyError,
    Engine,
    Has,
    In,
    IndexSpec,
    InvalidDocument,
    InvalidQuery,
    Not,
    Or,
    QueryTimeout,
    eq,
    matches,
    sort_documents,
)
from baas.store.filters import OTHER, encode_cursor, normalize_sort

DOCS: list[dict[str, Any]] = [
    {"id": "a", "title": "Desk LAMP", "tags": ["new", "sale"], "n": 3, "o": {"k": "x"}},
    {"id": "b", "title": "Straße lamp", "tags": ["old", 1], "n": -1.5},
    {"id": "c", "title": "ÉCOLE", "tags": "new", "n": True},
    {"id": "d", "title": 5, "tags": [True, "NEW"], "n": "3"},
    {"id": "e", "tags": [], "n": None, "o": [{"k": "x"}]},
    {"id": "f", "title": "a.*b (x)", "n": 0},
]
CASES: list[tuple[Any, set[str]]] = [
    (Has("tags", "new"), {"a"}), (Has("tags", 1), {"b"}), (Has("tags", True), {"d"}),
    (Has("tags", None), set()), (Not(Has("tags", "new")), {"b", "c", "d", "e", "f"}),
    (Contains("title", "lamp"), {"a", "b"}), (Contains("title", "STRASSE"), set()),
    (Contains("title", "straße"), {"b"}), (Contains("title", "école"), set()),
    (Contains("title", "É"), {"c"}), (Contains("title", ".*"), {"f"}),
    (Contains("title", "lamp", negate=True), {"c", "f"}),
    (Not(Contains("title", "lamp")), {"c", "d", "e", "f"}),
    (Not(eq("n", 3)), {"b", "c", "d", "e", "f"}),
    (Not(Cmp(">", "n", 0)), {"b", "c", "d", "e", "f"}),
    (Not(eq("n", None)), {"a", "b", "c", "d", "f"}),
    (Not(In("n", (3, None, True))), {"b", "d", "f"}),
    (Const(True), {"a", "b", "c", "d", "e", "f"}), (Const(False), set()),
    (Not(Or((eq("o.k", "x"), Has("tags", "sale")))), {"b", "c", "d", "e", "f"}),
    (And((Not(Const(False)), Cmp("<", "n", 1))), {"b", "f"}),
]


async def seed(engine: Engine, docs: list[dict[str, Any]], name: str = "things") -> Any:
    coll = engine.database("proj").collection(name)
    for doc in docs:
        await coll.insert(dict(doc))
    return coll


@pytest.mark.parametrize("node,expected", CASES, ids=[str(i) for i in range(len(CASES))])
async def test_new_filter_nodes(engine: Engine, node: Any, expected: set[str]) -> None:
    coll = await seed(engine, DOCS)
    assert {d["id"] for d in DOCS if matches(node, d)} == expected
    assert {d["id"] for d in (await coll.find(node)).items} == expected
    assert await coll.count(node) == len(expected)


MIXED: list[dict[str, Any]] = [
    {"id": "m1", "v": 3}, {"id": "m2", "v": "b"}, {"id": "m3", "v": -1.5},
    {"id": "m4", "v": None}, {"id": "m5"}, {"id": "m6", "v": "Straße"},
    {"id": "m7", "v": "B"}, {"id": "m8", "v": 3.0}, {"id": "m9", "v": ""}]
WITH_OTHERS: list[dict[str, Any]] = MIXED + [
    {"id": "x1", "v": True}, {"id": "x2", "v": [0]}, {"id": "x3", "v": False},
    {"id": "x4", "v": {"k": 1}}, {"id": "x5", "v": []}]


async def pages(coll: Any, sort: list[tuple[str, int]], limit: int, **kw: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = await coll.find(sort=sort, limit=limit, cursor=cursor, **kw)
        ids += [d["id"] for d in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return ids


@pytest.mark.parametrize("direction", [1, -1])
async def test_sort_across_types(engine: Engine, direction: int) -> None:
    """Missing and null, numbers, strings (and on SQLite booleans, then arrays and
    objects, tied and ordered by id): the language's order, paged or not."""
    docs = WITH_OTHERS if engine.kind == "sqlite" else MIXED
    coll = await seed(engine, docs)
    want = [d["id"] for d in sort_documents(docs, [("v", direction)])]
    assert [d["id"] for d in (await coll.find(sort=[("v", direction)])).items] == want
    assert await pages(coll, [("v", direction)], 2) == want
    if engine.kind == "sqlite":
        assert (want[-5:] if direction == 1 else want[:5]) == (
            ["x3", "x1", "x2", "x4", "x5"] if direction == 1 else ["x2", "x4", "x5", "x1", "x3"])


async def test_sort_names_id_first(engine: Engine) -> None:
    coll = await seed(engine, MIXED)
    assert normalize_sort([("id", -1), ("v", 1)]) == [("id", -1)]
    assert await pages(coll, [("id", -1), ("v", 1)], 4) == sorted(
        (d["id"] for d in MIXED), reverse=True)


ARRAYS: list[dict[str, Any]] = [
    {"id": "p1", "v": 1}, {"id": "p2", "v": 2}, {"id": "p3", "v": [5, 9]},
    {"id": "p4", "v": 3, "o": {"k": 1}}, {"id": "p5", "v": 4, "o": [{"k": 0}]}]


@pytest.mark.parametrize("sort,limit,offset", [
    ([("v", 1)], 10, 0),  # the array is on the page
    ([("v", -1)], 1, 0),  # descending: MongoDB would put the array elsewhere, unseen
    ([("v", 1)], 1, 1),  # past an offset
    ([("o.k", 1)], 1, 0),  # through an array of objects
])
async def test_mongodb_refuses_sorting_on_arrays(engine: Engine, sort: list[tuple[str, int]],
                                                 limit: int, offset: int) -> None:
    coll = await seed(engine, ARRAYS)
    want = [d["id"] for d in sort_documents(ARRAYS, sort)][offset:offset + limit]
    if engine.kind == "sqlite":
        page = await coll.find(sort=sort, limit=limit, offset=offset)
        assert [d["id"] for d in page.items] == want
        return
    with pytest.raises(InvalidQuery, match=f"sorting on '{sort[0][0]}', which holds arrays"):
        await coll.find(sort=sort, limit=limit, offset=offset)


async def test_mongodb_sorts_when_arrays_stay_out_of_the_page(engine: Engine) -> None:
    """Ascending, an array MongoDB places after the page ([5, 9] by its least element)
    is after it for the language too (arrays sort last); a page holding one is refused."""
    coll = await seed(engine, ARRAYS)
    first = await coll.find(sort=[("v", 1)], limit=2)
    assert [d["id"] for d in first.items] == ["p1", "p2"]
    second = await coll.find(sort=[("v", 1)], limit=2, cursor=first.next_cursor)
    assert [d["id"] for d in second.items] == ["p4", "p5"]
    if engine.kind == "mongodb":
        with pytest.raises(InvalidQuery):
            await coll.find(sort=[("v", 1)], limit=2, cursor=second.next_cursor)
    else:
        last = await coll.find(sort=[("v", 1)], limit=2, cursor=second.next_cursor)
        assert [d["id"] for d in last.items] == ["p3"] and last.next_cursor is None
    # Descending, nothing to refuse when the filter keeps arrays out.
    assert [d["id"] for d in (await coll.find(Cmp("<", "v", 3), sort=[("v", -1)])).items] \
        == ["p2", "p1"]


async def test_cursor_through_arrays_and_objects(engine: Engine) -> None:
    coll = await seed(engine, ARRAYS)
    cursor = encode_cursor([dict(OTHER), "p3"])
    if engine.kind == "sqlite":
        page = await coll.find(sort=[("v", 1)], limit=5, cursor=cursor)
        assert page.items == []  # nothing after the only array
        return
    with pytest.raises(InvalidQuery, match="array or object"):
        await coll.find(sort=[("v", 1)], limit=5, cursor=cursor)


async def test_integers_beyond_64_bits_are_refused(engine: Engine) -> None:
    coll = engine.database("proj").collection("big")
    with pytest.raises(InvalidDocument):
        await coll.insert({"id": "x", "n": -(10**400)})
    with pytest.raises(InvalidDocument):
        await coll.insert({"id": "y", "n": [{"m": 2**63}]})
    await coll.insert({"id": "z", "n": 2**63 - 1, "m": -(2**63)})
    with pytest.raises(InvalidDocument):
        await coll.update("z", {"n": 2**64})
    stored = await coll.get("z")
    assert stored is not None and stored["n"] == 2**63 - 1


async def test_unique_index_on_mixed_values(engine: Engine) -> None:
    """Different objects or arrays never collide; missing and null repeat."""
    coll = engine.database("proj").collection("uniq")
    await coll.ensure_index(IndexSpec((("u", 1),), unique=True))
    for i, value in enumerate([{"a": 1}, {"a": 2}, [7], [8], "x", 1, 2.5]):
        await coll.insert({"id": f"u{i}", "u": value})
    await coll.insert({"id": "m1"})
    await coll.insert({"id": "m2"})
    if engine.kind == "sqlite":  # MongoDB indexes explicit nulls (docs/architecture.md)
        await coll.insert({"id": "n1", "u": None})
        await coll.insert({"id": "n2", "u": None})
        await coll.insert({"id": "t", "u": True})  # not the number 1
    for value in ({"a": 1}, "x", 1.0):
        with pytest.raises(DuplicateKeyError):
            await coll.insert({"id": "dup", "u": value})
    assert {d["id"] for d in (await coll.find(eq("u", 1))).items} == {"u5"}


SLOW_ROWS = 50_000


# One engine each: the MongoDB stand-in ignores maxTimeMS (see test_mongodb_time_limit).
@pytest.mark.parametrize("engine_kind", ["sqlite"])
async def test_sqlite_query_time_limit(engine: Engine) -> None:
    db: Any = engine.database("proj")  # the SQLite database, for a raw bulk write
    coll = db.collection("slow")
    await coll.insert({"id": "seed"})
    rows = [(f"r{i:05d}", f'{{"id":"r{i:05d}","title":"row {i} of many","n":{i},'
                          f'"tags":["a","b","c{i}"],"version":1}}') for i in range(SLOW_ROWS)]
    await db.write(lambda conn: conn.executemany('INSERT INTO "c_slow" VALUES (?, ?)', rows))
    slow = And((Contains("title", "nothing like this"), Not(Has("tags", "zz"))))
    with pytest.raises(QueryTimeout):
        await coll.find(slow, sort=[("title", -1)], max_time_ms=5)
    with pytest.raises(QueryTimeout):
        await coll.count(slow, max_time_ms=5)
    # The reader connection stays usable, with or without a limit.
    assert (await coll.find(eq("id", "r00007"), max_time_ms=1000)).items[0]["n"] == 7
    assert await coll.count(Cmp(">=", "n", SLOW_ROWS - 3), max_time_ms=60_000) == 3
    assert len((await coll.find(Cmp("<", "n", 2))).items) == 2


@pytest.mark.parametrize("engine_kind", ["mongodb"])
async def test_mongodb_time_limit(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    coll = await seed(engine, MIXED)
    seen: list[Any] = []
    find, count = coll.raw.find, coll.raw.count_documents

    def spy_find(*args: Any, **kw: Any) -> Any:
        seen.append(("find", kw.get("max_time_ms")))
        return find(*args, **kw)

    async def spy_count(*args: Any, **kw: Any) -> int:
        seen.append(("count", kw.get("maxTimeMS")))
        return int(await count(*args, **kw))

    monkeypatch.setattr(coll.raw, "find", spy_find)
    monkeypatch.setattr(coll.raw, "count_documents", spy_count)
    assert len((await coll.find(sort=[("v", 1)], max_time_ms=250)).items) == len(MIXED)
    assert await coll.count(eq("v", 3), max_time_ms=300) == 2
    assert seen == [("find", 250), ("count", 300)]

    def too_slow(*args: Any, **kw: Any) -> Any:
        raise ExecutionTimeout("operation exceeded time limit", 50)

    monkeypatch.setattr(coll.raw, "find", too_slow)
    with pytest.raises(QueryTimeout):
        await coll.find(max_time_ms=1)


async def test_drop_index(engine: Engine) -> None:
    coll = engine.database("proj").collection("dropping")
    await coll.ensure_index(IndexSpec((("slug", 1),), unique=True))
    await coll.ensure_index(IndexSpec((("title", 1), ("n", -1))))
    await coll.insert({"id": "a", "slug": "x", "title": "t", "n": 1})
    with pytest.raises(DuplicateKeyError):
        await coll.insert({"id": "b", "slug": "x"})
    assert await coll.drop_index("uniq_slug_a") is True
    assert await coll.drop_index("uniq_slug_a") is False
    assert await coll.drop_index("nope") is False
    assert [spec.name for spec in await coll.indexes()] == ["ix_title_a_n_d"]
    await coll.insert({"id": "b", "slug": "x"})  # no longer unique
    assert {d["id"] for d in (await coll.find(eq("slug", "x"))).items} == {"a", "b"}
    assert await coll.drop_index("ix_title_a_n_d") is True
    assert await coll.indexes() == []


async def test_updates_keep_booleans(engine: Engine) -> None:
    """On MongoDB an update setting a boolean is a compare-and-swap of the document
    (the stand-in's $set stores 1 or 0): booleans stay booleans, filters still find
    them, and version checks, unique indexes and atomicity hold."""
    coll = engine.database("proj").collection("flags")
    await coll.ensure_index(IndexSpec((("email", 1),), unique=True))
    await coll.insert({"id": "a", "done": False, "o": {}, "email": "a@x"})
    await coll.insert({"id": "b", "done": False, "email": "b@x"})
    updated = await coll.update("a", {"done": True, "o.off": False}, expected_version=1)
    assert updated is not None and updated["done"] is True and updated["o"]["off"] is False
    assert updated["version"] == 2
    stored = await coll.get("a")
    assert stored is not None and stored["done"] is True and stored["o"] == {"off": False}
    assert await coll.update("a", {"done": False}, expected_version=1) is None
    assert {d["id"] for d in (await coll.find(eq("done", True))).items} == {"a"}
    with pytest.raises(DuplicateKeyError):
        await coll.update("b", {"done": True, "email": "a@x"})
    assert (await coll.get("b") or {}).get("done") is False
    got = await coll.find_one_and_update(And((eq("id", "b"), eq("done", False))),
                                         {"done": True}, unset=["email"])
    assert got is not None and got["done"] is True and "email" not in got
    assert await coll.find_one_and_update(eq("done", "nope"), {"done": True}) is None
