"""Baselines ``D_find``, ``D_ins``, ``D_list``: the bare engine doing what a request does.

SQLite: the same SQL, on the same file, through the same hand-off (a thread pool of
``readers + 1`` threads, a connection per thread, one writer behind an asyncio lock,
``BEGIN IMMEDIATE`` per insert), with no baas code on the timed path.
MongoDB: a bare ``AsyncMongoClient`` (same write concern) running the same query.
The page query's text is produced once by the engine's own compiler from the same
rule and filter the server combines, so both run exactly one query shape.

  python -m bench.bare_store --engine sqlite --data-dir D --collection items10k \
      --op list --concurrency 64 --seconds 5 --owner USER_ID
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sqlite3
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from baas.core import language
from baas.core.data.rules import Access, variables
from baas.core.language.compiler import to_filter
from baas.store import Filter
from baas.store.filters import all_of, normalize_sort
from bench.seed import LIST_FILTER, LIST_LIMIT, LIST_SORT, PROJECT, RULES, sample_document

MAX_OPS = 5_000_000
Op = Callable[[], Awaitable[Any]]


def page_filter(owner: str) -> tuple[Filter | None, list[tuple[str, int]]]:
    """The list rule ANDed outside the client's filter, as the documents service does."""
    bound = variables(Access(trusted=False, user_id=owner, role=None))
    rule = to_filter(language.parse(RULES["list"]), bound)
    client = to_filter(language.parse(LIST_FILTER), bound)
    return all_of(rule, client), list(language.parse_sort(LIST_SORT))


def stored_document(serial: int, owner: str) -> dict[str, Any]:
    now = "2026-11-21T10:00:00.000Z"
    return {"id": f"bare{serial:022d}", "created_at": now, "updated_at": now, "version": 1,
            **sample_document(serial), "owner": owner}


def sqlite_ops(args: argparse.Namespace) -> tuple[Op, Callable[[], None]]:
    from baas.store.sqlite import sql
    from baas.store.sqlite.collection import SQLiteCollection
    from baas.store.sqlite.database import connect

    path = Path(args.data_dir).resolve() / "db" / f"p_{PROJECT}.db"
    if not path.exists():
        raise SystemExit(f"no database at {path}")
    table = f'"c_d_{args.collection}"'
    pool = ThreadPoolExecutor(max_workers=args.readers + 1)
    local = threading.local()
    conns: list[sqlite3.Connection] = []

    def reader() -> sqlite3.Connection:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = connect(path)
            conns.append(conn)
        return conn

    loop = asyncio.get_running_loop()
    ids = load_ids(args.ids) if args.ids else []
    pick = itertools.cycle(ids)

    def close() -> None:
        pool.shutdown(wait=True)
        for conn in conns:
            conn.close()

    if args.op == "find":
        query = f"SELECT doc FROM {table} WHERE id = ?"

        async def find() -> Any:
            key = next(pick)
            return await loop.run_in_executor(
                pool, lambda: reader().execute(query, (key,)).fetchone())
        return find, close
    if args.op == "insert":
        writer = connect(path)
        conns.append(writer)
        lock = asyncio.Lock()
        serial = itertools.count(int(time.time() * 1000) % 10**9 * 1000)
        query = f"INSERT INTO {table} (id, doc) VALUES (?, ?)"

        def transaction(doc: dict[str, Any]) -> None:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute(query, (doc["id"], json.dumps(doc, separators=(",", ":"))))
            writer.execute("COMMIT")

        async def insert() -> None:
            doc = stored_document(next(serial), args.owner)
            async with lock:
                await loop.run_in_executor(pool, transaction, doc)
        return insert, close
    filter, sort = page_filter(args.owner)
    # The engine's compiler writes the text once; the timed loop only runs it.
    select, params, _ = SQLiteCollection(None, f"d_{args.collection}").select_sql(  # type: ignore[arg-type]
        filter, sort, LIST_LIMIT + 1, None, 0)
    count_params: list[Any] = []
    count = f"SELECT count(*) FROM {table} WHERE {sql.compile_filter(filter, count_params)}"

    def page() -> Any:
        conn = reader()
        rows = conn.execute(select, params).fetchall()
        if args.op == "list_count":
            return rows, conn.execute(count, count_params).fetchone()
        return rows

    async def listing() -> Any:
        return await loop.run_in_executor(pool, page)
    return listing, close


def mongo_ops(args: argparse.Namespace) -> tuple[Op, Callable[[], Awaitable[None]]]:
    from pymongo import AsyncMongoClient

    from baas.store.mongo import query as mq

    w: str | int = int(args.write_concern) if args.write_concern.isdigit() else args.write_concern
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(args.mongodb_url, w=w,
                                                                tz_aware=True)
    coll = client[f"{args.mongodb_db_prefix}p_{PROJECT}"][f"d_{args.collection}"]
    ids = load_ids(args.ids) if args.ids else []
    pick = itertools.cycle(ids)

    async def close() -> None:
        await client.close()

    if args.op == "find":
        async def find() -> Any:
            return await coll.find_one({"_id": next(pick)})
        return find, close
    if args.op == "insert":
        serial = itertools.count(int(time.time() * 1000) % 10**9 * 1000)

        async def insert() -> Any:
            doc = stored_document(next(serial), args.owner)
            doc["_id"] = doc.pop("id")
            return await coll.insert_one(doc)
        return insert, close
    filter, sort = page_filter(args.owner)
    spec = mq.compile_filter(filter)
    order = mq.sort_spec(normalize_sort(sort))

    async def listing() -> Any:
        rows = await coll.find(spec, sort=order, limit=LIST_LIMIT + 1).to_list()
        if args.op == "list_count":
            return rows, await coll.count_documents(spec)
        return rows
    return listing, close


def load_ids(path: str) -> list[str]:
    ids = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    if not ids:
        raise SystemExit(f"{path} holds no ids")
    return ids


async def measure(op: Op, concurrency: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline and len(latencies) < MAX_OPS:
            t0 = time.perf_counter()
            await op()
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {"ops": len(latencies), "seconds": elapsed, "rate": len(latencies) / elapsed,
            "extra": {"p50_ms": pct(0.50), "p99_ms": pct(0.99), "concurrency": concurrency}}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    if args.engine == "sqlite":
        op, close = sqlite_ops(args)
        try:
            await op()  # fail fast, before the clock starts
            result = await measure(op, args.concurrency, args.seconds)
        finally:
            close()
    else:
        op, aclose = mongo_ops(args)
        try:
            await op()
            result = await measure(op, args.concurrency, args.seconds)
        finally:
            await aclose()
    name = {"find": "D_find", "insert": "D_ins"}.get(args.op, "D_list")
    return {"name": name, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description="bare-engine baselines (see the module doc)")
    parser.add_argument("--engine", choices=["sqlite", "mongodb"], default="sqlite")
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--mongodb-url", default="")
    parser.add_argument("--mongodb-db-prefix", default="baas_")
    parser.add_argument("--write-concern", default="majority")
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--collection", required=True)
    parser.add_argument("--op", choices=["find", "insert", "list", "list_count"], required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--ids", default="")
    parser.add_argument("--owner", required=True)
    args = parser.parse_args()
    try:
        result = asyncio.run(main_async(args))
    except Exception as exc:  # noqa: BLE001 - one line for the runner, not a traceback
        print(f"bare_store: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(json.dumps(result))


if __name__ == "__main__":
    main()
