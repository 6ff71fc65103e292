"""One SQLite file: a writer connection, per-thread readers, metadata and batches.

Writes are serialized by an asyncio lock and run on the engine's thread pool with
the single writer connection; reads use a connection per pool thread, so they run
concurrently under WAL. Nothing blocking runs on the event loop.

Several processes (``baas serve --workers N``) may share the file, so the metadata
kept in memory (tables, index fields, TTL fields, feeds) is only trusted inside the
writer's transaction: after ``BEGIN IMMEDIATE`` (which holds SQLite's write lock, so
no other process can change the schema meanwhile) the schema cookie
(``PRAGMA schema_version``) is compared with the one the metadata was read at, and
the metadata is reloaded when another connection changed the schema. Reads use no
metadata: a query on a collection whose table does not exist (here, or at all in the
SQLite snapshot it reads) answers "absent". A database dropped by another process is
first emptied and marked (``_dropped``), so connections still open on the unlinked
file notice it and reconnect.
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
    StoreUnavailable,
    Update,
    check_name,
)
from baas.store.sqlite import ops, sql
from baas.store.sqlite.collection import SQLiteCollection

T = TypeVar("T")
PROGRESS_STEPS = 1000  # SQLite VM instructions between two looks at the clock
DROPPED = "_dropped"  # table marking a file another process dropped (then unlinked)
NO_TABLE = "no such table: "

META_SQL = """
CREATE TABLE IF NOT EXISTS _indexes (collection TEXT NOT NULL, name TEXT NOT NULL,
    spec TEXT NOT NULL, PRIMARY KEY (collection, name));
CREATE TABLE IF NOT EXISTS _feeds (collection TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS _changes (seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL, op TEXT NOT NULL, id TEXT NOT NULL, doc TEXT, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS _changes_by_collection ON _changes (collection, seq);
"""


class Dropped(Exception):
    """The file was dropped by another process: reconnect to the path and retry."""


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA busy_timeout = 10000")
    deadline = time.monotonic() + 10
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            # Another process is opening the same new file: SQLite answers "locked"
            # at once there instead of waiting the busy timeout, so wait here.
            if "locked" not in str(exc) or time.monotonic() > deadline:
                conn.close()
                raise
            time.sleep(0.005)
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
        self._generation = 0  # bumped when the file was found dropped: readers reconnect
        # Metadata, valid inside a write transaction (see the module docstring).
        self.tables: set[str] = set()
        self.feeds: set[str] = set()
        self.ttl: dict[str, str] = {}  # collection -> TTL field
        self.index_fields: dict[str, tuple[str, ...]] = {}  # SQL index name -> fields
        self._schema_version: int | None = None  # the cookie the metadata was read at
        self._created: list[str] = []  # tables created by the open transaction
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
        self._writer = self._connect_writer()
        self._transaction(self._refresh_indexes)

    def _connect_writer(self) -> sqlite3.Connection:
        conn = connect(self.path)
        conn.executescript(META_SQL)
        self._schema_version = None
        return conn

    def _load_meta(self, conn: sqlite3.Connection) -> bool:
        """Read the metadata from the file (inside the writer's transaction); True
        when the file is marked dropped."""
        names = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        if DROPPED in names:
            return True
        tables = {name[2:] for name in names if name.startswith("c_")}
        feeds = {row[0] for row in conn.execute("SELECT collection FROM _feeds")}
        ttl: dict[str, str] = {}
        index_fields: dict[str, tuple[str, ...]] = {}
        for collection, spec in conn.execute("SELECT collection, spec FROM _indexes"):
            index = ops.index_from_json(spec)
            index_fields[ops.sql_index_name(collection, index)] = tuple(
                p for p, _ in index.fields)
            if index.ttl:
                ttl[collection] = index.fields[0][0]
        self.tables, self.feeds, self.ttl, self.index_fields = tables, feeds, ttl, index_fields
        return False

    def _refresh_indexes(self, conn: sqlite3.Connection) -> None:
        for collection, spec in conn.execute("SELECT collection, spec FROM _indexes").fetchall():
            self._refresh_index(conn, collection, ops.index_from_json(spec))

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
        if conn is None or self._readers.generation != self._generation:
            generation = self._generation
            if conn is not None:
                with self._reader_guard:
                    self._reader_conns.remove(conn)
                conn.close()
            conn = connect(self.path)
            if generation:
                conn.executescript(META_SQL)  # the path may hold a new, empty file
            conn.execute("PRAGMA query_only = 1")
            self._readers.conn = conn
            self._readers.generation = generation
            with self._reader_guard:
                self._reader_conns.append(conn)
        return conn

    def _found_dropped(self, conn: sqlite3.Connection) -> bool:
        """Whether this connection's file was dropped; if so, readers reconnect."""
        row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                           (DROPPED,)).fetchone()
        if row is not None:
            self._generation += 1
        return row is not None

    async def read(self, fn: Callable[[sqlite3.Connection], T],
                   max_time_ms: int | None = None, *,
                   table: str | None = None, absent: Any = None) -> T:
        """Run ``fn`` on this thread's reader; stop it with QueryTimeout after
        ``max_time_ms`` (the connection stays usable). When ``fn`` fails because the
        table ``table`` does not exist, the answer is ``absent``."""
        await self._ensure_open()
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._read_sync, fn, max_time_ms, table, absent
        )

    def _read_sync(self, fn: Callable[[sqlite3.Connection], T], max_time_ms: int | None,
                   table: str | None, absent: Any) -> T:
        for attempt in (1, 2):
            conn = self._reader()
            try:
                return fn(conn) if max_time_ms is None else self._timed(conn, fn, max_time_ms)
            except Dropped:
                if attempt == 1:
                    self._generation += 1
                    continue
                raise StoreUnavailable(f"database {self.name!r} has been dropped") from None
            except sqlite3.OperationalError as exc:
                message = str(exc)
                if not message.startswith(NO_TABLE):
                    raise
                if attempt == 1 and self._found_dropped(conn):
                    continue
                if table is not None and message in (NO_TABLE + table,
                                                     NO_TABLE + "main." + table):
                    return absent  # type: ignore[no-any-return]
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _timed(self, conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T],
               max_time_ms: int) -> T:
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
        """Run ``fn`` inside one IMMEDIATE transaction on the writer connection, with
        the metadata current."""
        await self._ensure_open()
        async with self._write_lock:
            result = await asyncio.get_running_loop().run_in_executor(
                self._pool, self._transaction, fn
            )
        if notify:
            async with self.changed:
                self.changed.notify_all()
        return result

    def _transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._begin()
        self._created = []
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            # Tables created inside the rolled-back transaction are gone again.
            self.tables.difference_update(self._created)
            raise
        conn.execute("COMMIT")
        return result

    def _begin(self) -> sqlite3.Connection:
        """BEGIN IMMEDIATE, then reload the metadata if the schema cookie moved: one
        small statement per transaction while nothing changed."""
        for attempt in (1, 2):
            conn = self._writer
            assert conn is not None
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA schema_version").fetchone()[0]
                if version == self._schema_version:
                    return conn
                dropped = self._load_meta(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            if not dropped:
                self._schema_version = version
                return conn
            conn.execute("ROLLBACK")
            if attempt == 2:
                break
            # Dropped by another process: the path holds a new file, or none yet.
            conn.close()
            self._writer = self._connect_writer()
            self._generation += 1
        raise StoreUnavailable(f"database {self.name!r} is being dropped")

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

    async def mark_dropped(self) -> None:
        """Empty the file and mark it dropped, before it is unlinked: processes that
        still have it open then see no data, and reconnect (see ``Dropped``)."""
        if not self._opened and not self.path.exists():
            return

        def _mark(conn: sqlite3.Connection) -> None:
            names = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")]
            for name in names:
                conn.execute(f'DROP TABLE "{name}"')
            conn.execute(f"CREATE TABLE {DROPPED} (at TEXT)")

        await self.write(_mark)

    # -- the Database interface ---------------------------------------------

    def collection(self, name: str) -> SQLiteCollection:
        check_name(name)
        found = self._collections.get(name)
        if found is None:
            found = self._collections[name] = SQLiteCollection(self, name)
        return found

    async def collections(self) -> list[str]:
        def _list(conn: sqlite3.Connection) -> list[str]:
            names = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            if DROPPED in names:
                raise Dropped
            return sorted(name[2:] for name in names if name.startswith("c_"))

        return await self.read(_list)

    async def drop_collection(self, name: str) -> None:
        check_name(name)

        def _drop(conn: sqlite3.Connection) -> None:
            conn.execute(f'DROP TABLE IF EXISTS "c_{name}"')
            conn.execute("DELETE FROM _indexes WHERE collection = ?", (name,))
            conn.execute("DELETE FROM _feeds WHERE collection = ?", (name,))
            conn.execute("DELETE FROM _changes WHERE collection = ?", (name,))

        # The schema changed: the next transaction reloads the metadata.
        await self.write(_drop)

    def ensure_table(self, conn: sqlite3.Connection, name: str) -> None:
        if name not in self.tables:
            conn.execute(
                f'CREATE TABLE IF NOT EXISTS "c_{name}" (id TEXT PRIMARY KEY, doc TEXT NOT NULL)'
            )
            self.tables.add(name)
            self._created.append(name)

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
        def _ttl_collections(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute("SELECT collection, spec FROM _indexes").fetchall()
            return sorted({c for c, spec in rows if ops.index_from_json(spec).ttl})

        total = 0
        # Which collections have a TTL index is read from the file (another process
        # may have declared it); the sweep itself runs with the writer's metadata.
        for collection in await self.read(_ttl_collections):

            def _sweep(conn: sqlite3.Connection, c: str = collection) -> int:
                field = self.ttl.get(c)
                if field is None or c not in self.tables:
                    return 0
                # Strings before ``now``: a range on the key, so the TTL index serves it.
                key = sql.key_expr(field)
                return conn.execute(
                    f'DELETE FROM "c_{c}" WHERE {key} >= \'\' AND {key} < ?', (now,)
                ).rowcount

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
            # The schema changed: every process reloads its metadata at its next write.

        try:
            await self.write(_create)
        except sqlite3.IntegrityError:
            raise DuplicateKeyError(collection, [p for p, _ in index.fields]) from None

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

        return await self.write(_drop) is not None

    async def list_indexes(self, collection: str) -> list[IndexSpec]:
        def _list(conn: sqlite3.Connection) -> list[IndexSpec]:
            rows = conn.execute(
                "SELECT spec FROM _indexes WHERE collection = ? ORDER BY name", (collection,)
            ).fetchall()
            return [ops.index_from_json(row[0]) for row in rows]

        return await self.read(_list)

    async def enable_feed(self, collection: str) -> None:
        def _enable(conn: sqlite3.Connection) -> None:
            if collection in self.feeds:
                return
            conn.execute("INSERT OR IGNORE INTO _feeds (collection) VALUES (?)", (collection,))
            # Feeds are rows, not schema: move the schema cookie so that every process
            # reloads its metadata, and records this collection's changes, from its
            # next write on.
            conn.execute("CREATE TABLE _feeds_changed (x)")
            conn.execute("DROP TABLE _feeds_changed")

        await self.write(_enable)

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
