"""Differential test: every MongoDB construct the engine emits, on nx-27017 and on mongomock.

mongomock is the reference for MongoDB's semantics and ``filters.matches`` for the
language's. A difference between the two servers is a stand-in deviation: it is marked
``xfail(strict=True)`` naming the construct, so the suite notices when it is fixed.
"""

from __future__ import annotations

import copy
import inspect
import uuid
from collections.abc import AsyncIterator
from typing import Any

import mongomock
import pytest
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import PyMongoError

from baas.store.filters import And, Cmp, Filter, In, Or, cursor_values, eq, matches, normalize_sort
from baas.store.mongo import query
from baas.store.mongo.engine import update_spec

DOCS: list[dict[str, Any]] = [
    {"_id": "a", "n": 1, "s": "apple", "b": True, "o": {"x": 1, "y": "p"}, "arr": [1, 2]},
    {"_id": "b", "n": 2.5, "s": "banana", "b": False, "o": {"x": 2}, "z": None},
    {"_id": "c", "n": 5, "s": "cherry", "o": {"x": "1"}, "arr": [5]},
    {"_id": "d", "n": 5.0, "s": "Apple", "b": None, "arr": []},
    {"_id": "e", "n": "5", "s": "", "o": None, "arr": "x"},
    {"_id": "f", "n": -3, "s": 5, "o": {"x": None}, "arr": [1, None]},
    {"_id": "g", "n": None, "b": 1, "z": 0, "arr": 1},
    {"_id": "h", "n": True, "s": "date", "o": {"x": 1.5, "y": "q"}, "arr": [None]},
    {"_id": "i", "n": [5], "s": ["apple"], "b": [True], "o": {"x": [1]}},
    {"_id": "j", "n": {"v": 5}, "s": "elder", "o": {}, "arr": [[1]]},
    {"_id": "k"},
]
ARRAYS_WITH_NULL = {"f", "h"}  # only under "arr", which the null cases below avoid


def api(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id" if k == "_id" else k: v for k, v in doc.items()}


def show(node: Filter) -> str:
    if isinstance(node, Cmp):
        return f"{node.path} {node.op} {node.value!r}"
    if isinstance(node, In):
        return f"{node.path} in {list(node.values)!r}"
    inner = ", ".join(show(item) for item in node.items)
    return f"{type(node).__name__}({inner})"


# Deviations from MongoDB, by who shows them. Each marks the checks it breaks as strict xfail.
BOOL_NUM = ("both stand-ins: $eq/$in treat true as equal to 1 (Python's True == 1); "
            "MongoDB keeps booleans and numbers apart")
NX_BOOL_ORDER = ("nx-27017: $lt/$lte/$gt against a number also match booleans (True < 5); "
                 "MongoDB and mongomock bracket by type")
MM_NULL_PARENT = ("mongomock: {'o.x': null} (also in $in) misses a doc with o: null; MongoDB "
                  "and nx-27017 match the missing path, as the language does")
CHECKS = ("servers", "mongomock", "nx-27017")


def case(node: Filter, nx: str | None = None, mm: str | None = None,
         both: str | None = None) -> list[Any]:
    broken = {"servers": nx or mm, "mongomock": mm or both, "nx-27017": nx or both}
    return [pytest.param(node, check, id=f"{check}: {show(node)}",
                         marks=[pytest.mark.xfail(strict=True, reason=broken[check])]
                         if broken[check] else [])
            for check in CHECKS]


FILTERS = [p for group in [
    # = and != on numbers (int/float), strings, booleans; arrays/objects/other types excluded
    case(eq("n", 5)), case(eq("n", 2.5)), case(eq("n", 1), both=BOOL_NUM), case(eq("n", "5")),
    case(eq("s", "apple")), case(eq("s", 5)), case(eq("b", True), both=BOOL_NUM),
    case(eq("b", False)), case(eq("b", 1), both=BOOL_NUM), case(eq("arr", 1)), case(eq("arr", "x")),
    case(Cmp("!=", "n", 5)), case(Cmp("!=", "n", 1)), case(Cmp("!=", "s", "apple")),
    case(Cmp("!=", "b", True)), case(Cmp("!=", "b", False)), case(Cmp("!=", "arr", 1)),
    # order comparisons on numbers and strings
    case(Cmp("<", "n", 5), nx=NX_BOOL_ORDER), case(Cmp("<=", "n", 2.5), nx=NX_BOOL_ORDER),
    case(Cmp(">", "n", 0), nx=NX_BOOL_ORDER), case(Cmp(">=", "n", 5)), case(Cmp(">=", "n", "5")),
    case(Cmp("<", "s", "b")), case(Cmp("<=", "s", "apple")), case(Cmp(">", "s", "")),
    case(Cmp(">=", "s", "cherry")), case(Cmp(">", "arr", 0)),
    # null: missing or null; no array holding null on these paths
    case(eq("n", None)), case(eq("s", None)), case(eq("b", None)), case(eq("o", None)),
    case(eq("z", None)), case(eq("o.x", None), mm=MM_NULL_PARENT), case(eq("nope", None)),
    case(Cmp("!=", "n", None)), case(Cmp("!=", "b", None)), case(Cmp("!=", "o", None)),
    case(Cmp("!=", "z", None)), case(Cmp("!=", "o.x", None)), case(Cmp("!=", "nope", None)),
    # in, with mixed types and null (arrays are guarded out, so "arr" is fine here)
    case(In("n", (5, "5", None, True)), both=BOOL_NUM), case(In("s", ("apple", 5, "date"))),
    case(In("b", (False, None))), case(In("arr", (None, 1, "x"))), case(In("s", ())),
    case(In("o.x", (1, 2, None)), mm=MM_NULL_PARENT),
    # id paths
    case(eq("id", "c")), case(eq("id", 1)), case(Cmp("!=", "id", "c")),
    case(Cmp("!=", "id", 5)), case(Cmp("<", "id", "d")), case(Cmp(">=", "id", "h")),
    case(eq("id", None)), case(Cmp("!=", "id", None)), case(In("id", ("a", "zz", None, 1))),
    case(In("id", ())),
    # nested paths
    case(eq("o.x", 1)), case(Cmp(">", "o.x", 1)), case(Cmp("!=", "o.x", 1)),
    case(eq("o.y", "q")), case(Cmp("<", "o.x", "2")), case(eq("o.x.v", 1)),
    # and / or, empty and nested
    case(And(())), case(Or(())),
    case(And((Cmp(">", "n", 0), Cmp("!=", "s", "cherry"))), nx=NX_BOOL_ORDER),
    case(Or((eq("b", True), eq("n", None), In("id", ("c",))))),
    case(And((Or((eq("s", "apple"), eq("s", "Apple"))), Cmp("!=", "o", None)))),
    case(Or((And(()), eq("id", "zz")))), case(And((Or(()), eq("id", "a")))),
] for p in group]


@pytest.fixture
async def servers(mongo_url: str) -> AsyncIterator[tuple[Any, Any]]:
    name = "diff_" + uuid.uuid4().hex[:12]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    mock: mongomock.MongoClient = mongomock.MongoClient()
    try:
        yield client[name]["c"], mock[name]["c"]
    finally:
        await client.drop_database(name)
        await client.close()
        mock.drop_database(name)
        mock.close()


async def seed(servers: tuple[Any, Any], docs: list[dict[str, Any]]) -> tuple[Any, Any]:
    nx, mm = servers
    await nx.insert_many(copy.deepcopy(docs))
    mm.insert_many(copy.deepcopy(docs))
    return nx, mm


async def found(nx: Any, mm: Any, spec: dict[str, Any], **kw: Any) -> tuple[list, list]:
    return ([d["_id"] async for d in nx.find(spec, **kw)],
            [d["_id"] for d in mm.find(spec, **kw)])


async def outcome(op: Any) -> str:
    """"ok" or the PyMongo error class name for one call (sync on mongomock, async on nx)."""
    try:
        result = op()
        if inspect.isawaitable(result):
            await result
    except PyMongoError as exc:
        return type(exc).__name__
    return "ok"


async def unique_email(nx: Any, mm: Any) -> None:
    await nx.create_index([("email", 1)], name="email_u", unique=True, sparse=True)
    mm.create_index([("email", 1)], name="email_u", unique=True, sparse=True)


def per_server(nx: str | None = None, mm: str | None = None) -> Any:
    """Parametrize over the two servers, each strict-xfail where it deviates from MongoDB."""
    return pytest.mark.parametrize("server", [
        pytest.param(name, marks=[pytest.mark.xfail(strict=True, reason=why)] if why else [])
        for name, why in (("nx-27017", nx), ("mongomock", mm))])


@pytest.mark.parametrize("node,check", FILTERS)
async def test_filter(servers: tuple[Any, Any], node: Filter, check: str) -> None:
    """servers: nx-27017 and mongomock agree; mongomock / nx-27017: it equals `matches`."""
    nx, mm = await seed(servers, DOCS)
    spec = query.compile_filter(node)
    got_nx, got_mm = await found(nx, mm, spec)
    count_nx, count_mm = await nx.count_documents(spec), mm.count_documents(spec)
    assert (count_nx, count_mm) == (len(got_nx), len(got_mm))
    want = {d["_id"] for d in DOCS if matches(node, api(d))}
    got = {"servers": set(got_nx), "mongomock": set(got_mm), "nx-27017": set(got_nx)}[check]
    expected = set(got_mm) if check == "servers" else want
    assert got == expected, f"{spec}: nx-27017 {sorted(got_nx)} mongomock {sorted(got_mm)}"


NX_NO_GAP = ("nx-27017: an array holding null is not null for $eq/$ne null (language "
             "semantics); MongoDB and mongomock count it as null")


@per_server(nx=NX_NO_GAP)
@pytest.mark.parametrize("op", ["=", "!="])
async def test_known_gap_array_with_null(servers: tuple[Any, Any], op: str, server: str) -> None:
    """On MongoDB an array holding null counts as null: `arr = null` matches it and
    `arr != null` does not, unlike `matches`. Documented in query.py; not guarded."""
    nx, mm = await seed(servers, DOCS)
    node = Cmp(op, "arr", None)  # type: ignore[arg-type]
    got_nx, got_mm = await found(nx, mm, query.compile_filter(node))
    want = {d["_id"] for d in DOCS if matches(node, api(d))}
    got = set(got_mm if server == "mongomock" else got_nx)
    assert got ^ want == ARRAYS_WITH_NULL


ROWS: list[dict[str, Any]] = [  # one type per field, some missing or null
    {"_id": "r1", "age": 30, "name": "kim", "team": "a", "o": {"k": 2}},
    {"_id": "r2", "age": 25, "name": "lee", "o": {"k": 1}},
    {"_id": "r3", "name": "ann", "team": "b"}, {"_id": "r8", "name": "ann", "o": {"k": 3}},
    {"_id": "r4", "age": 30, "team": "a", "o": {"k": 2}},
    {"_id": "r5", "age": 41.5, "name": "bo", "team": None, "o": {}},
    {"_id": "r6", "age": 25, "name": "kim", "team": "b", "o": {"k": 1}},
    {"_id": "r7", "age": None, "name": "zed", "team": "a"},
    {"_id": "r9", "age": -1, "name": "Kim", "team": "c", "o": {"k": 2}},
]
SORTS = [
    [("age", 1)], [("age", -1)], [("name", 1), ("age", -1)], [("team", -1), ("name", 1)],
    [("id", -1)], [("team", 1), ("age", 1), ("name", -1)], [("o.k", -1), ("age", 1)],
    [("name", -1), ("id", -1)],
]


@pytest.mark.parametrize("sort", SORTS, ids=str)
async def test_keyset(servers: tuple[Any, Any], sort: list[tuple[str, int]]) -> None:
    nx, mm = await seed(servers, ROWS)
    full = normalize_sort(sort)
    spec = query.sort_spec(full)
    order_nx, order_mm = await found(nx, mm, {}, sort=spec)
    assert order_nx == order_mm
    by_id = {row["_id"]: row for row in ROWS}
    for i, row_id in enumerate(order_mm):
        values = cursor_values(api(by_id[row_id]), full)
        after_nx, after_mm = await found(nx, mm, query.keyset(full, values), sort=spec)
        assert (after_nx, after_mm) == (order_mm[i + 1:], order_mm[i + 1:]), values
    for skip, limit in ((0, 3), (2, 4), (7, 5)):
        paged = await found(nx, mm, {}, sort=spec, skip=skip, limit=limit)
        assert paged == (order_mm[skip:skip + limit],) * 2


UPDATES = [
    ("a", {"s": "new", "n": 2}, [], 1),
    ("a", {"o.x": 9, "o.new.deep": "v", "top.level": [1, None]}, ["n"], 1),
    ("a", {}, ["o.y", "missing", "o.nope.deeper", "arr"], 1),
    ("a", {"s": "x"}, [], 7),  # stale version: nothing matched
    ("b", {"z": None, "b": {"k": [1, {"m": None}]}}, ["o.x"], 1),
    ("k", {"n": 1.5}, ["n.v"], 1),
    ("e", {"o.x": 1}, [], 1),  # through a null: see test_set_through_null
    ("g", {"n.v": 1}, [], 1),
]


@pytest.mark.parametrize("doc_id,set_,unset,version", UPDATES, ids=str)
async def test_update(servers: tuple[Any, Any], doc_id: str, set_: dict[str, Any],
                      unset: list[str], version: int) -> None:
    nx, mm = await seed(servers, [dict(d, version=1) for d in DOCS])
    selector, spec = {"_id": doc_id, "version": version}, update_spec(set_, unset)
    assert await outcome(lambda: nx.update_one(selector, spec)) == await outcome(
        lambda: mm.update_one(selector, spec))
    assert await nx.find_one({"_id": doc_id}) == mm.find_one({"_id": doc_id})
    assert [d async for d in nx.find({}, sort=[("_id", 1)])] == list(mm.find({}, sort=[("_id", 1)]))


async def test_find_one_and_update(servers: tuple[Any, Any]) -> None:
    nx, mm = await seed(servers, [dict(d, version=1) for d in DOCS])
    spec = query.compile_filter(And((eq("s", "banana"), Cmp(">", "n", 2))))
    update = update_spec({"o.x": 3, "t": "y"}, ["z"])
    after = ReturnDocument.AFTER
    got_nx = await nx.find_one_and_update(spec, update, return_document=after)
    got_mm = mm.find_one_and_update(spec, update, return_document=after)
    assert got_nx == got_mm and got_mm is not None and got_mm["version"] == 2
    none = query.compile_filter(eq("s", "nothing"))
    assert await nx.find_one_and_update(none, update) is mm.find_one_and_update(none, update)


INDEX_STEPS = [
    ("insert", {"_id": 1}), ("insert", {"_id": 2}), ("insert", {"_id": 3, "email": "x"}),
    ("insert", {"_id": 4, "email": "x"}), ("update", (1, "x")), ("update", (1, "y")),
    ("update", (2, "y")), ("insert", {"_id": 5, "email": "X"}),
]


async def test_unique_sparse_index(servers: tuple[Any, Any]) -> None:
    nx, mm = servers
    await unique_email(nx, mm)
    outcomes = []
    for kind, arg in INDEX_STEPS:
        for c in (nx, mm):
            outcomes.append(await outcome(
                (lambda c=c, a=arg: c.insert_one(dict(a))) if kind == "insert" else
                (lambda c=c, a=arg: c.update_one({"_id": a[0]}, update_spec({"email": a[1]}, [])))))
    expected = ["ok"] * 3 + ["DuplicateKeyError"] * 2 + ["ok", "DuplicateKeyError", "ok"]
    assert outcomes == [e for e in expected for _ in "xy"]
    got_nx, got_mm = await found(nx, mm, {}, sort=[("_id", 1)])
    assert got_nx == got_mm == [1, 2, 3, 5]


SET_THROUGH_NULL = ("{}: $set 'o.x' on o: null is silently dropped while $inc applies; "
                    "MongoDB refuses the whole update (WriteError, code 28)")


@per_server(nx=SET_THROUGH_NULL.format("nx-27017"), mm=SET_THROUGH_NULL.format("mongomock"))
async def test_set_through_null(servers: tuple[Any, Any], server: str) -> None:
    nx, mm = await seed(servers, [{"_id": "e", "o": None, "version": 1}])
    coll, spec = nx if server == "nx-27017" else mm, update_spec({"o.x": 1}, [])
    assert await outcome(lambda: coll.update_one({"_id": "e", "version": 1}, spec)) == "WriteError"


SPARSE_NULLS = ("{}: a unique sparse index lets explicit nulls repeat; MongoDB indexes null "
                "(sparse skips missing fields only) and raises DuplicateKeyError")


@per_server(nx=SPARSE_NULLS.format("nx-27017"), mm=SPARSE_NULLS.format("mongomock"))
async def test_unique_sparse_index_explicit_nulls(servers: tuple[Any, Any], server: str) -> None:
    nx, mm = servers
    await unique_email(nx, mm)
    coll = nx if server == "nx-27017" else mm
    assert await outcome(lambda: coll.insert_one({"_id": 1, "email": None})) == "ok"
    assert await outcome(lambda: coll.insert_one({"_id": 2, "email": None})) == "DuplicateKeyError"


@per_server(nx="nx-27017: find_one_and_update that breaks a unique index returns None and "
               "changes nothing instead of raising DuplicateKeyError (mongomock raises)")
async def test_find_one_and_update_duplicate_key(servers: tuple[Any, Any], server: str) -> None:
    nx, mm = await seed(servers, [{"_id": 1, "email": "x"}, {"_id": 2, "email": "y"}])
    await unique_email(nx, mm)
    coll, upd = nx if server == "nx-27017" else mm, update_spec({"email": "x"}, [])
    assert await outcome(lambda: coll.find_one_and_update({"_id": 2}, upd)) == "DuplicateKeyError"


TTL_DOCS: list[dict[str, Any]] = [
    {"_id": "old", "exp": "2020-01-01T00:00:00Z"}, {"_id": "new", "exp": "2030-01-01T00:00:00Z"},
    {"_id": "now", "exp": "2025-01-01T00:00:00Z"}, {"_id": "num", "exp": 5},
    {"_id": "null", "exp": None}, {"_id": "missing"}, {"_id": "bool", "exp": True},
    {"_id": "obj", "exp": {"a": "2000"}}, {"_id": "early", "exp": "1999"},
]
SWEEP = {"exp": {"$type": "string", "$lt": "2025-01-01T00:00:00Z"}}


async def test_ttl_sweep(servers: tuple[Any, Any]) -> None:
    nx, mm = await seed(servers, TTL_DOCS)
    gone_nx = (await nx.delete_many(SWEEP)).deleted_count
    gone_mm = mm.delete_many(SWEEP).deleted_count
    left_nx, left_mm = await found(nx, mm, {}, sort=[("_id", 1)])
    assert (gone_nx, left_nx) == (gone_mm, left_mm)
    assert {d["_id"] for d in TTL_DOCS} - set(left_mm) == {"old", "early"}


@per_server(nx="nx-27017: $type 'string' does not match an array of strings; MongoDB and "
               "mongomock do, so the sweep deletes exp: ['2000-01-01'] there")
async def test_ttl_sweep_array_of_strings(servers: tuple[Any, Any], server: str) -> None:
    nx, mm = await seed(servers, [{"_id": "arr", "exp": ["2000-01-01"]}])
    await nx.delete_many(SWEEP)
    mm.delete_many(SWEEP)
    left_nx, left_mm = await found(nx, mm, {})
    assert (left_nx if server == "nx-27017" else left_mm) == []


async def test_delete_with_version(servers: tuple[Any, Any]) -> None:
    nx, mm = await seed(servers, [dict(d, version=1) for d in DOCS])
    for selector, gone in (({"_id": "a", "version": 2}, 0), ({"_id": "a", "version": 1}, 1),
                           ({"_id": "zz", "version": 1}, 0)):
        assert (await nx.delete_one(selector)).deleted_count == gone
        assert mm.delete_one(selector).deleted_count == gone
    assert await nx.count_documents({}) == mm.count_documents({}) == len(DOCS) - 1


TIMESTAMP_STRINGS = ("nx-27017: strings shaped like RFC 3339 timestamps compare as times at "
                     "whole-second precision; MongoDB compares strings by their bytes")


@per_server(nx=TIMESTAMP_STRINGS)
async def test_timestamp_strings_compare_as_strings(servers: tuple[Any, Any],
                                                    server: str) -> None:
    nx, mm = await seed(servers, [{"_id": "a", "t": "2026-11-21T10:00:00.001000Z"},
                                  {"_id": "b", "t": "2026-11-21T10:00:00.002000Z"}])
    spec = {"t": {"$gt": "2026-11-21T10:00:00.001000Z"}}
    ids = ([d["_id"] async for d in nx.find(spec)] if server == "nx-27017"
           else [d["_id"] for d in mm.find(spec)])
    assert ids == ["b"]
