"""What recording a change costs a write, on its own: the store's unit of work with
and without its change record, in one process, in the same run.

    python -m bench.changes                    # SQLite, 5 rounds of 2,000 writes per side
    python -m bench.changes --concurrency 64   # 64 writes in flight, as the c=64 scenario

Two collections of one fresh database take the same 500-byte documents through
``Database.commit``: one records changes (as every document collection does), the other
does not (the baseline: the bare write). Rounds alternate between the two so the
machine's drift hits both alike; the medians are compared.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from baas.settings import Settings
from baas.store import Insert, create_engine
from bench.args import Parser, bounded_int, positive_int

PAYLOAD = "x" * 400  # with the other fields, about 500 bytes of JSON


def document(n: int) -> dict[str, object]:
    return {"id": f"doc{n:09d}", "owner": f"user-{n % 50}", "title": f"item {n}",
            "done": n % 2 == 0, "body": PAYLOAD}


async def timed_round(db: object, collection: str, record: bool, start: int, count: int,
                      concurrency: int) -> float:
    """Seconds per write for ``count`` commits, ``concurrency`` in flight."""
    recorded = [collection] if record else []
    next_n = start
    lock = asyncio.Lock()

    async def worker() -> None:
        nonlocal next_n
        while True:
            async with lock:
                if next_n >= start + count:
                    return
                n = next_n
                next_n += 1
            await db.commit([Insert(collection, document(n))], record=recorded)  # type: ignore[attr-defined]

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.perf_counter() - began) / count


async def run(count: int, rounds: int, concurrency: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(Settings(data_dir=Path(folder)))
        await engine.open()
        try:
            db = engine.database("p_bench")
            await db.record_changes("recorded")
            # Warm-up: tables created, pages cached, on both sides.
            for name, record in (("recorded", True), ("bare", False)):
                await timed_round(db, name, record, 0, 200, concurrency)
            sides: dict[str, list[float]] = {"bare": [], "recorded": []}
            start = 1000
            for index in range(rounds):
                order = [("bare", False), ("recorded", True)]
                if index % 2:
                    order.reverse()
                for name, record in order:
                    sides[name].append(
                        await timed_round(db, name, record, start, count, concurrency))
                    start += count
        finally:
            await engine.close()
    bare = statistics.median(sides["bare"])
    recorded = statistics.median(sides["recorded"])
    spread = {name: (max(v) - min(v)) / statistics.median(v) for name, v in sides.items()}
    return {
        "engine": "sqlite", "concurrency": concurrency, "writes_per_round": count,
        "rounds": rounds,
        "bare_us": round(bare * 1e6, 1), "recorded_us": round(recorded * 1e6, 1),
        "cost_us": round((recorded - bare) * 1e6, 1),
        "cost_ratio": round(recorded / bare, 3),
        "spread": {name: round(value, 3) for name, value in spread.items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = Parser(prog="python -m bench.changes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=bounded_int(100, 100_000), default=2000,
                        help="writes per round and side (default 2000)")
    parser.add_argument("--rounds", type=bounded_int(1, 50), default=5,
                        help="rounds per side, alternating (default 5)")
    parser.add_argument("--concurrency", type=positive_int, default=1,
                        help="writes in flight (default 1)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.count, args.rounds, args.concurrency))
    if args.json:
        print(json.dumps(result))
        return
    print(f"SQLite commit of one 500-byte insert, c={args.concurrency}, "
          f"median of {args.rounds} rounds of {args.count}:")
    spread: dict[str, float] = result["spread"]  # type: ignore[assignment]
    print(f"  bare write        {result['bare_us']:>8} µs   (spread {spread['bare']:.0%})")
    print(f"  with its change   {result['recorded_us']:>8} µs   "
          f"(spread {spread['recorded']:.0%})")
    print(f"  cost of the record {result['cost_us']:>7} µs   ({result['cost_ratio']}x)")


if __name__ == "__main__":
    main(sys.argv[1:])
