"""One SQLite file: the writer and its transactions, metadata, batches, TTL, indexes.

Writes are serialized by an asyncio lock and run on the engine's thread pool with
the single writer connection; reads use a connection per pool thread
(``connections.Readers``), so they run concurrently under WAL. Nothing blocking runs
on the event loop. The change feed is ``changes.SQLiteChangeFeed``.

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
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from baas.store.base import (
    BatchFailed,
    BatchOp,
    ChangeRecord,
    Delete,
    Document,
    DuplicateKeyError,
    IndexSpec,
    Insert,
    StoreError,
    StoreUnavailable,
    Update,
    WriteConflict,
    Written,
    check_name,
)
from baas.store.sqlite import changes, ops, sql
from baas.store.sqlite.collection import SQLiteCollection
from baas.store.sqlite.connections import DROPPED, Dropped, Readers, connect

T = TypeVar("T")
META_SQL = """
CREATE TABLE IF NOT EXISTS _indexes (collection TEXT NOT NULL, name TEXT NOT NULL,
    spec TEXT NOT NULL, PRIMARY KEY (collection, name));""" + changes.CHANGES_SQL


class SQLiteDatabase(changes.SQLiteChangeFeed):
    def __init__(self, name: str, path: Path, pool: ThreadPoolExecutor) -> None:
        self.name = name
        self.path = path
        self._pool = pool
        self._writer: sqlite3.Connection | None = None
        self._write_lock = asyncio.Lock()
        self.readers = Readers(name, path, META_SQL)
        # Metadata, valid inside a write transaction (see the module docstring).
        self.tables: set[str] = set()
        self.feeds: set[str] = set()
        self.ttl: dict[str, str] = {}  # collection -> TTL field
        self.index_fields: dict[str, tuple[str, ...]] = {}  # SQL index name -> fields
        self._schema_version: int | None = None  # the cookie the metadata was read at
        self._created: list[str] = []  # tables created by the open transaction
        self._recorded: list[ChangeRecord] = []  # changes written by the open transaction
        self._feeds_added: list[str] = []  # feeds enabled by the open transaction
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
        changes.upgrade(conn)
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
        feeds = changes.read_feeds(conn)
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

    async def read(self, fn: Callable[[sqlite3.Connection], T],
                   max_time_ms: int | None = None, *,
                   table: str | None = None, absent: Any = None) -> T:
        """Run ``fn`` on this thread's reader; stop it with QueryTimeout after
        ``max_time_ms`` (the connection stays usable). When ``fn`` fails because the
        table ``table`` does not exist, the answer is ``absent``."""
        await self._ensure_open()
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self.readers.run, fn, max_time_ms, table, absent
        )

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
        self._recorded = []
        self._feeds_added = []
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            # Tables created (feeds enabled) inside the rolled-back transaction are gone.
            self.tables.difference_update(self._created)
            self.feeds.difference_update(self._feeds_added)
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
            self.readers.generation += 1
        raise StoreUnavailable(f"database {self.name!r} is being dropped")

    async def close(self) -> None:
        if not self._opened:
            return

        def _close() -> None:
            self.readers.close()
            if self._writer is not None:
                self._writer.close()
                self._writer = None

        async with self._write_lock:
            await asyncio.get_running_loop().run_in_executor(self._pool, _close)
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
            if name in self.tables:
                # Each document leaves as a recorded delete. The feed stays on, and the
                # changes stay until the retention window drops them: readers following
                # the collection see the drop, and a re-created one records too.
                self.record_deletes(conn, name)
            conn.execute(f'DROP TABLE IF EXISTS "c_{name}"')
            conn.execute("DELETE FROM _indexes WHERE collection = ?", (name,))

        # The schema changed: the next transaction reloads the metadata.
        await self.write(_drop, notify=True)

    def ensure_table(self, conn: sqlite3.Connection, name: str) -> None:
        if name not in self.tables:
            conn.execute(
                f'CREATE TABLE IF NOT EXISTS "c_{name}" (id TEXT PRIMARY KEY, doc TEXT NOT NULL)'
            )
            self.tables.add(name)
            self._created.append(name)

    async def batch(self, operations: Sequence[BatchOp]) -> list[Document | None]:
        return (await self.commit(operations)).results

    async def commit(self, operations: Sequence[BatchOp], record: Sequence[str] = ()
                     ) -> Written:
        for name in [op.collection for op in operations] + list(record):
            check_name(name)

        def _run(conn: sqlite3.Connection) -> Written:
            for name in record:
                self._enable_feed(conn, name)
            results: list[Document | None] = []
            for index, op in enumerate(operations):
                try:
                    results.append(self._apply(conn, op))
                except StoreError as exc:
                    raise BatchFailed(index, str(exc), exc) from exc
            return Written(results, list(self._recorded))

        return await self.write(_run, notify=True)

    def _apply(self, conn: sqlite3.Connection, op: BatchOp) -> Document | None:
        coll = self.collection(op.collection)
        if isinstance(op, Insert):
            return coll.insert_sync(conn, op.document)
        if isinstance(op, Update):
            updated = coll.update_sync(conn, op.id, op.set, op.unset, op.expected_version,
                                       op.replace)
            if updated is None:
                raise WriteConflict(f"document {op.id!r} not found or version changed")
            return updated
        assert isinstance(op, Delete)
        if not coll.delete_sync(conn, op.id, op.expected_version):
            raise WriteConflict(f"document {op.id!r} not found or version changed")
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
                where = f"{key} >= '' AND {key} < ?"
                self.record_deletes(conn, c, where, (now,))  # expiry is a recorded delete
                return conn.execute(f'DELETE FROM "c_{c}" WHERE {where}', (now,)).rowcount

            total += await self.write(_sweep, notify=True)
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

    def explain(self, sql: str, params: Sequence[Any]) -> list[str]:
        """EXPLAIN QUERY PLAN details, for tests that assert indexes are used."""
        conn = self.readers.connection()
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
