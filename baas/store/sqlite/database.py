"""One SQLite file: a writer connection, per-thread readers, metadata and batches.

Writes are serialized by an asyncio lock and run on the engine's thread pool with
the single writer connection; reads use a connection per pool thread, so they run
concurrently under WAL. Nothing blocking runs on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from baas.store.base import (
    BatchFailed,
    BatchOp,
    Delete,
    Document,
    DuplicateKeyError,
    IndexSpec,
    Insert,
    QueryTimeout,
    StoreError,
    Update,
    check_name,
)
from baas.store.sqlite import ops, sql
from baas.store.sqlite.collection import SQLiteCollection

T = TypeVar("T")
PROGRESS_STEPS = 1000  # SQLite VM instructions between two looks at the clock

META_SQL = """
CREATE TABLE IF NOT EXISTS _indexes (collection TEXT NOT NULL, name TEXT NOT NULL,
    spec TEXT NOT NULL, PRIMARY KEY (collection, name));
CREATE TABLE IF NOT EXISTS _feeds (collection TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS _changes (seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL, op TEXT NOT NULL, id TEXT NOT NULL, doc TEXT, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS _changes_by_collection ON _changes (collection, seq);
"""


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class SQLiteDatabase:
    def __init__(self, name: str, path: Path, pool: ThreadPoolExecutor) -> None:
        self.name = name
        self.path = path
        self._pool = pool
        self._writer: sqlite3.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._readers = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._reader_guard = threading.Lock()
        self.tables: set[str] = set()
        self.feeds: set[str] = set()
        self.ttl: dict[str, str] = {}  # collection -> TTL field
        self.index_fields: dict[str, tuple[str, ...]] = {}  # SQL index name -> fields
        self.changed = asyncio.Condition()
        self._opened = False
        self._open_lock = asyncio.Lock()
        self._collections: dict[str, SQLiteCollection] = {}

    # -- connections ---------------------------------------------------------

    async def _ensure_open(self) -> None:
        if self._opened:
            return
        async with self._open_lock:
            if not self._opened:
                await asyncio.get_running_loop().run_in_executor(self._pool, self._open_sync)
                self._opened = True

    def _open_sync(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(self.path)
        conn.executescript(META_SQL)
        self._writer = conn
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'c\\_%' ESCAPE '\\'"
        ).fetchall()
        self.tables = {row[0][2:] for row in rows}
        self.feeds = {row[0] for row in conn.execute("SELECT collection FROM _feeds")}
        for collection, spec in conn.execute("SELECT collection, spec FROM _indexes").fetchall():
            index = ops.index_from_json(spec)
            self._refresh_index(conn, collection, index)
            self.index_fields[ops.sql_index_name(collection, index)] = tuple(
                p for p, _ in index.fields
            )
            if index.ttl:
                self.ttl[collection] = index.fields[0][0]

    def _refresh_index(self, conn: sqlite3.Connection, collection: str, index: IndexSpec) -> None:
        """Recreate a declared index whose SQL is not the current key expression (files
        written by an older version); queries only use indexes on the current one."""
        name = ops.sql_index_name(collection, index)
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                           (name,)).fetchone()
        if collection not in self.tables or (
                row is not None and row[0] == ops.create_index_sql(collection, index, False)):
            return
        conn.execute(f'DROP INDEX IF EXISTS "{name}"')
        conn.execute(ops.create_index_sql(collection, index))

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if conn is None:
            conn = connect(self.path)
            conn.execute("PRAGMA query_only = 1")
            self._readers.conn = conn
            with self._reader_guard:
                self._reader_conns.append(conn)
        return conn

    async def read(self, fn: Callable[[sqlite3.Connection], T],
                   max_time_ms: int | None = None) -> T:
        """Run ``fn`` on this thread's reader; stop it with QueryTimeout after
        ``max_time_ms`` (the connection stays usable)."""
        await self._ensure_open()
        if max_time_ms is None:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, lambda: fn(self._reader())
            )
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._timed, fn, max_time_ms
        )

    def _timed(self, fn: Callable[[sqlite3.Connection], T], max_time_ms: int) -> T:
        conn = self._reader()
        deadline = time.monotonic() + max(max_time_ms, 0) / 1000
        expired = False

        def progress() -> int:
            nonlocal expired
            expired = time.monotonic() >= deadline
            return 1 if expired else 0

        conn.set_progress_handler(progress, PROGRESS_STEPS)
        try:
            return fn(conn)
        except sqlite3.OperationalError:
            if expired:
                raise QueryTimeout(f"the query ran longer than {max_time_ms} ms") from None
            raise
        finally:
            conn.set_progress_handler(None, 0)

    async def write(self, fn: Callable[[sqlite3.Connection], T], notify: bool = False) -> T:
        """Run ``fn`` inside one IMMEDIATE transaction on the writer connection."""
        await self._ensure_open()
        async with self._write_lock:
            tables = set(self.tables)
            try:
                result = await asyncio.get_running_loop().run_in_executor(
                    self._pool, self._transaction, fn
                )
            except BaseException:
                # Tables created inside the rolled-back transaction are gone again.
                self.tables &= tables
                raise
        if notify:
            async with self.changed:
                self.changed.notify_all()
        return result

    def _transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._writer
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def close(self) -> None:
        if not self._opened:
            return

        def _close() -> None:
            with self._reader_guard:
                for conn in self._reader_conns:
                    conn.close()
                self._reader_conns.clear()
            if self._writer is not None:
                self._writer.close()
                self._writer = None

        async with self._write_lock:
            await asyncio.get_running_loop().run_in_executor(self._pool, _close)
        self._readers = threading.local()
        self._opened = False

    # -- the Database interface ---------------------------------------------

    def collection(self, name: str) -> SQLiteCollection:
        check_name(name)
        found = self._collections.get(name)
        if found is None:
            found = self._collections[name] = SQLiteCollection(self, name)
        return found

    async def collections(self) -> list[str]:
        await self._ensure_open()
        return sorted(self.tables)

    async def drop_collection(self, name: str) -> None:
        check_name(name)

        def _drop(conn: sqlite3.Connection) -> None:
            conn.execute(f'DROP TABLE IF EXISTS "c_{name}"')
            conn.execute("DELETE FROM _indexes WHERE collection = ?", (name,))
            conn.execute("DELETE FROM _feeds WHERE collection = ?", (name,))
            conn.execute("DELETE FROM _changes WHERE collection = ?", (name,))

        await self.write(_drop)
        self.tables.discard(name)
        self.feeds.discard(name)
        self.ttl.pop(name, None)

    def ensure_table(self, conn: sqlite3.Connection, name: str) -> None:
        if name not in self.tables:
            conn.execute(
                f'CREATE TABLE IF NOT EXISTS "c_{name}" (id TEXT PRIMARY KEY, doc TEXT NOT NULL)'
            )
            self.tables.add(name)

    async def batch(self, operations: Sequence[BatchOp]) -> list[Document | None]:
        for op in operations:
            check_name(op.collection)

        def _run(conn: sqlite3.Connection) -> list[Document | None]:
            results: list[Document | None] = []
            for index, op in enumerate(operations):
                try:
                    results.append(self._apply(conn, op))
                except StoreError as exc:
                    raise BatchFailed(index, str(exc), exc) from exc
            return results

        return await self.write(_run, notify=True)

    def _apply(self, conn: sqlite3.Connection, op: BatchOp) -> Document | None:
        coll = self.collection(op.collection)
        if isinstance(op, Insert):
            return coll.insert_sync(conn, op.document)
        if isinstance(op, Update):
            updated = coll.update_sync(conn, op.id, op.set, op.unset, op.expected_version)
            if updated is None:
                raise StoreError(f"document {op.id!r} not found or version changed")
            return updated
        assert isinstance(op, Delete)
        if not coll.delete_sync(conn, op.id, op.expected_version):
            raise StoreError(f"document {op.id!r} not found or version changed")
        return None

    async def sweep_expired(self, now: str) -> int:
        await self._ensure_open()
        if not self.ttl:
            return 0
        total = 0
        for collection, field in list(self.ttl.items()):

            def _sweep(conn: sqlite3.Connection, c: str = collection, f: str = field) -> int:
                # Strings before ``now``: a range on the key, so the TTL index serves it.
                key = sql.key_expr(f)
                return conn.execute(
                    f'DELETE FROM "c_{c}" WHERE {key} >= \'\' AND {key} < ?', (now,)
                ).rowcount

            if collection in self.tables:
                total += await self.write(_sweep)
        return total

    async def register_index(self, collection: str, index: IndexSpec) -> None:
        def _create(conn: sqlite3.Connection) -> None:
            self.ensure_table(conn, collection)
            conn.execute(ops.create_index_sql(collection, index))
            conn.execute(
                "INSERT OR REPLACE INTO _indexes (collection, name, spec) VALUES (?, ?, ?)",
                (collection, index.name, ops.index_to_json(index)),
            )

        try:
            await self.write(_create)
        except sqlite3.IntegrityError:
            raise DuplicateKeyError(collection, [p for p, _ in index.fields]) from None
        self.index_fields[ops.sql_index_name(collection, index)] = tuple(
            p for p, _ in index.fields
        )
        if index.ttl:
            self.ttl[collection] = index.fields[0][0]

    async def drop_index(self, collection: str, name: str) -> bool:
        def _drop(conn: sqlite3.Connection) -> IndexSpec | None:
            row = conn.execute("SELECT spec FROM _indexes WHERE collection = ? AND name = ?",
                               (collection, name)).fetchone()
            if row is None:
                return None
            index = ops.index_from_json(row[0])
            conn.execute(f'DROP INDEX IF EXISTS "{ops.sql_index_name(collection, index)}"')
            conn.execute("DELETE FROM _indexes WHERE collection = ? AND name = ?",
                         (collection, name))
            return index

        index = await self.write(_drop)
        if index is None:
            return False
        self.index_fields.pop(ops.sql_index_name(collection, index), None)
        if index.ttl:
            self.ttl.pop(collection, None)
        return True

    async def list_indexes(self, collection: str) -> list[IndexSpec]:
        def _list(conn: sqlite3.Connection) -> list[IndexSpec]:
            rows = conn.execute(
                "SELECT spec FROM _indexes WHERE collection = ? ORDER BY name", (collection,)
            ).fetchall()
            return [ops.index_from_json(row[0]) for row in rows]

        return await self.read(_list)

    async def enable_feed(self, collection: str) -> None:
        if collection in self.feeds:
            return

        def _enable(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR IGNORE INTO _feeds (collection) VALUES (?)", (collection,))

        await self.write(_enable)
        self.feeds.add(collection)

    def record_change(
        self, conn: sqlite3.Connection, collection: str, op: str, id: str, doc: Document | None
    ) -> None:
        if collection in self.feeds:
            conn.execute(
                "INSERT INTO _changes (collection, op, id, doc, at) VALUES (?, ?, ?, ?, "
                "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                (collection, op, id, None if doc is None else json.dumps(doc)),
            )

    def explain(self, sql: str, params: Sequence[Any]) -> list[str]:
        """EXPLAIN QUERY PLAN details, for tests that assert indexes are used."""
        conn = self._reader()
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
