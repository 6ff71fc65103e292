"""The filter and rule language: AST shapes, errors with columns, and semantics."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from baas.core.language import (
    And,
    Compare,
    LanguageError,
    ListLit,
    Lit,
    Node,
    Not,
    Or,
    Path,
    Var,
    evaluate,
    parse,
    parse_sort,
    paths,
    variables,
)


def cmp(op: str, left: Any, right: Any) -> Compare:
    return Compare(op, left, right)  # type: ignore[arg-type]


def p(dotted: str) -> Path:
    return Path(tuple(dotted.split(".")))


AUTH_ID = Var("auth", ("id",))


@pytest.mark.parametrize(("text", "expected"), [
    ('owner = @auth.id && (status = "published" || tags has "featured")',
     And((cmp("=", p("owner"), AUTH_ID),
          Or((cmp("=", p("status"), Lit("published")),
              cmp("has", p("tags"), Lit("featured"))))))),
    ('price >= 10 && price < 100 && title ~ "lamp"',
     And((cmp(">=", p("price"), Lit(10)), cmp("<", p("price"), Lit(100)),
          cmp("~", p("title"), Lit("lamp"))))),
    ('@auth.role = "authenticated" && visibility in ["public", "team"]',
     And((cmp("=", Var("auth", ("role",)), Lit("authenticated")),
          cmp("in", p("visibility"), ListLit((Lit("public"), Lit("team"))))))),
    ("deleted_at = null", cmp("=", p("deleted_at"), Lit(None))),
    ("address.city != \"Oslo\"", cmp("!=", p("address.city"), Lit("Oslo"))),
    ("created_at <= @now", cmp("<=", p("created_at"), Var("now", ()))),
    ("title !~ \"x\"", cmp("!~", p("title"), Lit("x"))),
    ("a = true || b = false", Or((cmp("=", p("a"), Lit(True)), cmp("=", p("b"), Lit(False))))),
    ("n > -1.5e3", cmp(">", p("n"), Lit(-1500.0))),
    ('s = "a\\"b\\u00e9\\n"', cmp("=", p("s"), Lit('a"b\u00e9\n'))),
])
def test_examples_parse(text: str, expected: Node) -> None:
    assert parse(text) == expected


def test_data_variable_only_when_allowed() -> None:
    node = parse("owner = @data.owner && @data.a.b = 1", allow_data=True)
    assert node == And((cmp("=", p("owner"), Var("data", ("owner",))),
                        cmp("=", Var("data", ("a", "b")), Lit(1))))
    assert variables(node) == {"data.owner", "data.a.b"}


def test_precedence() -> None:
    a, b, c = (cmp("=", p(name), Lit(1)) for name in "abc")
    assert parse("a = 1 || b = 1 && c = 1") == Or((a, And((b, c))))
    assert parse("a = 1 && b = 1 || c = 1") == Or((And((a, b)), c))
    assert parse("(a = 1 || b = 1) && c = 1") == And((Or((a, b)), c))
    assert parse("!a = 1 && b = 1") == And((Not(a), b))
    assert parse("!(a = 1 && b = 1)") == Not(And((a, b)))
    assert parse("!!a = 1") == Not(Not(a))
    assert parse("a = 1 && (b = 1 && c = 1)") == And((a, b, c))  # flattened
    assert parse("((a = 1))") == a


def test_variables_and_paths() -> None:
    node = parse('owner = @auth.id && (created_at < @now || tags.x has "a") && !(b = 1)')
    assert variables(node) == {"auth.id", "now"}
    assert paths(node) == {"owner", "created_at", "tags.x", "b"}


@pytest.mark.parametrize(("text", "message"), [
    ("a = 1 & b = 2", "unexpected '&' at column 7"),
    ("a = 1 | b = 2", "unexpected '|' at column 7"),
    ('a = "abc', "unterminated string at column 5"),
    ('a = "ab\\q"', "invalid string at column 5"),
    ('a = "\\ud800"', "invalid string at column 5"),
    ("a = ", "unexpected end of input at column 5"),
    ("", "unexpected end of input at column 1"),
    ("(a = 1", "unexpected end of input at column 7"),
    ("a = 1)", "unexpected ')' at column 6"),
    ("a in [1,", "unexpected end of input at column 9"),
    ("a in [1 2]", "unexpected '2' at column 9"),
    ("a in []", "empty 'in' list at column 6"),
    ("a in [b]", "'in' lists hold only literals at column 7"),
    ("a in 1", "unexpected '1' at column 6"),
    ("@foo = 1", "unknown variable '@foo' at column 1"),
    ("a = 1 && @auth.password = 1", "unknown variable '@auth.password' at column 10"),
    ("@now.x = 1", "unknown variable '@now.x' at column 1"),
    ("@data.x = 1", "@data is only available in create and update rules at column 1"),
    ("a.$b = 1", "invalid field name '$b' at column 3"),
    ("a..b = 1", "empty field name at column 3"),
    ("__proto__ = 1", "invalid field name '__proto__' at column 1"),
    ("a = NaN", "numbers must be finite at column 5"),
    ("a = Infinity", "numbers must be finite at column 5"),
    ("a = -Infinity", "unexpected '-' at column 5"),
    ("a = 1e999", "number out of range at column 5"),
    ("a = 9223372036854775808", "integer out of 64-bit range at column 5"),
    ("a = -9223372036854775809", "integer out of 64-bit range at column 5"),
    ("a = 01", "unexpected '1' at column 6"),
    ("a == 1", "unexpected '=' at column 4"),
    ("a", "unexpected end of input at column 2"),
    ("a = 1 b", "unexpected 'b' at column 7"),
    ("a < null", "'<' needs a number or a string at column 5"),
    ("a >= true", "'>=' needs a number or a string at column 6"),
    ("a ~ 1", "'~' needs a string at column 5"),
    ('"x" has a', "'has' needs a field or variable on its left at column 1"),
    ("a = [1]", "unexpected '[' at column 5"),
    ("a = 1 && in = 2", "unexpected 'in' at column 10"),
    ("a = 'x'", "unexpected \"'\" at column 5"),
])
def test_errors_point_at_the_column(text: str, message: str) -> None:
    with pytest.raises(LanguageError) as caught:
        parse(text)
    assert str(caught.value) == message
    assert caught.value.message == message
    assert caught.value.code == "invalid_filter"
    assert caught.value.column == int(message.rsplit(" ", 1)[1])


def test_limits() -> None:
    long = " && ".join(["a = 1"] * 600)[:5000]
    with pytest.raises(LanguageError, match="longer than 4096 characters at column 4097"):
        parse(long)
    parse("(" * 32 + "a = 1" + ")" * 32)
    with pytest.raises(LanguageError, match="nested deeper than 32 levels at column 33"):
        parse("(" * 40 + "a = 1" + ")" * 40)
    with pytest.raises(LanguageError, match="nested deeper than 32 levels at column 33"):
        parse("!" * 40 + "a = 1")
    assert len(parse("a in [" + ",".join(["1"] * 1000) + "]").right.items) == 1000  # type: ignore[union-attr]
    with pytest.raises(LanguageError, match="'in' list longer than 1000 items at column 2007"):
        parse("a in [" + ",".join(["1"] * 1001) + "]")
    assert parse("a = 9223372036854775807") == cmp("=", p("a"), Lit(2**63 - 1))
    with pytest.raises(LanguageError, match="integer out of 64-bit range at column 5"):
        parse("a = " + "9" * 4000)


DOC = {
    "owner": "usr_1", "status": "published", "tags": ["featured", "new", 3],
    "price": 25, "ratio": 0.5, "flag": True, "title": "A Desk LAMP.* (big)",
    "address": {"city": "Oslo", "zip": None}, "deleted_at": None, "empty": "",
    "nums": [1, 2], "obj": {"a": 1},
}
VARS = {"auth.id": "usr_1", "auth.role": "authenticated", "now": "2026-01-01T00:00:00Z",
        "data": {"owner": "usr_1", "n": 5}}


@pytest.mark.parametrize(("text", "expected"), [
    ('owner = @auth.id && (status = "published" || tags has "featured")', True),
    ('price >= 10 && price < 100 && title ~ "lamp"', True),
    ('@auth.role = "authenticated" && status in ["published", "team"]', True),
    ("deleted_at = null", True), ("missing = null", True), ("address.zip = null", True),
    ("price = null", False), ("deleted_at != null", False), ("missing != null", False),
    ("price != null", True), ("address.city != null", True), ("tags = null", False),
    # mixed types are false for every operator, and bool is not a number
    ('price = "25"', False), ('price != "25"', False), ("flag = 1", False),
    ("flag != 1", False), ("price > \"a\"", False), ("flag = true", True),
    ("flag != false", True), ("price = 25.0", True), ("ratio < 1", True),
    ('title < "B"', True), ('"b" > "a"', True),
    # arrays and objects never equal a scalar
    ("tags = \"featured\"", False), ("tags != \"featured\"", False), ("nums = 1", False),
    ("obj = 1", False), ("obj.a = 1", True), ("address.city = \"Oslo\"", True),
    ('address.city.x = "Oslo"', False), ("address.nope = null", True),
    # has: same-type equality inside an array field
    ('tags has "new"', True), ("tags has 3", True), ('tags has "3"', False),
    ("nums has 1.0", True), ("nums has true", False), ('title has "A"', False),
    ("missing has 1", False), ("tags has null", False),
    # ~ and !~: case-insensitive substring, pattern characters literal
    ('title ~ "desk lamp"', True), ('title ~ ".*"', True), ('title ~ "a.*b"', False),
    ('title ~ "(BIG)"', True), ('title ~ "^a"', False), ('title ~ ""', True),
    ('title !~ "lamp"', False), ('title !~ "sofa"', True), ('price ~ "2"', False),
    ('price !~ "2"', False), ('missing !~ "x"', False), ('tags ~ "new"', False),
    ('status ~ "PUBLISHED"', True), ('address.city ~ "OSLO"', True),
    # in: one same-type item
    ("price in [1, 25]", True), ('price in ["25"]', False), ("flag in [1]", False),
    ("missing in [null, 1]", True), ("price in [null]", False),
    ('owner in ["usr_2"]', False),
    # !, and comparisons between fields and variables
    ("!(price > 100)", True), ("!price > 10", False), ("!(missing = 1)", True),
    ("owner = @auth.email", False), ("owner != @auth.email", False),
    ("missing = other_missing", False), ("deleted_at = address.zip", False),
    ("@auth.email = null", True), ("@auth.id != null", True),
    ("created_at < @now", False), ('@now > "2025"', True),
    ("owner = @data.owner", True), ("price > @data.n", True), ("@data.nope = null", True),
])
def test_evaluate(text: str, expected: bool) -> None:
    assert evaluate(parse(text, allow_data=True), DOC, VARS) is expected


def test_evaluate_guest_never_matches_ownerless_documents() -> None:
    rule = parse("owner = @auth.id")
    assert evaluate(rule, {}, {}) is False
    assert evaluate(rule, {"owner": None}, {"auth.id": None}) is False
    assert evaluate(parse("@data.x = null", allow_data=True), {}, {}) is True


@pytest.mark.parametrize(("text", "expected"), [
    ("-created_at,title", [("created_at", -1), ("title", 1)]),
    ("address.city", [("address.city", 1)]),
    (" -price , id ", [("price", -1), ("id", 1)]),
    ("", []),
    (",".join(f"f{i}" for i in range(8)), [(f"f{i}", 1) for i in range(8)]),
])
def test_parse_sort(text: str, expected: list[tuple[str, int]]) -> None:
    assert parse_sort(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("title,", "empty sort key at column 7"),
    ("a,-", "empty sort key at column 3"),
    ("a,-$b", "invalid field name '$b' at column 4"),
    ("a.__proto__", "invalid field name '__proto__' at column 3"),
    ("title,-title", "duplicate sort key 'title' at column 7"),
    ("+a", "invalid field name '+a' at column 1"),
    (",".join(f"f{i}" for i in range(9)), "more than 8 sort keys at column 25"),
    ("a" * 5000, "longer than 4096 characters at column 4097"),
])
def test_parse_sort_errors(text: str, message: str) -> None:
    with pytest.raises(LanguageError) as caught:
        parse_sort(text)
    assert str(caught.value) == message


# Round trip: random trees rendered to text parse back to the same tree.

OPS = ["=", "!=", "<", "<=", ">", ">=", "has", "~", "!~"]


def render(node: Node | Any) -> str:
    if isinstance(node, Path):
        return ".".join(node.parts)
    if isinstance(node, Var):
        return "@" + ".".join((node.name, *node.parts))
    if isinstance(node, Lit):
        return json.dumps(node.value)
    if isinstance(node, ListLit):
        return "[" + ", ".join(render(item) for item in node.items) + "]"
    if isinstance(node, Compare):
        return f"{render(node.left)} {node.op} {render(node.right)}"
    if isinstance(node, Not):
        return f"!({render(node.item)})"
    joiner = " && " if isinstance(node, And) else " || "
    return "(" + joiner.join(render(item) for item in node.items) + ")"


def random_literal(rng: random.Random, op: str) -> Lit:
    choices: list[Any] = [
        rng.choice(["", "x", 'q"uote', "back\\slash", "\u00e9\u4e2d", "tab\t", "a b"]),
        rng.randint(-(2**63), 2**63 - 1), rng.randint(-5, 5),
        rng.uniform(-1e6, 1e6), rng.choice([True, False, None]),
    ]
    if op in ("~", "!~"):
        return Lit(choices[0])
    if op in ("<", "<=", ">", ">="):
        return Lit(rng.choice(choices[:4]))
    return Lit(rng.choice(choices))


def random_operand(rng: random.Random, op: str, left: bool) -> Any:
    kind = rng.randrange(3)
    if kind == 0 or (left and op == "has"):
        return Path(tuple(rng.choice(["a", "b_1", "Zz", "id", "created_at"])
                          for _ in range(rng.randint(1, 3))))
    if kind == 1:
        return rng.choice([AUTH_ID, Var("auth", ("role",)), Var("now", ()),
                           Var("data", ("x", "y"))])
    return random_literal(rng, op)


def random_node(rng: random.Random, depth: int, parent: type | None = None) -> Node:
    kind = rng.randrange(4) if depth < 5 else 0
    if kind == 1:
        return Not(random_node(rng, depth + 1))
    if kind in (2, 3):
        cls = And if kind == 2 else Or
        if cls is not parent:
            return cls(tuple(random_node(rng, depth + 1, cls)
                             for _ in range(rng.randint(2, 4))))
    op = rng.choice([*OPS, "in"])
    left = random_operand(rng, op, left=True)
    if op == "in":
        return cmp("in", left, ListLit(tuple(random_literal(rng, "=")
                                             for _ in range(rng.randint(1, 4)))))
    return cmp(op, left, random_operand(rng, op, left=False))


def test_random_round_trip() -> None:
    rng = random.Random(20261121)
    for _ in range(2000):
        node = random_node(rng, 0)
        text = render(node)
        parsed = parse(text, allow_data=True)
        assert parsed == node, text
        assert render(parsed) == text
        doc = {"a": rng.choice([1, "x", None, [1, "x"]]), "id": "x"}
        assert isinstance(evaluate(parsed, doc, {"auth.id": "x"}), bool)
