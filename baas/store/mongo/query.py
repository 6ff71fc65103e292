"""Filter AST, sort and keyset cursor compiled to MongoDB query documents.

Only constructs that behave the same on MongoDB and on the nx-27017 test stand-in
are emitted (see docs/architecture.md; tests/store/test_differential.py holds them
equal):

- Every comparison with a value carries a ``$type`` guard (``{f: {$type: "number",
  $lt: 5}}``), so booleans never pass for numbers (the stand-in treats ``true`` as 1
  and orders booleans among numbers) and nothing compares across types.
- MongoDB's implicit array matching is cut off with ``$nor: [{f: {$type: "array"}}]``
  (an array never equals a scalar), and, for dotted paths, the same guard on every
  parent, since the language sees ``a.b`` as missing when ``a`` is an array while
  MongoDB looks inside it.
- Null tests are spelled ``$eq: null`` (with the array guard) and ``$exists: true,
  $ne: null`` (or an array).
- No ``$not``; ``$nor`` only around ``$type`` and ``$elemMatch``. ``Not`` is pushed
  down to the leaves (``filters.push_not``) and each leaf has a complement built
  from the same constructs (``f != 5`` negated is "not a number, or an array, or a
  number other than 5").
- ``~`` is a ``$regex`` without options: each ASCII letter a class (``[lL]``), every
  other ASCII character a ``\\xHH`` escape, other characters literal, so only ASCII
  letters fold; ``!~`` is a negative look-ahead on the same pattern.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from baas.store.base import InvalidQuery, check_path
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
    is_other,
    push_not,
    type_class,
)

Query = dict[str, Any]
NOTHING: Query = {"_id": {"$in": []}}
MONGO_OPS = {"=": "$eq", "!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
COMPLEMENT = {"=": "$ne", "!=": "$eq", "<": "$gte", "<=": "$gt", ">": "$lte", ">=": "$lt"}
MONGO_TYPES = {"string": "string", "number": "number", "boolean": "bool"}
CONTAINERS = ("array", "object")


def mongo_path(path: str) -> str:
    check_path(path)
    return "_id" if path == "id" else path


def all_of(items: Sequence[Query]) -> Query:
    if any(item == NOTHING for item in items):
        return NOTHING
    kept = [item for item in items if item != {}]
    if not kept:
        return {}
    return kept[0] if len(kept) == 1 else {"$and": kept}


def any_of(items: Sequence[Query]) -> Query:
    if any(item == {} for item in items):
        return {}
    kept = [item for item in items if item != NOTHING]
    if not kept:
        return NOTHING
    return kept[0] if len(kept) == 1 else {"$or": kept}


def none_of(items: Sequence[Query]) -> Query:
    """``$nor``, only ever around ``$type`` and ``$elemMatch`` tests."""
    return {"$nor": list(items)} if items else {}


def is_type(path: str, kind: str) -> Query:
    return {path: {"$type": kind}}


def parents(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def arrays(path: str, itself: bool = True) -> list[Query]:
    """Where the language sees no scalar at ``path``: it, or a parent, is an array."""
    return [is_type(p, "array") for p in parents(path) + ([path] if itself else [])]


def text_pattern(text: str) -> str:
    """A regex matching ``text`` with ASCII letters case-folded and nothing else special."""
    out = []
    for char in text:
        if char.isascii() and char.isalpha():
            out.append(f"[{char.lower()}{char.upper()}]")
        elif "0" <= char <= "9" or not char.isascii():
            out.append(char)
        else:
            out.append(f"\\x{ord(char):02x}")
    return "".join(out)


def _null(path: str) -> tuple[Query, Query]:
    """(``= null``, ``!= null``) on a field other than the id: an array is never null
    (MongoDB would see null in ``[1, null]``), a path through an array always is."""
    own, up = [is_type(path, "array")], arrays(path, itself=False)
    is_null = any_of([all_of([{path: {"$eq": None}}, none_of(own)]), *up])
    not_null = all_of([any_of([{path: {"$exists": True, "$ne": None}}, *own]), none_of(up)])
    return is_null, not_null


def _typed(path: str, kind: str, condition: Query, complement: Query) -> tuple[Query, Query]:
    """A scalar of ``kind`` meeting ``condition``, and the exact complement."""
    return (all_of([{path: {"$type": kind, **condition}}, none_of(arrays(path))]),
            any_of([none_of([is_type(path, kind)]), {path: {"$type": kind, **complement}},
                    *arrays(path)]))


def _cmp(node: Cmp) -> tuple[Query, Query]:
    path, value, kind = mongo_path(node.path), node.value, type_class(node.value)
    if path == "_id":
        if value is None:
            return (NOTHING, {}) if node.op == "=" else ({}, NOTHING)
        if kind != "string":
            return NOTHING, {}
        # The id is always a string; the guard keeps the stand-in from comparing ids
        # with date-shaped strings as times (docs/architecture.md).
        return ({path: {"$type": "string", MONGO_OPS[node.op]: value}},
                {path: {"$type": "string", COMPLEMENT[node.op]: value}})
    if value is None:
        is_null, not_null = _null(path)
        return (is_null, not_null) if node.op == "=" else (not_null, is_null)
    return _typed(path, MONGO_TYPES[kind], {MONGO_OPS[node.op]: value},
                  {COMPLEMENT[node.op]: value})


def _in(node: In) -> tuple[Query, Query]:
    path = mongo_path(node.path)
    if path == "_id":
        ids = [v for v in node.values if isinstance(v, str)]
        return ({path: {"$type": "string", "$in": ids}},
                {path: {"$type": "string", "$nin": ids}}) if ids else (NOTHING, {})
    groups: dict[str, list[Any]] = {}
    for value in node.values:
        if value is not None:
            groups.setdefault(MONGO_TYPES[type_class(value)], []).append(value)
    matched, unmatched = [], []
    if groups:
        matched.append(all_of([any_of([{path: {"$type": kind, "$in": values}}
                                       for kind, values in groups.items()]),
                               none_of(arrays(path))]))
        unmatched.append(any_of([none_of([is_type(path, kind) for kind in groups]),
                                 *[{path: {"$type": kind, "$nin": values}}
                                   for kind, values in groups.items()],
                                 *arrays(path)]))
    if None in node.values:
        is_null, not_null = _null(path)
        matched.append(is_null)
        unmatched.append(not_null)
    return any_of(matched), all_of(unmatched)


def _has(node: Has) -> tuple[Query, Query]:
    path = mongo_path(node.path)
    if node.value is None or path == "_id":
        return NOTHING, {}
    element = {path: {"$elemMatch": {"$eq": node.value,
                                     "$type": MONGO_TYPES[type_class(node.value)]}}}
    guard = arrays(path, itself=False)
    return all_of([element, none_of(guard)]), any_of([none_of([element]), *guard])


def _contains(node: Contains) -> tuple[Query, Query]:
    path = mongo_path(node.path)
    found = text_pattern(node.text)
    missing = f"^(?![\\s\\S]*{found})"
    yes, no = (missing, found) if node.negate else (found, missing)
    if path == "_id":
        return {path: {"$regex": yes}}, {path: {"$regex": no}}
    return _typed(path, "string", {"$regex": yes}, {"$regex": no})


def _leaf(node: Filter) -> tuple[Query, Query]:
    """The leaf and its exact complement."""
    if isinstance(node, Cmp):
        return _cmp(node)
    if isinstance(node, In):
        return _in(node)
    if isinstance(node, Has):
        return _has(node)
    assert isinstance(node, Contains)
    return _contains(node)


def _compile(node: Filter) -> Query:
    if isinstance(node, Const):
        return {} if node.value else NOTHING
    if isinstance(node, Not):
        return _leaf(node.item)[1]
    if isinstance(node, And):
        return all_of([_compile(item) for item in node.items])
    if isinstance(node, Or):
        return any_of([_compile(item) for item in node.items])
    return _leaf(node)[0]


def compile_filter(node: Filter | None) -> Query:
    return {} if node is None else _compile(push_not(node))


# -- sorting ----------------------------------------------------------------------

RANKED = ("number", "string", "bool")  # the language's order of scalar types


def sort_spec(sort: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(mongo_path(path), direction) for path, direction in sort]


def _equal(path: str, value: Any) -> Query:
    if value is None:
        return {path: {"$eq": None}}
    return {path: {"$type": MONGO_TYPES[type_class(value)], "$eq": value}}


def _beyond(path: str, direction: int, value: Any) -> Query:
    """Rows after ``value`` at one key, by type rank, then by value within the type
    (MongoDB's ``$gt``/``$lt`` stay within a type)."""
    if path == "_id":
        return {path: {"$type": "string", "$gt" if direction == 1 else "$lt": value}}
    if value is None:
        return {path: {"$exists": True, "$ne": None}} if direction == 1 else NOTHING
    kind = MONGO_TYPES[type_class(value)]
    rank = RANKED.index(kind)
    same = {path: {"$type": kind, "$gt" if direction == 1 else "$lt": value}}
    if direction == 1:
        # Arrays and objects come last; they are then refused when they show up.
        higher = [is_type(path, k) for k in (*RANKED[rank + 1:], *CONTAINERS)]
        return any_of([same, *higher])
    lower = [is_type(path, k) for k in RANKED[:rank]]
    return any_of([same, *lower, {path: {"$eq": None}}])


def keyset(sort: Sequence[tuple[str, int]], values: Sequence[Any]) -> Query:
    """Rows strictly after ``values`` in ``sort`` order."""
    if any(is_other(value) for value in values):
        raise InvalidQuery("invalid cursor: it names an array or object, which the MongoDB "
                           "engine does not sort")
    paths = [mongo_path(path) for path, _ in sort]
    clauses = []
    for k, (path, (_, direction)) in enumerate(zip(paths, sort, strict=True)):
        parts = [_equal(paths[j], values[j]) for j in range(k)]
        parts.append(_beyond(path, direction, values[k]))
        clauses.append(all_of(parts))
    return any_of(clauses)


def sort_probe(sort: Sequence[tuple[str, int]], offset: int = 0) -> Query | None:
    """Documents MongoDB may place where the language would not, unseen in the page.

    MongoDB sorts an array by its least (ascending) or greatest (descending) element
    and objects before booleans; the language puts both after every scalar. In an
    ascending sort such a value is either in the page (and ``unsortable`` refuses
    it) or after it in both orders; in a descending sort, or past an offset, it may
    be skipped unseen. A dotted key through an array is null to the language but
    holds the elements' values for MongoDB, so it is probed in either direction.
    None when nothing needs probing.
    """
    clauses: list[Query] = []
    for path, direction in sort:
        if path == "id":
            continue
        if direction == -1 or offset:
            clauses += [is_type(path, kind) for kind in CONTAINERS]
        clauses += arrays(path, itself=False)
    return any_of(clauses) if clauses else None


def unsortable(document: dict[str, Any], sort: Sequence[tuple[str, int]]) -> str | None:
    """The first sort path at which ``document`` holds an array or object, or runs
    through an array: the language and MongoDB order those differently."""
    for path, _ in sort:
        current: Any = document
        for part in path.split("."):
            if isinstance(current, list):
                return path
            if not isinstance(current, dict) or part not in current:
                current = None
                break
            current = current[part]
        if isinstance(current, list | dict):
            return path
    return None


def unsortable_error(path: str) -> InvalidQuery:
    return InvalidQuery(f"sorting on {path!r}, which holds arrays or objects here, is not "
                        "supported on the MongoDB engine; sort on a field holding scalars")
