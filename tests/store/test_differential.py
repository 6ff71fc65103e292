"""Differential test: every MongoDB construct the engine emits, on nx-27017 and on mongomock.

mongomock is the reference for MongoDB's semantics and ``filters.matches`` for the
language's. A difference between the two servers is a stand-in deviation: it is marked
``xfail(strict=True)`` naming the construct, so the suite notices when it is fixed.
Sorting, keyset paging and the raw constructs the engine avoids are pinned in
``test_differential_sort.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import ReturnDocument

from baas.store.filters import (
    And,
    Cmp,
    Const,
    Contains,
    Filter,
    Has,
    In,
    Not,
    Or,
    eq,
    matches,
)
from baas.store.mongo import query
from baas.store.mongo.engine import update_spec
from tests.store.conftest import api, found, outcome, per_server, seed

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
    {"_id": "l", "n": 0, "s": "Straße a.b", "b": [False, 1], "o": [{"x": 1}], "arr": [True, "x"]},
    {"_id": "m", "n": False, "s": "ÉCOLE\n(x)", "o": [1, 2], "arr": ["apple", 2.5]},
]
ARRAYS_WITH_NULL = {"f", "h"}  # only under "arr", which the null cases below avoid


def show(node: Filter) -> str:
    if isinstance(node, Cmp):
        return f"{node.path} {node.op} {node.value!r}"
    if isinstance(node, In):
        return f"{node.path} in {list(node.values)!r}"
    if isinstance(node, Has):
        return f"{node.path} has {node.value!r}"
    if isinstance(node, Contains):
        return f"{node.path} {'!~' if node.negate else '~'} {node.text!r}"
    if isinstance(node, Not):
        return f"!({show(node.item)})"
    if isinstance(node, Const):
        return str(node.value).lower()
    inner = ", ".join(show(item) for item in node.items)
    return f"{type(node).__name__}({inner})"


# Deviations from MongoDB, by who shows them. Each marks the checks it breaks as strict xfail.
MM_NULL_PARENT = ("mongomock: {'o.x': null} (also in $in) misses a doc with o: null; MongoDB "
                  "and nx-27017 match the missing path, as the language does")
CHECKS = ("servers", "mongomock", "nx-27017")


def case(node: Filter, nx: str | None = None, mm: str | None = None,
         both: str | None = None) -> list[Any]:
    broken = {"servers": nx or mm, "mongomock": mm or both, "nx-27017": nx or both}
    return [pytest.param(node, check, id=f"{check}: {show(node)}",
                         marks=[pytest.mark.xfail(strict=True, reason=broken[check] or "")]
                         if broken[check] else [])
            for check in CHECKS]


LEAVES: list[Filter] = [
    # = and != on numbers (int/float), strings, booleans; arrays/objects/other types excluded
    eq("n", 5), eq("n", 2.5), eq("n", 1), eq("n", 0), eq("n", "5"), eq("s", "apple"),
    eq("s", 5), eq("b", True), eq("b", False), eq("b", 1), eq("n", False), eq("arr", 1),
    eq("arr", "x"), Cmp("!=", "n", 5), Cmp("!=", "n", 1), Cmp("!=", "s", "apple"),
    Cmp("!=", "b", True), Cmp("!=", "b", False), Cmp("!=", "arr", 1), Cmp("!=", "n", False),
    # order comparisons on numbers and strings (booleans never pass for numbers)
    Cmp("<", "n", 5), Cmp("<=", "n", 2.5), Cmp(">", "n", 0), Cmp(">=", "n", 5),
    Cmp(">=", "n", "5"), Cmp("<", "n", 1), Cmp("<", "s", "b"), Cmp("<=", "s", "apple"),
    Cmp(">", "s", ""), Cmp(">=", "s", "cherry"), Cmp(">", "s", "S"), Cmp(">", "arr", 0),
    # null: missing or null; no array holding null on these paths
    eq("n", None), eq("s", None), eq("b", None), eq("z", None), eq("nope", None),
    Cmp("!=", "n", None), Cmp("!=", "b", None), Cmp("!=", "z", None), Cmp("!=", "nope", None),
    # in, with mixed types and null (arrays are guarded out, so "arr" is fine here)
    In("n", (5, "5", None, True)), In("s", ("apple", 5, "date")), In("b", (False, None)),
    In("arr", (None, 1, "x")), In("s", ()), In("n", (0, 1, False)), In("b", (True, 1)),
    # id paths
    eq("id", "c"), eq("id", 1), Cmp("!=", "id", "c"), Cmp("!=", "id", 5), Cmp("<", "id", "d"),
    Cmp(">=", "id", "h"), eq("id", None), Cmp("!=", "id", None), In("id", ("a", "zz", None, 1)),
    In("id", ()), Has("id", "a"), Contains("id", "A"),
    # nested paths, also through arrays ("o" is an array in l and m: o.x is missing there)
    eq("o.x", 1), Cmp(">", "o.x", 1), Cmp("!=", "o.x", 1), eq("o.y", "q"), Cmp("<", "o.x", "2"),
    eq("o.x.v", 1), In("o.x", (1, 2)), Has("o.x", 1), Contains("o.y", "Q"),
    # has: an array holding an element equal to the value, of the same type
    Has("arr", 1), Has("arr", 5), Has("arr", True), Has("arr", "x"), Has("arr", 2.5),
    Has("arr", None), Has("b", True), Has("b", 1), Has("b", False), Has("s", "apple"),
    Has("n", 5), Has("nope", 1),
    # ~ / !~: substring, ASCII letters folded, every other character literal
    Contains("s", "APP"), Contains("s", "a"), Contains("s", ""), Contains("s", "."),
    Contains("s", "A.B"), Contains("s", "straße"), Contains("s", "STRASSE"),
    Contains("s", "école"), Contains("s", "É"), Contains("s", "\n(X)"), Contains("n", "5"),
    Contains("arr", "x"), Contains("s", "a", negate=True), Contains("s", "", negate=True),
    Contains("s", "É", negate=True), Contains("n", "5", negate=True),
]
NULL_PARENT_LEAVES: list[Filter] = [eq("o", None), eq("o.x", None), Cmp("!=", "o", None),
                                    Cmp("!=", "o.x", None), In("o.x", (1, 2, None))]
COMBINED: list[Filter] = [
    And(()), Or(()), Const(True), Const(False), Not(Const(True)),
    And((Cmp(">", "n", 0), Cmp("!=", "s", "cherry"))),
    Or((eq("b", True), eq("n", None), In("id", ("c",)))),
    And((Or((eq("s", "apple"), eq("s", "Apple"))), Cmp("!=", "o", None))),
    Or((And(()), eq("id", "zz"))), And((Or(()), eq("id", "a"))),
    Not(And((Cmp(">", "n", 0), Contains("s", "a")))), Not(Or((Has("arr", 1), eq("b", False)))),
    Not(Not(eq("n", 5))), Or((Not(Cmp("<", "s", "c")), Not(In("n", (1, 5))))),
]


MM_ELEM_NESTED = ("mongomock: $elemMatch {$eq: 1} also looks into a nested array ([[1]]); "
                  "MongoDB and nx-27017 test the elements themselves, as the language does")
MOCK_CASES: list[tuple[Filter, str]] = [
    (eq("o.x", None), MM_NULL_PARENT), (Not(Cmp("!=", "o.x", None)), MM_NULL_PARENT),
    (In("o.x", (1, 2, None)), MM_NULL_PARENT), (Has("arr", 1), MM_ELEM_NESTED),
    (Not(Has("arr", 1)), MM_ELEM_NESTED),
    (Not(Or((Has("arr", 1), eq("b", False)))), MM_ELEM_NESTED)]
# By show(): filters compare True == 1, as Python does, so they make poor dict keys.
MOCK_DEVIATIONS = {show(node): reason for node, reason in MOCK_CASES}


def cases(node: Filter, negated: bool = True) -> list[Any]:
    """The node and, for a leaf, its negation (a leaf complement on MongoDB)."""
    nodes = [node, Not(node)] if negated else [node]
    return [p for item in nodes for p in case(item, mm=MOCK_DEVIATIONS.get(show(item)))]


FILTERS = [p for node in LEAVES + NULL_PARENT_LEAVES for p in cases(node)] + [
    p for node in COMBINED for p in cases(node, negated=False)]


async def unique_email(nx: Any, mm: Any) -> None:
    await nx.create_index([("email", 1)], name="email_u", unique=True, sparse=True)
    mm.create_index([("email", 1)], name="email_u", unique=True, sparse=True)


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


@pytest.mark.parametrize("op", ["=", "!="])
async def test_array_holding_null_is_not_null(servers: tuple[Any, Any], op: str) -> None:
    """MongoDB's `{arr: {$eq: null}}` matches `[1, null]`; the array guard keeps the
    language's answer (an array is never null) on both servers, in find and count."""
    nx, mm = await seed(servers, DOCS)
    node = Cmp(op, "arr", None)  # type: ignore[arg-type]
    spec = query.compile_filter(node)
    got_nx, got_mm = await found(nx, mm, spec)
    want = {d["_id"] for d in DOCS if matches(node, api(d))}
    assert set(got_nx) == set(got_mm) == want
    assert await nx.count_documents(spec) == mm.count_documents(spec) == len(want)
    assert (ARRAYS_WITH_NULL <= want) == (op == "!=")


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


@per_server(nx="nx-27017: replace_one with upsert ignores the _id of its filter and inserts "
               "a new document (with an ObjectId) every time; MongoDB keeps the _id and "
               "replaces. The index metadata is keyed by collection and name instead")
async def test_upsert_keeps_the_filter_id(servers: tuple[Any, Any], server: str) -> None:
    coll = servers[0] if server == "nx-27017" else servers[1]
    for version in (1, 2):
        await outcome(lambda v=version: coll.replace_one({"_id": "c:ix"}, {"v": v}, upsert=True))
    docs = [d async for d in coll.find({})] if server == "nx-27017" else list(coll.find({}))
    assert docs == [{"_id": "c:ix", "v": 2}]


async def test_upsert_by_fields(servers: tuple[Any, Any]) -> None:
    """What the index metadata relies on instead: an upsert keyed by other fields."""
    nx, mm = servers
    for version in (1, 2):
        spec = {"collection": "c", "name": "ix"}
        await nx.replace_one(spec, {**spec, "v": version}, upsert=True)
        mm.replace_one(spec, {**spec, "v": version}, upsert=True)
    got_nx = [{k: v for k, v in d.items() if k != "_id"} async for d in nx.find({})]
    got_mm = [{k: v for k, v in d.items() if k != "_id"} for d in mm.find({})]
    assert got_nx == got_mm == [{"collection": "c", "name": "ix", "v": 2}]


@per_server(nx="nx-27017: $set of a boolean at a path stores the number 1 or 0 (inside "
               "an object or array it stays a boolean); MongoDB keeps booleans")
async def test_set_keeps_booleans(servers: tuple[Any, Any], server: str) -> None:
    nx, mm = await seed(servers, [{"_id": "a", "version": 1, "o": {}}])
    coll = nx if server == "nx-27017" else mm
    await outcome(lambda: coll.update_one({"_id": "a"}, update_spec(
        {"done": True, "o.off": False, "nested": {"f": True}}, [])))
    doc = await nx.find_one({"_id": "a"}) if server == "nx-27017" else mm.find_one({"_id": "a"})
    assert doc is not None
    assert (doc["done"], doc["o"]["off"], doc["nested"]["f"]) == (True, False, True)
    assert type(doc["done"]) is bool and type(doc["o"]["off"]) is bool
