"""Hypothesis strategies shared by the property tests: documents, filters, sorts."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from baas.store import Engine, Insert
from baas.store.filters import And, Cmp, Const, Contains, Filter, Has, In, Not, Or

# Fixed and derandomized: the same examples on every run and every machine.
PROPERTY_SETTINGS = settings(
    deadline=None, derandomize=True, database=None, print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much])

# Mixed ASCII case, non-ASCII that full Unicode folding would change ("ß" -> "ss",
# "É" -> "é") and regex-special characters; nothing shaped like a timestamp (the
# stand-in compares those as times) and no NUL (SQLite's JSON functions stop there).
WORDS = ["", "a", "A", "ab", "Ab", "aB", "b", "ba", "Straße", "STRASSE", "strasse", "ÉCOLE",
         "école", "é", "É", "5", "10", "a.b", "x*y", "(x)", "ß", "d1", "d3"]
strings = st.one_of(st.sampled_from(WORDS), st.text(alphabet="aAbBéÉß.*( 5", max_size=4))
numbers = st.one_of(st.integers(-3, 3), st.sampled_from([-2.5, 0.5, 1.0, 3.25, 10, -10**12]))
scalars = st.one_of(st.none(), numbers, st.booleans(), strings)
non_null = st.one_of(numbers, st.booleans(), strings)
values = st.one_of(scalars, st.lists(scalars, max_size=3),
                   st.dictionaries(st.sampled_from(["d", "e"]), scalars, max_size=2))
# "c" also holds objects with a "d" (the dotted path) and arrays of such objects.
c_values = st.one_of(values, st.fixed_dictionaries({}, optional={"d": values, "e": scalars}),
                     st.lists(st.fixed_dictionaries({"d": scalars}), min_size=1, max_size=2))

FIELDS = ["a", "b", "c.d"]
FILTER_PATHS = ["a", "b", "c", "c.d", "id", "nope"]


@st.composite
def documents(draw: Any, min_size: int = 0, max_size: int = 8) -> list[dict[str, Any]]:
    count = draw(st.integers(min_size, max_size))
    docs = []
    for i in range(count):
        doc: dict[str, Any] = {"id": f"d{i}"}
        for name, strategy in (("a", values), ("b", values), ("c", c_values)):
            if draw(st.booleans()):
                doc[name] = draw(strategy)
        docs.append(doc)
    return docs


def leaves(paths: list[str]) -> st.SearchStrategy[Filter]:
    path = st.sampled_from(paths)
    return st.one_of(
        st.builds(Cmp, st.sampled_from(["=", "!="]), path, scalars),
        st.builds(Cmp, st.sampled_from(["<", "<=", ">", ">="]), path,
                  st.one_of(numbers, strings)),
        st.builds(lambda p, v: In(p, tuple(v)), path, st.lists(scalars, max_size=4)),
        st.builds(Has, path, scalars),
        st.builds(Contains, path, st.one_of(st.sampled_from(WORDS), st.text("aAéÉß.", max_size=2)),
                  st.booleans()),
        st.builds(Const, st.booleans()),
    )


def filters(paths: list[str] = FILTER_PATHS) -> st.SearchStrategy[Filter]:
    return st.recursive(leaves(paths), lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(lambda items: And(tuple(items)), st.lists(inner, max_size=3)),
        st.builds(lambda items: Or(tuple(items)), st.lists(inner, max_size=3)),
    ), max_leaves=6)


_names = itertools.count()


async def load(engine: Engine, docs: list[dict[str, Any]]) -> Any:
    """A fresh collection holding ``docs`` (one batch)."""
    db = engine.database("props")
    coll = db.collection(f"c{next(_names)}")
    if docs:
        await db.batch([Insert(coll.name, dict(doc)) for doc in docs])
    return coll


async def unload(engine: Engine, coll: Any) -> None:
    await engine.database("props").drop_collection(coll.name)
