"""Collection.increment, the shared counters' primitive, on both engines."""

from __future__ import annotations

import asyncio

from baas.store import Engine


async def test_increment_creates_then_adds(engine: Engine) -> None:
    counts = engine.database("proj").collection("counts")
    first = await counts.increment({"a": 3, "b": 1}, "n", set={"expires_at": "2030-01-01"})
    assert first == {"a": 3, "b": 1}
    second = await counts.increment({"a": 2}, "n", set={"expires_at": "2031-01-01"})
    assert second == {"a": 5}
    stored = await counts.get("a")
    assert stored is not None
    assert stored["n"] == 5
    assert stored["expires_at"] == "2031-01-01"
    assert (await counts.get("b") or {})["n"] == 1


async def test_increment_with_nothing_to_add(engine: Engine) -> None:
    assert await engine.database("proj").collection("counts").increment({}, "n") == {}


async def test_concurrent_increments_lose_nothing(engine: Engine) -> None:
    counts = engine.database("proj").collection("counts")
    await asyncio.gather(*[counts.increment({"shared": 1, f"own{i}": 1}, "n")
                           for i in range(40)])
    assert (await counts.get("shared") or {})["n"] == 40
    assert (await counts.get("own7") or {})["n"] == 1


async def test_read_back_never_misses_our_own_addition(engine: Engine) -> None:
    counts = engine.database("proj").collection("counts")
    results = await asyncio.gather(*[counts.increment({"x": 2}, "n") for _ in range(20)])
    totals = sorted(r["x"] for r in results)
    assert totals[-1] == 40
    assert all(total >= 2 for total in totals)
