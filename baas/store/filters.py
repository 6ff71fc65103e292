"""The filter AST shared by every engine, its Python evaluator and sort reference.

Semantics are the language's own (shared/API.md): a comparison between values of
different types is false; ``= null`` matches a missing field or a null and
``!= null`` the opposite; arrays and objects never equal a scalar; ``has`` looks for
an equal element of an array; ``~`` is a substring test folding ASCII letters only.
Sorting puts missing and null first ascending, then numbers, strings, booleans, and
arrays and objects (tied), ``id`` breaking ties (``sort_documents``). The SQL and
MongoDB back-ends live with their engines and must agree with ``matches`` and
``sort_documents``.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

Scalar = str | int | float | bool | None
CmpOp = Literal["=", "!=", "<", "<=", ">", ">="]
ORDER_OPS = ("<", "<=", ">", ">=")
MAX_IN = 1000

_MISSING = object()


class FilterError(ValueError):
    """A filter that cannot be built: bad operator, operand or path."""


class CursorError(FilterError):
    """A keyset cursor that does not belong to the query (engines raise InvalidCursor)."""


@dataclass(frozen=True)
class Cmp:
    op: CmpOp
    path: str
    value: Scalar

    def __post_init__(self) -> None:
        if self.op not in ("=", "!=", "<", "<=", ">", ">="):
            raise FilterError(f"unknown operator {self.op!r}")
        _check_scalar(self.value)
        if self.op in ORDER_OPS and (self.value is None or isinstance(self.value, bool)):
            raise FilterError(f"{self.op} needs a number or a string, not {json.dumps(self.value)}")


@dataclass(frozen=True)
class In:
    path: str
    values: tuple[Scalar, ...]

    def __post_init__(self) -> None:
        if len(self.values) > MAX_IN:
            raise FilterError(f"'in' takes at most {MAX_IN} values")
        for value in self.values:
            _check_scalar(value)


@dataclass(frozen=True)
class Has:
    """True when the array at ``path`` holds an element equal to ``value`` (same type)."""

    path: str
    value: Scalar

    def __post_init__(self) -> None:
        _check_scalar(self.value)


@dataclass(frozen=True)
class Contains:
    """True when ``path`` is a string containing ``text``, ASCII letters case-folded.

    ``negate`` gives ``!~``: a string that does not contain ``text`` (a non-string is
    false either way). Only ASCII letters fold so every engine agrees exactly.
    """

    path: str
    text: str
    negate: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise FilterError("'~' needs a string")


@dataclass(frozen=True)
class Not:
    item: Filter


@dataclass(frozen=True)
class Const:
    """A filter that matches every document (True) or none (False)."""

    value: bool


@dataclass(frozen=True)
class And:
    items: tuple[Filter, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Filter, ...]


Filter = Cmp | In | Has | Contains | Not | Const | And | Or

ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_fold(text: str) -> str:
    return text.translate(ASCII_FOLD)


def _check_scalar(value: Any) -> None:
    if value is not None and not isinstance(value, str | int | float | bool):
        raise FilterError("filter values must be strings, numbers, booleans or null")
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError("filter numbers must be finite")


def eq(path: str, value: Scalar) -> Cmp:
    return Cmp("=", path, value)


def all_of(*items: Filter | None) -> Filter | None:
    kept = tuple(item for item in items if item is not None)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else And(kept)


def type_class(value: Any) -> str:
    """The language's type of a JSON value: null, number, string, boolean, array, object."""
    if value is None or value is _MISSING:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def get_path(document: dict[str, Any], path: str) -> Any:
    current: Any = document
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return _MISSING
        current = current[part]
    return current


def _compare(op: str, actual: Any, expected: Scalar) -> bool:
    if expected is None:
        is_null = actual is _MISSING or actual is None
        return is_null if op == "=" else (not is_null if op == "!=" else False)
    if type_class(actual) != type_class(expected):
        return False
    if op == "=":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    if op == "<":
        return bool(actual < expected)
    if op == "<=":
        return bool(actual <= expected)
    if op == ">":
        return bool(actual > expected)
    return bool(actual >= expected)


def matches(node: Filter | None, document: dict[str, Any]) -> bool:
    """Evaluate a filter against one document in Python."""
    if node is None:
        return True
    if isinstance(node, Cmp):
        return _compare(node.op, get_path(document, node.path), node.value)
    if isinstance(node, In):
        actual = get_path(document, node.path)
        return any(_compare("=", actual, value) for value in node.values)
    if isinstance(node, Has):
        actual = get_path(document, node.path)
        return node.value is not None and isinstance(actual, list) and any(
            _compare("=", item, node.value) for item in actual)
    if isinstance(node, Contains):
        actual = get_path(document, node.path)
        if not isinstance(actual, str):
            return False
        return (ascii_fold(node.text) in ascii_fold(actual)) != node.negate
    if isinstance(node, Not):
        return not matches(node.item, document)
    if isinstance(node, Const):
        return node.value
    if isinstance(node, And):
        return all(matches(item, document) for item in node.items)
    return any(matches(item, document) for item in node.items)


def paths(node: Filter | None) -> set[str]:
    """Every field path a filter reads."""
    if node is None:
        return set()
    if isinstance(node, Cmp | In | Has | Contains):
        return {node.path}
    if isinstance(node, Const):
        return set()
    if isinstance(node, Not):
        return paths(node.item)
    return set().union(*(paths(item) for item in node.items))


# Negation: push ``Not`` down to the leaves (De Morgan), so back-ends only ever
# negate a single comparison.

def push_not(node: Filter, negate: bool = False) -> Filter:
    """An equivalent filter in which ``Not`` wraps only leaves (Cmp, In, Has, Contains)."""
    if isinstance(node, Not):
        return push_not(node.item, not negate)
    if isinstance(node, Const):
        return Const(node.value != negate)
    if isinstance(node, And | Or):
        items = tuple(push_not(item, negate) for item in node.items)
        return (Or(items) if isinstance(node, And) else And(items)) if negate else type(node)(items)
    return Not(node) if negate else node


def conjoin(items: Sequence[Filter]) -> Filter:
    """``And`` of ``items`` with constants folded and nested ``And`` flattened."""
    kept: list[Filter] = []
    for item in items:
        if isinstance(item, Const):
            if not item.value:
                return Const(False)
            continue
        kept.extend(item.items if isinstance(item, And) else (item,))
    if not kept:
        return Const(True)
    return kept[0] if len(kept) == 1 else And(tuple(kept))


def disjoin(items: Sequence[Filter]) -> Filter:
    """``Or`` of ``items`` with constants folded and nested ``Or`` flattened."""
    kept: list[Filter] = []
    for item in items:
        if isinstance(item, Const):
            if item.value:
                return Const(True)
            continue
        kept.extend(item.items if isinstance(item, Or) else (item,))
    if not kept:
        return Const(False)
    return kept[0] if len(kept) == 1 else Or(tuple(kept))


def negate(node: Filter) -> Filter:
    if isinstance(node, Const):
        return Const(not node.value)
    return node.item if isinstance(node, Not) else Not(node)


# Sorting: missing and null first ascending, then numbers, strings, booleans, and
# arrays and objects last (tied among themselves); ``id`` breaks ties.

TYPE_RANK = {"null": 0, "number": 1, "string": 2, "boolean": 3, "array": 4, "object": 4}


def sort_key(value: Any) -> tuple[int, Any]:
    """The language's sort key of one value (``_MISSING`` sorts as null)."""
    rank = TYPE_RANK[type_class(value)]
    return (rank, value) if rank in (1, 2, 3) else (rank, 0)


def sort_documents(documents: Sequence[dict[str, Any]],
                   sort: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    """``documents`` in ``sort`` order (``id`` ascending breaks ties): the reference."""
    result = list(documents)
    for path, direction in reversed(normalize_sort(sort)):
        def key(doc: dict[str, Any], p: str = path) -> tuple[int, Any]:
            return sort_key(get_path(doc, p))

        result.sort(key=key, reverse=direction == -1)
    return result


# Keyset cursors: the sort values of the last row of a page plus its id. An array or
# object at a sort path is written as ``{}``: its rank, as all such values tie.

OTHER: dict[str, Any] = {}


def is_other(value: Any) -> bool:
    """A cursor value standing for an array or object (they all sort alike)."""
    return isinstance(value, dict)


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise CursorError("invalid cursor: pass the next_cursor of the previous page") from None
    if not isinstance(values, list) or len(values) != width:
        raise CursorError("invalid cursor: it belongs to a query with another sort")
    for value in values:
        try:
            if value != OTHER:
                _check_scalar(value)
        except FilterError:
            raise CursorError("invalid cursor: pass the next_cursor of the previous page"
                              ) from None
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise CursorError("invalid cursor: pass the next_cursor of the previous page")
    if not isinstance(values[-1], str):
        raise CursorError("invalid cursor: pass the next_cursor of the previous page")
    return values


def normalize_sort(sort: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """The sort ending with ``id``: appended as the final tie-breaker, or, where the
    sort names it, keys after it dropped (ids are unique, so they never decide)."""
    result: list[tuple[str, int]] = []
    for path, direction in sort:
        if direction not in (1, -1):
            raise FilterError("sort direction must be 1 or -1")
        result.append((path, direction))
        if path == "id":
            return result
    result.append(("id", 1))
    return result


def cursor_values(document: dict[str, Any], sort: Sequence[tuple[str, int]]) -> list[Any]:
    values = []
    for path, _ in sort:
        value = get_path(document, path)
        if value is _MISSING:
            value = None
        elif isinstance(value, dict | list):
            value = dict(OTHER)
        values.append(value)
    return values
