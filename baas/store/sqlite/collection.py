"""A collection in an SQLite file: one table of (id, JSON document)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from baas.store import docs
from baas.store.base import (
    Change,
    ChangeOp,
    Document,
    IndexSpec,
    InvalidCursor,
    InvalidQuery,
    Page,
    SortSpec,
    check_path,
)
from baas.store.filters import (
    CursorError,
    Filter,
    FilterError,
    cursor_values,
    decode_cursor,
    encode_cursor,
    normalize_sort,
)
from baas.store.sqlite import changes, ops, sql

if TYPE_CHECKING:
    from baas.store.sqlite.database import SQLiteDatabase


class SQLiteCollection:
    def __init__(self, db: SQLiteDatabase, name: str) -> None:
        self.db = db
        self.name = name
        self.table_name = f"c_{name}"
        self.table = f'"{self.table_name}"'

    # -- reads ----------------------------------------------------------------

    async def get(self, id: str) -> Document | None:
        def _get(conn: sqlite3.Connection) -> Document | None:
            row = conn.execute(f"SELECT doc FROM {self.table} WHERE id = ?", (id,)).fetchone()
            return None if row is None else ops.load(row[0])

        return await self.db.read(_get, table=self.table_name, absent=None)

    def select_sql(
        self,
        filter: Filter | None,
        sort: SortSpec,
        limit: int | None,
        cursor: str | None,
        offset: int,
    ) -> tuple[str, list[Any], list[tuple[str, int]]]:
        full_sort = normalize_sort(sort)
        params: list[Any] = []
        try:
            where = sql.compile_filter(filter, params)
            if cursor is not None:
                values = decode_cursor(cursor, len(full_sort))
                where = f"({where}) AND {sql.keyset(full_sort, values, params)}"
        except CursorError as exc:
            raise InvalidCursor(str(exc)) from None
        except FilterError as exc:
            raise InvalidQuery(str(exc)) from None
        query = f"SELECT doc FROM {self.table} WHERE {where} ORDER BY {sql.order_by(full_sort)}"
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
            if offset:
                query += " OFFSET ?"
                params.append(offset)
        elif offset:
            query += " LIMIT -1 OFFSET ?"
            params.append(offset)
        return query, params, full_sort

    async def find(
        self,
        filter: Filter | None = None,
        *,
        sort: SortSpec = (),
        limit: int | None = None,
        cursor: str | None = None,
        offset: int = 0,
        fields: Sequence[str] | None = None,
        max_time_ms: int | None = None,
    ) -> Page:
        for path, _ in sort:
            check_path(path)
        # Fetch one row more than asked to know whether another page exists.
        fetch = None if limit is None else limit + 1
        query, params, full_sort = self.select_sql(filter, sort, fetch, cursor, offset)

        def _find(conn: sqlite3.Connection) -> list[Document]:
            return [ops.load(row[0]) for row in conn.execute(query, params)]

        # A collection without a table (never written, or dropped, perhaps by another
        # process) is empty; SQLite decides, so no cached "exists" can be stale.
        rows = await self.db.read(_find, max_time_ms, table=self.table_name, absent=[])
        next_cursor = None
        if limit is not None and len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(cursor_values(rows[-1], full_sort))
        if fields is not None:
            rows = [docs.project(row, fields) for row in rows]
        return Page(items=rows, next_cursor=next_cursor)

    async def find_one(self, filter: Filter) -> Document | None:
        page = await self.find(filter, limit=1)
        return page.items[0] if page.items else None

    async def count(self, filter: Filter | None = None, *,
                    max_time_ms: int | None = None) -> int:
        params: list[Any] = []
        try:
            where = sql.compile_filter(filter, params)
        except FilterError as exc:
            raise InvalidQuery(str(exc)) from None

        def _count(conn: sqlite3.Connection) -> int:
            return int(conn.execute(f"SELECT count(*) FROM {self.table} WHERE {where}", params)
                       .fetchone()[0])

        return await self.db.read(_count, max_time_ms, table=self.table_name, absent=0)

    # -- writes (the *_sync forms run inside the writer transaction, where the
    #    database's metadata, e.g. ``db.tables``, is current) -------------------

    def insert_sync(self, conn: sqlite3.Connection, document: Document) -> Document:
        stored = docs.prepare_insert(document)
        self.db.ensure_table(conn, self.name)
        text = ops.dump(stored)
        try:
            conn.execute(f"INSERT INTO {self.table} (id, doc) VALUES (?, ?)", (stored["id"], text))
        except sqlite3.IntegrityError as exc:
            raise ops.duplicate_from(exc, self.name, self.db.index_fields) from None
        self.db.record_change(conn, self.name, "create", stored["id"], None, stored,
                              after_text=text)
        return stored

    def _load_sync(self, conn: sqlite3.Connection, id: str) -> tuple[Document, str] | None:
        """The stored document and its JSON text (the before-image of a change)."""
        if self.name not in self.db.tables:
            return None
        row = conn.execute(f"SELECT doc FROM {self.table} WHERE id = ?", (id,)).fetchone()
        return None if row is None else (ops.load(row[0]), row[0])

    def _write_sync(self, conn: sqlite3.Connection, before: Document, document: Document,
                    op: ChangeOp = "update", before_text: str | None = None) -> None:
        text = ops.dump(document)
        try:
            conn.execute(f"UPDATE {self.table} SET doc = ? WHERE id = ?", (text, document["id"]))
        except sqlite3.IntegrityError as exc:
            raise ops.duplicate_from(exc, self.name, self.db.index_fields) from None
        self.db.record_change(conn, self.name, op, document["id"], before, document,
                              before_text=before_text, after_text=text)

    def update_sync(
        self,
        conn: sqlite3.Connection,
        id: str,
        set: Document | None,
        unset: Sequence[str],
        expected_version: int | None,
        replace: bool = False,
    ) -> Document | None:
        found = self._load_sync(conn, id)
        if found is None:
            return None
        current, text = found
        if expected_version is not None and current.get("version") != expected_version:
            return None
        updated = docs.apply_update(current, set or {}, unset)
        self._write_sync(conn, current, updated, "replace" if replace else "update", text)
        return updated

    def delete_sync(
        self, conn: sqlite3.Connection, id: str, expected_version: int | None
    ) -> bool:
        if self.name not in self.db.tables:
            return False
        recorded = self.name in self.db.feeds
        current, text = None, None
        if expected_version is not None or recorded:  # the before-image of the change
            found = self._load_sync(conn, id)
            if found is None:
                return False
            current, text = found
            if expected_version is not None and current.get("version") != expected_version:
                return False
        deleted = conn.execute(f"DELETE FROM {self.table} WHERE id = ?", (id,)).rowcount > 0
        if deleted:
            self.db.record_change(conn, self.name, "delete", id, current, None,
                                  before_text=text)
        return deleted

    async def insert(self, document: Document) -> Document:
        return await self.db.write(lambda conn: self.insert_sync(conn, document), notify=True)

    async def update(
        self,
        id: str,
        set: Document | None = None,
        *,
        unset: Sequence[str] = (),
        expected_version: int | None = None,
    ) -> Document | None:
        docs.check_update(set or {}, unset)
        return await self.db.write(
            lambda conn: self.update_sync(conn, id, set, unset, expected_version), notify=True
        )

    async def find_one_and_update(
        self, filter: Filter, set: Document | None = None, *, unset: Sequence[str] = ()
    ) -> Document | None:
        docs.check_update(set or {}, unset)
        query, params, _ = self.select_sql(filter, (), 1, None, 0)

        def _fam(conn: sqlite3.Connection) -> Document | None:
            if self.name not in self.db.tables:
                return None
            row = conn.execute(query, params).fetchone()
            if row is None:
                return None
            current = ops.load(row[0])
            updated = docs.apply_update(current, set or {}, unset)
            self._write_sync(conn, current, updated, before_text=row[0])
            return updated

        return await self.db.write(_fam, notify=True)

    async def delete(self, id: str, *, expected_version: int | None = None) -> bool:
        return await self.db.write(
            lambda conn: self.delete_sync(conn, id, expected_version), notify=True
        )

    async def increment(self, counts: Mapping[str, int], field: str, *,
                        set: Document | None = None) -> dict[str, int]:
        check_path(field)
        docs.check_update(set or {}, ())
        extra = dict(set or {})
        counts = dict(counts)  # read in the writer thread, later

        def _increment(conn: sqlite3.Connection) -> dict[str, int]:
            totals: dict[str, int] = {}
            for id, count in counts.items():  # one transaction: all or none
                found = self._load_sync(conn, id)
                if found is None:
                    self.insert_sync(conn, {"id": id, field: count, **extra})
                    totals[id] = count
                    continue
                current, text = found
                total = int(current.get(field) or 0) + count
                updated = docs.apply_update(current, {**extra, field: total}, ())
                self._write_sync(conn, current, updated, before_text=text)
                totals[id] = total
            return totals

        return await self.db.write(_increment, notify=True)

    async def delete_many(self, filter: Filter | None = None) -> int:
        params: list[Any] = []
        try:
            where = sql.compile_filter(filter, params)
        except FilterError as exc:
            raise InvalidQuery(str(exc)) from None

        def _delete(conn: sqlite3.Connection) -> int:
            if self.name not in self.db.tables:
                return 0
            ids = [r[0] for r in conn.execute(f"SELECT id FROM {self.table} WHERE {where}", params)]
            for id in ids:
                self.delete_sync(conn, id, None)
            return len(ids)

        return await self.db.write(_delete, notify=True)

    # -- indexes and change feed ----------------------------------------------

    async def ensure_index(self, index: IndexSpec) -> None:
        await self.db.register_index(self.name, index)

    async def drop_index(self, name: str) -> bool:
        return await self.db.drop_index(self.name, name)

    async def indexes(self) -> list[IndexSpec]:
        return await self.db.list_indexes(self.name)

    def watch(self, after: str | None = None) -> AsyncIterator[Change]:
        return changes.watch(self, after)
