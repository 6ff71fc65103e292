"""Parsed filter-language expressions compiled into the store's filter AST.

``to_filter(node, variables)`` binds the variables (``auth.id``, ``auth.email``,
``auth.role``, ``now``, ``data``) and returns a ``baas.store.Filter`` that every
engine runs with the language's semantics; ``language.evaluate`` is the reference
and ``filters.matches(to_filter(node, v), doc) == language.evaluate(node, doc, v)``
for every document.

- A comparison without a document field (literal or variable on both sides) is
  folded into ``Const``, by ``language.evaluate`` itself, and ``&&``/``||``/``!``
  simplify around constants.
- Only a written ``null`` tests nullness: ``x = null`` becomes ``Cmp("=", x, None)``.
  A variable that is missing or null (``@auth.id`` of a guest) compares false with
  everything, ``!=`` included, so ``owner = @auth.id`` and ``owner != @auth.id`` are
  both ``Const(False)`` for a guest. Variables holding arrays or objects (``@data.x``)
  compare false too, except on the left of ``has``: ``@data.tags has owner`` is
  ``In(owner, <the scalar elements>)``.
- A value on the left is mirrored: ``10 < price`` is ``price > 10``.
- ``in`` becomes ``In``, ``has`` ``Has`` and ``~``/``!~`` ``Contains``.

Refused, with ``QueryError`` (a ``LanguageError`` with code ``unsupported_filter``,
so callers that turn language errors into a 400 need nothing more): a comparison
between two document fields (``owner = author``), and ``"text" ~ field`` (a field
on the right of ``~``/``!~``): neither can run as an index-friendly query on every
engine. The parsed tree keeps no positions, so the error's ``column`` is 1 (the
whole expression). ``check(node)`` raises the same errors without variables, for
rules that are stored now and compiled later.
"""

from __future__ import annotations

import json
from typing import Any

from baas.core import language
from baas.core.language import Compare, ListLit, Lit, Node, Path, Var
from baas.store.filters import (
    MAX_IN,
    Cmp,
    Const,
    Contains,
    Filter,
    Has,
    In,
    conjoin,
    disjoin,
    negate,
)

MIRRORED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_MISSING = object()


class QueryError(language.LanguageError):
    """A well-formed expression that cannot be compiled into a store query."""

    code = "unsupported_filter"

    def __init__(self, problem: str) -> None:
        ValueError.__init__(self, problem)
        self.column = 1
        self.message = problem


def _field(path: Path) -> str:
    return ".".join(path.parts)


def _resolve(operand: Var | Lit, variables: dict[str, Any]) -> Any:
    """A literal's value, or a variable's bound value (``_MISSING`` when unbound)."""
    if isinstance(operand, Lit):
        return operand.value
    if operand.name == "data":
        current: Any = variables.get("data", _MISSING)
        for part in operand.parts:
            if not isinstance(current, dict) or part not in current:
                return _MISSING
            current = current[part]
        return current
    return variables.get(".".join((operand.name, *operand.parts)), _MISSING)


def _show(node: Compare) -> str:
    def side(operand: Path | Var | Lit | ListLit) -> str:
        if isinstance(operand, Path):
            return _field(operand)
        if isinstance(operand, Var):
            return "@" + ".".join((operand.name, *operand.parts))
        if isinstance(operand, ListLit):
            return "[...]"
        return json.dumps(operand.value)[:40]

    return f"{side(node.left)} {node.op} {side(node.right)}"


def _is_scalar(value: Any) -> bool:
    return value is not None and value is not _MISSING and isinstance(
        value, str | int | float | bool)


def _field_and_value(op: str, path: Path, operand: Var | Lit, variables: dict[str, Any]
                     ) -> Filter:
    """``path op value`` with the field on the left (the operator already mirrored)."""
    field = _field(path)
    if isinstance(operand, Lit) and operand.value is None and op in ("=", "!="):
        return Cmp("=" if op == "=" else "!=", field, None)
    value = _resolve(operand, variables)
    if not _is_scalar(value):
        return Const(False)  # null, missing, arrays and objects compare false
    if op == "has":
        return Has(field, value)
    if op in ("~", "!~"):
        return Contains(field, value, op == "!~") if isinstance(value, str) else Const(False)
    if op not in ("=", "!=") and isinstance(value, bool):
        return Const(False)  # booleans have no order
    return Cmp(op, field, value)  # type: ignore[arg-type]


def _compare(node: Compare, variables: dict[str, Any]) -> Filter:
    left, right = node.left, node.right
    if not isinstance(left, Path) and not isinstance(right, Path):
        # No document field: the comparison is a constant; evaluate it as the rules do.
        return Const(language.evaluate(node, {}, variables))
    if isinstance(left, Path) and isinstance(right, Path):
        raise QueryError(f"comparing two fields ({_show(node)}) is not supported in a "
                         "filter; compare a field with a value or a variable")
    if isinstance(right, ListLit):
        assert isinstance(left, Path)
        return In(_field(left), tuple(item.value for item in right.items))
    if isinstance(left, Path):
        assert not isinstance(right, Path)
        return _field_and_value(node.op, left, right, variables)
    assert isinstance(right, Path)
    if node.op == "has":
        # @data.tags has owner: the field equals one of the variable's elements.
        value = _resolve(left, variables)
        items = [item for item in value if _is_scalar(item)] if isinstance(value, list) else []
        return disjoin([In(_field(right), tuple(items[i:i + MAX_IN]))
                        for i in range(0, len(items), MAX_IN)])
    if node.op in ("~", "!~"):
        raise QueryError(f"'{node.op}' needs the field on its left ({_show(node)}); "
                         "a field on the right is not supported in a filter")
    return _field_and_value(MIRRORED[node.op], right, left, variables)


def to_filter(node: Node, variables: dict[str, Any]) -> Filter:
    """The store filter of a parsed expression with ``variables`` bound."""
    if isinstance(node, language.And):
        return conjoin([to_filter(item, variables) for item in node.items])
    if isinstance(node, language.Or):
        return disjoin([to_filter(item, variables) for item in node.items])
    if isinstance(node, language.Not):
        return negate(to_filter(node.item, variables))
    return _compare(node, variables)


def check(node: Node) -> None:
    """Raise QueryError now if ``node`` could never be compiled (e.g. a stored rule)."""
    probe = {"auth.id": "", "auth.email": "", "auth.role": "", "now": "", "data": {}}
    to_filter(node, probe)


def paths_of(node: Node) -> set[str]:
    """Every document field path an expression reads."""
    return language.paths(node)
