"""Evaluation of a parsed rule or filter against one document, in Python.

Used for single-document rule checks and (later) realtime events; the SQL and
MongoDB back-ends in ``baas.store`` must agree with it (property-tested).
"""

from __future__ import annotations

from typing import Any

from baas.core.language.syntax import (
    ORDER_OPS,
    And,
    Compare,
    ListLit,
    Lit,
    Node,
    Not,
    Operand,
    Or,
    Path,
    Var,
)
from baas.store.filters import ascii_fold

_MISSING = object()


def _operands(node: Node) -> list[Operand | ListLit]:
    if isinstance(node, Compare):
        return [node.left, node.right]
    if isinstance(node, Not):
        return _operands(node.item)
    return [operand for item in node.items for operand in _operands(item)]


def variables(node: Node) -> set[str]:
    """Every variable a node reads, e.g. ``{"auth.id", "now", "data.owner"}``."""
    return {".".join((o.name, *o.parts)) for o in _operands(node) if isinstance(o, Var)}


def paths(node: Node) -> set[str]:
    """Every document field path a node reads."""
    return {".".join(o.parts) for o in _operands(node) if isinstance(o, Path)}


def _walk(current: Any, parts: tuple[str, ...]) -> Any:
    for part in parts:
        if not isinstance(current, dict) or part not in current:
            return _MISSING
        current = current[part]
    return current


def _resolve(operand: Operand, document: dict[str, Any], bound: dict[str, Any]) -> Any:
    if isinstance(operand, Lit):
        return operand.value
    if isinstance(operand, Path):
        return _walk(document, operand.parts)
    if operand.name == "data":
        return _walk(bound.get("data", _MISSING), operand.parts)
    return bound.get(".".join((operand.name, *operand.parts)), _MISSING)


def _kind(value: Any) -> str:
    """The scalar type of a value, or "" for null, missing, arrays and objects."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else ""


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "has":
        return isinstance(left, list) and any(_compare("=", item, right) for item in left)
    kind = _kind(left)
    if not kind or kind != _kind(right):
        return False
    if op in ("~", "!~"):
        if kind != "string":
            return False
        return (ascii_fold(right) in ascii_fold(left)) == (op == "~")
    if op in ("=", "!="):
        return bool(left == right) == (op == "=")
    return kind != "boolean" and bool(ORDER_OPS[op](left, right))


def evaluate(node: Node, document: dict[str, Any], variables: dict[str, Any]) -> bool:
    """Evaluate a parsed node against one document, with the language's semantics."""
    if isinstance(node, And):
        return all(evaluate(item, document, variables) for item in node.items)
    if isinstance(node, Or):
        return any(evaluate(item, document, variables) for item in node.items)
    if isinstance(node, Not):
        return not evaluate(node.item, document, variables)
    left = _resolve(node.left, document, variables)
    right = node.right
    if isinstance(right, ListLit):
        return any(_null_or_compare("=", node.left, left, item, item.value)
                   for item in right.items)
    return _null_or_compare(node.op, node.left, left, right,
                            _resolve(right, document, variables))


def _null_or_compare(op: str, left_node: Operand, left: Any,
                     right_node: Operand, right: Any) -> bool:
    """A written ``null`` tests nullness; any other comparison goes to ``_compare``."""
    for written, other in ((right_node, left), (left_node, right)):
        if isinstance(written, Lit) and written.value is None and op in ("=", "!="):
            is_null = other is _MISSING or other is None
            return is_null if op == "=" else not is_null
    return _compare(op, left, right)
