"""The change feed of an SQLite file: which collections record (``_feeds``), the
change records (``_changes``), reading them after a position, the head, pruning,
and watching a collection.

A change is a row written in the transaction of the write it records, so it is kept
exactly when the write is. Its position is its sequence number (AUTOINCREMENT never
reuses one). Pruning remembers, per collection, the last number it dropped
(``_changes_pruned``): reading from an older position answers ChangesExpired.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from baas.store.base import (
    Change,
    ChangeOp,
    ChangeRecord,
    ChangesExpired,
    Document,
    InvalidQuery,
    check_name,
)
from baas.store.sqlite import ops

if TYPE_CHECKING:
    from baas.store.sqlite.collection import SQLiteCollection

T = TypeVar("T")
CHANGES_SQL = """
CREATE TABLE IF NOT EXISTS _feeds (collection TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS _changes (seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL, op TEXT NOT NULL, id TEXT NOT NULL, doc TEXT, at TEXT NOT NULL,
    before TEXT);
CREATE INDEX IF NOT EXISTS _changes_by_collection ON _changes (collection, seq);
CREATE TABLE IF NOT EXISTS _changes_pruned (collection TEXT PRIMARY KEY,
    through INTEGER NOT NULL);
"""
PRUNE_CHUNK = 2000  # change rows looked at per pruning transaction
WATCH_POLL_SECONDS = 1.0  # also catches writes by other processes on the same file
WATCH_BATCH = 500
WATCH_OPS: dict[str, Literal["insert", "update", "delete"]] = {
    "create": "insert", "update": "update", "replace": "update", "delete": "delete"}


def parse_position(position: str) -> int:
    """A change position of this engine: the decimal sequence number of a change."""
    if not (position.isascii() and position.isdigit()) or len(position) > 19:
        raise InvalidQuery(f"invalid change position {position[:40]!r}")
    return int(position)


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring the change tables of a file written by an older version up to date."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(_changes)")}
    if "before" not in columns:  # a file written before changes kept before-images
        conn.execute("ALTER TABLE _changes ADD COLUMN before TEXT")


def read_feeds(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT collection FROM _feeds")}


class SQLiteChangeFeed:
    """The change-feed part of ``SQLiteDatabase`` (a mixin): the state below is the
    database's, current inside its write transactions."""

    feeds: set[str]  # collections that record changes
    changed: asyncio.Condition  # notified after each write that may have recorded one
    _recorded: list[ChangeRecord]  # changes written by the open transaction
    _feeds_added: list[str]  # feeds enabled by the open transaction

    if TYPE_CHECKING:
        async def read(self, fn: Callable[[sqlite3.Connection], T],
                       max_time_ms: int | None = None, *,
                       table: str | None = None, absent: Any = None) -> T: ...

        async def write(self, fn: Callable[[sqlite3.Connection], T],
                        notify: bool = False) -> T: ...

    async def record_changes(self, collection: str) -> None:
        check_name(collection)
        await self.write(lambda conn: self._enable_feed(conn, collection))

    def _enable_feed(self, conn: sqlite3.Connection, collection: str) -> None:
        """Inside the writer's transaction: nothing but a set lookup once enabled."""
        if collection in self.feeds:
            return
        conn.execute("INSERT OR IGNORE INTO _feeds (collection) VALUES (?)", (collection,))
        # Feeds are rows, not schema: move the schema cookie so that every process
        # reloads its metadata, and records this collection's changes, from its next
        # write on.
        conn.execute("CREATE TABLE _feeds_changed (x)")
        conn.execute("DROP TABLE _feeds_changed")
        self.feeds.add(collection)
        self._feeds_added.append(collection)

    def record_change(self, conn: sqlite3.Connection, collection: str, op: ChangeOp, id: str,
                      before: Document | None, after: Document | None, *,
                      before_text: str | None = None, after_text: str | None = None) -> None:
        """Write the change record in the open transaction, if the collection records.
        ``before_text``/``after_text`` are the images as already encoded (the row read,
        the row written), so a write encodes each document once."""
        if collection not in self.feeds:
            return
        if after_text is None and after is not None:
            after_text = ops.dump(after)
        if before_text is None and before is not None:
            before_text = ops.dump(before)
        at = conn.execute(
            "INSERT INTO _changes (collection, op, id, doc, before, at) VALUES (?, ?, ?, ?, ?, "
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            (collection, op, id, after_text, before_text),
        ).lastrowid
        self._recorded.append(ChangeRecord(collection, id, op, before, after, str(at)))

    def record_deletes(self, conn: sqlite3.Connection, collection: str,
                       where: str | None = None, params: Sequence[Any] = ()) -> None:
        """Record, with its before-image, the delete of each document of ``collection``
        (matching ``where``) about to go, if the collection records."""
        if collection not in self.feeds:
            return
        query = f'SELECT id, doc FROM "c_{collection}"'
        if where is not None:
            query += f" WHERE {where}"
        for id, doc in conn.execute(query, params).fetchall():
            self.record_change(conn, collection, "delete", id, ops.load(doc), None,
                               before_text=doc)

    async def changes(self, collection: str, after: str, limit: int = 100
                      ) -> list[ChangeRecord]:
        check_name(collection)
        since = parse_position(after)

        def _read(conn: sqlite3.Connection) -> list[ChangeRecord]:
            # One snapshot: the watermark and the rows after it agree.
            conn.execute("BEGIN")
            try:
                row = conn.execute("SELECT through FROM _changes_pruned WHERE collection = ?",
                                   (collection,)).fetchone()
                if row is not None and since < row[0]:
                    raise ChangesExpired(
                        f"changes of {collection!r} after position {after!r} are no longer "
                        "kept; read the current state and follow from the head")
                rows = conn.execute(
                    "SELECT seq, op, id, before, doc FROM _changes WHERE collection = ? "
                    "AND seq > ? ORDER BY seq LIMIT ?", (collection, since, limit)).fetchall()
            finally:
                conn.execute("COMMIT")
            return [ChangeRecord(collection, id, op, None if before is None else ops.load(before),
                                 None if doc is None else ops.load(doc), str(seq))
                    for seq, op, id, before, doc in rows]

        return await self.read(_read)

    async def head(self, collection: str) -> str:
        check_name(collection)
        # The last sequence number of the file (AUTOINCREMENT never reuses one): any
        # later change of this collection lies after it.
        return await self.read(lambda conn: str(conn.execute(
            "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = '_changes'"
        ).fetchone()[0]), table="sqlite_sequence", absent="0")

    async def prune_changes(self, before: str) -> int:
        def _prune(conn: sqlite3.Connection) -> tuple[int, bool]:
            rows = conn.execute("SELECT seq, collection, at FROM _changes ORDER BY seq LIMIT ?",
                                (PRUNE_CHUNK,)).fetchall()
            through: dict[str, int] = {}
            last = 0
            for seq, collection, at in rows:
                if at >= before:
                    break
                through[collection] = last = seq
            if not through:
                return 0, False
            removed = conn.execute("DELETE FROM _changes WHERE seq <= ?", (last,)).rowcount
            conn.executemany(
                "INSERT INTO _changes_pruned (collection, through) VALUES (?, ?) "
                "ON CONFLICT (collection) DO UPDATE SET through = max(through, excluded.through)",
                list(through.items()))
            return removed, len(rows) == PRUNE_CHUNK and removed == len(rows)

        total = 0
        more = True
        while more:  # in chunks: the writer lock is never held for long
            removed, more = await self.write(_prune)
            total += removed
        return total


async def watch(collection: SQLiteCollection, after: str | None) -> AsyncIterator[Change]:
    """``Collection.watch``: the collection's change records as changes, forever."""
    db = collection.db
    await db.record_changes(collection.name)
    last = await db.head(collection.name) if after is None else after
    while True:
        records = await db.changes(collection.name, last, WATCH_BATCH)
        for record in records:
            last = record.position
            yield Change(op=WATCH_OPS[record.op], id=record.id, document=record.after,
                         token=record.position)
        if not records:
            async with db.changed:
                try:
                    await asyncio.wait_for(db.changed.wait(), WATCH_POLL_SECONDS)
                except TimeoutError:
                    pass
