"""Filter AST, sort and keyset cursor compiled to SQLite SQL.

Paths are validated against a strict pattern before they are written into SQL
(they must appear literally so expression indexes match); every value is a
bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from baas.store.base import check_path
from baas.store.filters import And, Cmp, Filter, In, Scalar, type_class

SQL_TYPES = {
    "string": "('text')",
    "number": "('integer','real')",
}


def field_expr(path: str) -> str:
    check_path(path)
    if path == "id":
        return "id"
    return f"json_extract(doc, '$.{path}')"


def type_expr(path: str) -> str:
    return f"json_type(doc, '$.{path}')"


def _typed(path: str, value: Scalar, op: str, params: list[Any]) -> str:
    kind = type_class(value)
    if path == "id":
        if kind != "string":
            return "0"
        params.append(value)
        return f"id {op} ?"
    if kind == "boolean":
        # JSON true/false surface as 1/0 from json_extract; json_type tells them apart.
        literal = "'true'" if value else "'false'"
        if op == "=":
            return f"{type_expr(path)} = {literal}"
        if op == "<>":
            return f"({type_expr(path)} IN ('true','false') AND {type_expr(path)} <> {literal})"
        return "0"
    params.append(value)
    return f"({type_expr(path)} IN {SQL_TYPES[kind]} AND {field_expr(path)} {op} ?)"


def compile_filter(node: Filter | None, params: list[Any]) -> str:
    if node is None:
        return "1"
    if isinstance(node, Cmp):
        sql_op = "<>" if node.op == "!=" else node.op
        if node.value is None:
            expr = field_expr(node.path)
            if node.op == "=":
                return f"{expr} IS NULL"
            return f"{expr} IS NOT NULL" if node.op == "!=" else "0"
        return _typed(node.path, node.value, sql_op, params)
    if isinstance(node, In):
        if not node.values:
            return "0"
        parts = [compile_filter(Cmp("=", node.path, value), params) for value in node.values]
        return "(" + " OR ".join(parts) + ")"
    joiner = " AND " if isinstance(node, And) else " OR "
    if not node.items:
        return "1" if isinstance(node, And) else "0"
    return "(" + joiner.join(compile_filter(item, params) for item in node.items) + ")"


def order_by(sort: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{field_expr(p)} {'ASC' if d == 1 else 'DESC'}" for p, d in sort)


def _beyond(expr: str, direction: int, value: Any, params: list[Any]) -> str:
    # SQLite orders NULL first ascending; compare with that native order.
    if direction == 1:
        if value is None:
            return f"{expr} IS NOT NULL"
        params.append(value)
        return f"{expr} > ?"
    if value is None:
        return "0"
    params.append(value)
    return f"({expr} < ? OR {expr} IS NULL)"


def keyset(sort: Sequence[tuple[str, int]], values: Sequence[Any], params: list[Any]) -> str:
    """Rows strictly after ``values`` in ``sort`` order."""
    exprs = [field_expr(path) for path, _ in sort]
    if all(d == 1 for _, d in sort) and all(v is not None for v in values):
        # A row-value comparison lets the planner seek in a matching index (NULLs
        # sort first, so none can follow a non-null ascending cursor).
        params.extend(values)
        marks = ", ".join("?" for _ in values)
        return f"({', '.join(exprs)}) > ({marks})"
    clauses = []
    for k, (expr, (_, direction)) in enumerate(zip(exprs, sort, strict=True)):
        parts = []
        for j in range(k):
            params.append(values[j])
            parts.append(f"{exprs[j]} IS ?")
        parts.append(_beyond(expr, direction, values[k], params))
        clauses.append("(" + " AND ".join(parts) + ")")
    return "(" + " OR ".join(clauses) + ")"
