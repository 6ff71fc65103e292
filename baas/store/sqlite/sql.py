"""Filter AST, sort and keyset cursor compiled to SQLite SQL.

Paths are validated against a strict pattern before they are written into SQL
(they must appear literally so expression indexes match); every value is a
bound parameter.

Every field is read through one key expression, ``key_expr(path)``::

    CASE json_type(doc, '$.p') WHEN 'true' THEN X'01' WHEN 'false' THEN X'00'
        WHEN 'object' THEN X'02' WHEN 'array' THEN X'02'
        ELSE ifnull(json_extract(doc, '$.p'), -9e999) END

SQLite orders numbers < TEXT < BLOB, so this key sorts exactly in the language's
order: missing and null as -Infinity (no stored number can be infinite), numbers,
strings, booleans, then arrays and objects tied. Booleans stop being the numbers 0
and 1, and the key is never NULL, so one expression serves filters, ORDER BY,
keyset row values and the declared expression indexes, and a keyset page in either
direction starts with an index seek. A comparison stays within its type with
constant type bounds (a string lies in ``['', X'')``, a number in ``(-9e999, '')``),
which are index ranges too.

``Not`` is pushed down to the leaves (``filters.push_not``); a negated leaf is
``(leaf) IS NOT 1``, exact even for the leaves that can yield NULL (``has``, ``~``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from baas.store.base import check_path
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
    ascii_fold,
    is_other,
    push_not,
    type_class,
)

TRUE, FALSE, OTHER = b"\x01", b"\x00", b"\x02"
NULL_KEY = "-9e999"  # missing and null: -Infinity, below every storable number
STRING_BOUNDS = {"low": "{k} >= ''", "high": "{k} < X''"}
NUMBER_BOUNDS = {"low": f"{{k}} > {NULL_KEY}", "high": "{k} < ''"}
ELEMENT_TYPES = {"string": "type = 'text'", "number": "type IN ('integer','real')"}


def json_path(path: str) -> str:
    check_path(path)
    return f"'$.{path}'"


def key_expr(path: str) -> str:
    """The sort and comparison key of a field (see the module docstring)."""
    check_path(path)
    if path == "id":
        return "id"
    j = json_path(path)
    return (f"CASE json_type(doc, {j}) WHEN 'true' THEN X'01' WHEN 'false' THEN X'00' "
            f"WHEN 'object' THEN X'02' WHEN 'array' THEN X'02' "
            f"ELSE ifnull(json_extract(doc, {j}), {NULL_KEY}) END")


def container_expr(path: str) -> str:
    """The JSON text of an array or object at ``path``, else ''; unique indexes add it
    so that two different arrays or objects (one key value) do not collide."""
    j = json_path(path)
    return (f"CASE WHEN json_type(doc, {j}) IN ('object','array') "
            f"THEN json_extract(doc, {j}) ELSE '' END")


def sql_value(value: Any) -> Any:
    """A scalar (or the cursor's array/object marker) as the key expression holds it."""
    if value is None:
        return float("-inf")
    if isinstance(value, bool):
        return TRUE if value else FALSE
    if is_other(value):
        return OTHER
    return value


def _cmp(node: Cmp, params: list[Any]) -> str:
    k = key_expr(node.path)
    value, kind = node.value, type_class(node.value)
    if node.path == "id":
        if kind != "string":
            return "1" if value is None and node.op == "!=" else "0"
        params.append(value)
        return f"id {'<>' if node.op == '!=' else node.op} ?"
    if value is None:
        return f"{k} = {NULL_KEY}" if node.op == "=" else f"{k} > {NULL_KEY}"
    if kind == "boolean":
        # Ordering operators never take a boolean (Cmp refuses them).
        params.append(sql_value(value if node.op == "=" else not value))
        return f"{k} = ?"
    params.append(value)
    if node.op == "=":
        return f"{k} = ?"
    bounds = STRING_BOUNDS if kind == "string" else NUMBER_BOUNDS
    needed = {"!=": ("low", "high"), "<": ("low",), "<=": ("low",), ">": ("high",),
              ">=": ("high",)}[node.op]
    sql_op = "<>" if node.op == "!=" else node.op
    return "(" + " AND ".join([f"{k} {sql_op} ?", *(bounds[b].format(k=k) for b in needed)]) + ")"


def _in(node: In, params: list[Any]) -> str:
    if node.path == "id":
        values: list[Any] = [v for v in node.values if isinstance(v, str)]
    else:
        values = list(node.values)
    if not values:
        return "0"
    params.extend(sql_value(v) for v in values)
    k = key_expr(node.path)
    return f"{k} = ?" if len(values) == 1 else f"{k} IN ({', '.join('?' for _ in values)})"


def _has(node: Has, params: list[Any]) -> str:
    kind = type_class(node.value)
    if node.value is None or node.path == "id":
        return "0"
    j = json_path(node.path)
    if kind == "boolean":
        element = "type = 'true'" if node.value else "type = 'false'"
    else:
        params.append(node.value)
        element = f"{ELEMENT_TYPES[kind]} AND value = ?"
    return (f"(json_type(doc, {j}) = 'array' AND "
            f"EXISTS (SELECT 1 FROM json_each(doc, {j}) WHERE {element}))")


def _contains(node: Contains, params: list[Any]) -> str:
    # lower() folds ASCII letters only (no ICU), exactly the language's folding.
    params.append(ascii_fold(node.text))
    found = "= 0" if node.negate else "> 0"
    if node.path == "id":
        return f"instr(lower(id), ?) {found}"
    j = json_path(node.path)
    return (f"(json_type(doc, {j}) = 'text' AND "
            f"instr(lower(json_extract(doc, {j})), ?) {found})")


def _leaf(node: Filter, params: list[Any]) -> str:
    if isinstance(node, Cmp):
        return _cmp(node, params)
    if isinstance(node, In):
        return _in(node, params)
    if isinstance(node, Has):
        return _has(node, params)
    assert isinstance(node, Contains)
    return _contains(node, params)


def _compile(node: Filter, params: list[Any]) -> str:
    if isinstance(node, Const):
        return "1" if node.value else "0"
    if isinstance(node, Not):
        # Only leaves are negated here; IS NOT 1 also holds where the leaf is NULL.
        return f"({_leaf(node.item, params)}) IS NOT 1"
    if isinstance(node, And | Or):
        if not node.items:
            return "1" if isinstance(node, And) else "0"
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(_compile(item, params) for item in node.items) + ")"
    return _leaf(node, params)


def compile_filter(node: Filter | None, params: list[Any]) -> str:
    if node is None:
        return "1"
    return _compile(push_not(node), params)


def order_by(sort: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{key_expr(p)} {'ASC' if d == 1 else 'DESC'}" for p, d in sort)


def keyset(sort: Sequence[tuple[str, int]], values: Sequence[Any], params: list[Any]) -> str:
    """Rows strictly after ``values`` in ``sort`` order.

    Keys are never NULL, so this is a row-value comparison when every key ascends,
    else the usual expansion; either way it starts with a bound on the first key
    (``K1 >= v1``, or ``<=`` descending), which the planner turns into an index seek
    (it does not seek on a row value over expression-index columns).
    """
    exprs = [key_expr(path) for path, _ in sort]
    keys = [sql_value(v) for v in values]
    if len(sort) == 1:
        params.append(keys[0])
        return f"({exprs[0]} {'>' if sort[0][1] == 1 else '<'} ?)"
    params.append(keys[0])
    seek = f"{exprs[0]} {'>=' if sort[0][1] == 1 else '<='} ?"
    if all(d == 1 for _, d in sort):
        params.extend(keys)
        marks = ", ".join("?" for _ in keys)
        return f"({seek} AND ({', '.join(exprs)}) > ({marks}))"
    clauses = []
    for k, (expr, (_, direction)) in enumerate(zip(exprs, sort, strict=True)):
        parts = []
        for j in range(k):
            params.append(keys[j])
            parts.append(f"{exprs[j]} = ?")
        params.append(keys[k])
        parts.append(f"{expr} {'>' if direction == 1 else '<'} ?")
        clauses.append("(" + " AND ".join(parts) + ")")
    return f"({seek} AND (" + " OR ".join(clauses) + "))"
