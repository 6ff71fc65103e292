"""Filter AST, sort and keyset cursor compiled to MongoDB query documents.

Only constructs that behave the same on MongoDB and on the nx-27017 test
stand-in are emitted (see docs/architecture.md; tests/store/test_differential.py
holds them equal): no ``$not``, ``$nor`` only around ``$type``, null tests spelled
``$eq: null`` and ``$exists: true, $ne: null``. MongoDB's implicit array matching
(``{f: 5}`` matching ``[5]``) is cut off with a ``$nor``/``$type: array`` guard, so an
array never equals a scalar, as the language's semantics say.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from baas.store.base import check_path
from baas.store.filters import And, Cmp, Filter, In, type_class

MONGO_OPS = {"=": "$eq", "!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
MONGO_TYPES = {"string": "string", "number": "number", "boolean": "bool"}


def mongo_path(path: str) -> str:
    check_path(path)
    return "_id" if path == "id" else path


def _not_array(path: str) -> dict[str, Any]:
    return {"$nor": [{path: {"$type": "array"}}]}


def _cmp(node: Cmp) -> dict[str, Any]:
    path = mongo_path(node.path)
    if node.value is None:
        if path == "_id":
            return {"_id": {"$in": []}} if node.op == "=" else {}
        # Known gap: on MongoDB an array holding null also counts as null here; the
        # stand-in cannot run a guard for it (see docs/architecture.md).
        if node.op == "=":
            return {path: {"$eq": None}}
        return {path: {"$exists": True, "$ne": None}}
    condition: dict[str, Any] = {MONGO_OPS[node.op]: node.value}
    if node.op == "!=":
        # $ne alone would also match missing fields and other types.
        condition = {"$type": MONGO_TYPES[type_class(node.value)], "$ne": node.value}
    if path == "_id":
        return {path: condition}
    return {"$and": [{path: condition}, _not_array(path)]}


def compile_filter(node: Filter | None) -> dict[str, Any]:
    if node is None:
        return {}
    if isinstance(node, Cmp):
        return _cmp(node)
    if isinstance(node, In):
        path = mongo_path(node.path)
        condition = {path: {"$in": list(node.values)}}
        if path == "_id" or not node.values:
            return condition
        return {"$and": [condition, _not_array(path)]}
    if not node.items:
        return {} if isinstance(node, And) else {"_id": {"$in": []}}
    key = "$and" if isinstance(node, And) else "$or"
    return {key: [compile_filter(item) for item in node.items]}


def sort_spec(sort: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(mongo_path(path), direction) for path, direction in sort]


def _beyond(path: str, direction: int, value: Any) -> dict[str, Any]:
    # MongoDB sorts missing and null first ascending.
    if direction == 1:
        if value is None:
            return {path: {"$exists": True, "$ne": None}}
        return {path: {"$gt": value}}
    if value is None:
        return {"_id": {"$in": []}}
    return {"$or": [{path: {"$lt": value}}, {path: {"$eq": None}}]}


def keyset(sort: Sequence[tuple[str, int]], values: Sequence[Any]) -> dict[str, Any]:
    paths = [mongo_path(path) for path, _ in sort]
    clauses = []
    for k, (path, (_, direction)) in enumerate(zip(paths, sort, strict=True)):
        parts: list[dict[str, Any]] = [{paths[j]: {"$eq": values[j]}} for j in range(k)]
        parts.append(_beyond(path, direction, values[k]))
        clauses.append({"$and": parts} if len(parts) > 1 else parts[0])
    return {"$or": clauses}
