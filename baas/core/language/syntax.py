"""The filter and rule language: tokenizer, parser and syntax tree.

One small hand-written recursive-descent parser (shared/API.md) so that every
engine compiles the same tree and every error names a 1-based column. Precedence,
tightest first: ``!`` (which applies to the next comparison or parenthesized group),
comparisons, ``&&``, ``||``. Limits are enforced while parsing, so a hostile filter
costs a 400, never a slow query.

Semantics, identical on every engine: comparisons are defined only between two
scalars of the same type (bool is not a number); anything else is false, never an
error. Only a written ``null`` tests for nullness: ``x = null`` matches a missing
field or a null and ``x != null`` the opposite, while two values that merely happen
to be null never compare equal, so ``owner = @auth.id`` cannot match a guest.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

Scalar = str | int | float | bool | None
CompareOp = Literal["=", "!=", "<", "<=", ">", ">=", "in", "has", "~", "!~"]

MAX_LENGTH = 4096
MAX_DEPTH = 32
MAX_IN = 1000
MAX_SORT_KEYS = 8
# Also covers the system fields id, created_at, updated_at and version.
SEGMENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
AUTH_FIELDS = frozenset({"id", "email", "role"})
ORDER_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
COMPARE_OPS = frozenset({"=", "!=", "<", "<=", ">", ">=", "has", "~", "!~"})
KEYWORDS = {"true": True, "false": False, "null": None}
NOT_NUMBERS = frozenset({"NaN", "Infinity"})
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?P<frac>\.[0-9]+)?(?P<exp>[eE][+-]?[0-9]+)?")
_WORD_RE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$.]*")
_SYMBOLS = ("&&", "||", "!=", "!~", "<=", ">=", "!", "=", "<", ">", "~", "(", ")", "[", "]", ",")


class LanguageError(ValueError):
    """A filter, rule or sort that cannot be parsed; ``column`` is 1-based."""

    code = "invalid_filter"

    def __init__(self, problem: str, column: int) -> None:
        self.column = column
        self.message = f"{problem} at column {column}"
        super().__init__(self.message)


@dataclass(frozen=True)
class Path:
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Var:
    name: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Lit:
    value: Scalar


@dataclass(frozen=True)
class ListLit:
    items: tuple[Lit, ...]


@dataclass(frozen=True)
class Compare:
    op: CompareOp
    left: Path | Var | Lit
    right: Path | Var | Lit | ListLit


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Compare | Not | And | Or
Operand = Path | Var | Lit


@dataclass(frozen=True)
class _Token:
    kind: Literal["sym", "str", "num", "word", "var", "end"]
    text: str
    column: int
    value: Any = None


def _check_length(text: str) -> None:
    if len(text) > MAX_LENGTH:
        raise LanguageError(f"longer than {MAX_LENGTH} characters", MAX_LENGTH + 1)


def _path_parts(word: str, column: int) -> tuple[str, ...]:
    """Split a dotted path and check each segment (so ``__proto__`` or ``$where`` fail)."""
    parts = tuple(word.split("."))
    offset = 0
    for part in parts:
        if not part:
            raise LanguageError("empty field name", column + offset)
        if not SEGMENT_RE.match(part):
            raise LanguageError(f"invalid field name {part[:40]!r}", column + offset)
        offset += len(part) + 1
    return parts


def _string(text: str, start: int) -> tuple[_Token, int]:
    """A double-quoted JSON string; the raw slice goes through ``json.loads``."""
    index = start + 1
    while index < len(text) and text[index] != '"':
        index += 2 if text[index] == "\\" else 1
    if index >= len(text):
        raise LanguageError("unterminated string", start + 1)
    raw = text[start:index + 1]
    try:
        value = json.loads(raw)
        value.encode("utf-8")  # lone surrogates from \ud800 escapes
    except (ValueError, UnicodeEncodeError):
        raise LanguageError("invalid string", start + 1) from None
    return _Token("str", raw, start + 1, value), index + 1


def _number(match: re.Match[str], start: int) -> _Token:
    """JSON number syntax; integers must fit 64 bits and floats must be finite."""
    raw = match.group()
    value: int | float
    if match.group("frac") is None and match.group("exp") is None:
        value = int(raw) if len(raw) <= 21 else INT_MAX + 1
        if not INT_MIN <= value <= INT_MAX:
            raise LanguageError("integer out of 64-bit range", start + 1)
    else:
        value = float(raw)
        if not math.isfinite(value):
            raise LanguageError("number out of range", start + 1)
    return _Token("num", raw, start + 1, value)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in " \t\r\n":
            index += 1
        elif char == '"':
            token, index = _string(text, index)
            tokens.append(token)
        elif (number := _NUMBER_RE.match(text, index)) is not None:
            tokens.append(_number(number, index))
            index = number.end()
        elif char == "@" and (word := _WORD_RE.match(text, index + 1)) is not None:
            tokens.append(_Token("var", "@" + word.group(), index + 1))
            index = word.end()
        elif (word := _WORD_RE.match(text, index)) is not None:
            tokens.append(_Token("word", word.group(), index + 1))
            index = word.end()
        else:
            symbol = next((s for s in _SYMBOLS if text.startswith(s, index)), None)
            if symbol is None:
                raise LanguageError(f"unexpected {char!r}", index + 1)
            tokens.append(_Token("sym", symbol, index + 1))
            index += len(symbol)
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    """Recursive descent over the token list; ``depth`` counts open ``(`` and ``!``."""

    def __init__(self, text: str, allow_data: bool) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.allow_data = allow_data

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def expect(self, symbol: str) -> _Token:
        token = self.take()
        if token.kind != "sym" or token.text != symbol:
            raise _unexpected(token)
        return token

    def at(self, symbol: str) -> bool:
        token = self.peek()
        return token.kind == "sym" and token.text == symbol

    def parse(self) -> Node:
        node = self.or_expr()
        token = self.peek()
        if token.kind != "end":
            raise _unexpected(token)
        return node

    def chain(self, symbol: str, item: Callable[[], Node], kind: type[And | Or]) -> Node:
        items = [item()]
        while self.at(symbol):
            self.take()
            items.append(item())
        if len(items) == 1:
            return items[0]
        flat: list[Node] = []
        for node in items:
            flat.extend(node.items if isinstance(node, kind) else (node,))
        return kind(tuple(flat))

    def or_expr(self) -> Node:
        return self.chain("||", self.and_expr, Or)

    def and_expr(self) -> Node:
        return self.chain("&&", self.unary, And)

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LanguageError(f"nested deeper than {MAX_DEPTH} levels", token.column)

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "sym" and token.text in ("!", "("):
            self.enter(self.take())
            if token.text == "!":
                node: Node = Not(self.unary())
            else:
                node = self.or_expr()
                self.expect(")")
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        left_token = self.peek()
        left = self.operand()
        token = self.take()
        if token.kind == "word" and token.text == "in":
            right: Operand | ListLit = self.list_literal()
            op = "in"
        elif (token.kind == "sym" and token.text in COMPARE_OPS) or (
                token.kind == "word" and token.text == "has"):
            right_token = self.peek()
            right = self.operand()
            op = token.text
            _check_operand(op, right, right_token)
        else:
            raise _unexpected(token)
        if op == "has" and isinstance(left, Lit):
            raise LanguageError("'has' needs a field or variable on its left", left_token.column)
        _check_operand(op, left, left_token)
        return Compare(cast(CompareOp, op), left, right)

    def list_literal(self) -> ListLit:
        start = self.expect("[")
        items: list[Lit] = []
        while not self.at("]"):
            if items:
                self.expect(",")
            token = self.peek()
            item = self.operand()
            if not isinstance(item, Lit):
                raise LanguageError("'in' lists hold only literals", token.column)
            if len(items) >= MAX_IN:
                raise LanguageError(f"'in' list longer than {MAX_IN} items", token.column)
            items.append(item)
        if not items:
            raise LanguageError("empty 'in' list", start.column)
        self.take()
        return ListLit(tuple(items))

    def operand(self) -> Operand:
        token = self.take()
        if token.kind in ("str", "num"):
            return Lit(token.value)
        if token.kind == "var":
            return self.variable(token)
        if token.kind == "word":
            if token.text in KEYWORDS:
                return Lit(KEYWORDS[token.text])
            if token.text in NOT_NUMBERS:
                raise LanguageError("numbers must be finite", token.column)
            if token.text in ("in", "has"):
                raise _unexpected(token)
            return Path(_path_parts(token.text, token.column))
        raise _unexpected(token)

    def variable(self, token: _Token) -> Var:
        name, _, rest = token.text[1:].partition(".")
        if name == "now" and not rest:
            return Var("now", ())
        if name == "auth" and rest in AUTH_FIELDS:
            return Var("auth", (rest,))
        if name == "data" and rest and self.allow_data:
            return Var("data", _path_parts(rest, token.column + 6))
        if name == "data" and not self.allow_data:
            raise LanguageError("@data is only available in create and update rules",
                                token.column)
        raise LanguageError(f"unknown variable {token.text[:40]!r}", token.column)


def _check_operand(op: str, operand: Operand, token: _Token) -> None:
    """Literals that can never satisfy an operator are errors, not silent falses."""
    if not isinstance(operand, Lit):
        return
    value = operand.value
    if op in ORDER_OPS and (value is None or isinstance(value, bool)):
        raise LanguageError(f"'{op}' needs a number or a string", token.column)
    if op in ("~", "!~") and not isinstance(value, str):
        raise LanguageError(f"'{op}' needs a string", token.column)


def _unexpected(token: _Token) -> LanguageError:
    if token.kind == "end":
        return LanguageError("unexpected end of input", token.column)
    shown = token.text if len(token.text) <= 32 else token.text[:29] + "..."
    return LanguageError(f"unexpected {shown!r}", token.column)


@functools.lru_cache(maxsize=1024)
def parse(text: str, *, allow_data: bool = False) -> Node:
    """Parse a filter or rule; ``@data`` only when ``allow_data`` (create/update rules).
    Trees are immutable, so the same text (a client's usual filters) is parsed once."""
    _check_length(text)
    return _Parser(text, allow_data).parse()


def parse_path(text: str) -> str:
    """A dotted field path such as ``address.city`` (for projections)."""
    _check_length(text)
    return ".".join(_path_parts(text.strip(), 1))


def parse_sort(text: str) -> list[tuple[str, int]]:
    """``-created_at,title`` -> ``[("created_at", -1), ("title", 1)]``."""
    _check_length(text)
    if not text.strip():
        return []
    result: list[tuple[str, int]] = []
    column = 1
    for item in text.split(","):
        stripped = item.strip()
        start = column + len(item) - len(item.lstrip())
        column += len(item) + 1
        direction = -1 if stripped.startswith("-") else 1
        name = stripped[1:] if direction == -1 else stripped
        if not name:
            raise LanguageError("empty sort key", start)
        path = ".".join(_path_parts(name, start + (direction == -1)))
        if any(path == seen for seen, _ in result):
            raise LanguageError(f"duplicate sort key {path[:40]!r}", start)
        if len(result) >= MAX_SORT_KEYS:
            raise LanguageError(f"more than {MAX_SORT_KEYS} sort keys", start)
        result.append((path, direction))
    return result
