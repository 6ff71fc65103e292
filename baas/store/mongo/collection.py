"""A collection in MongoDB: documents, queries, updates and declared indexes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import OperationFailure

from baas.store import docs
from baas.store.base import (
    Change,
    Document,
    IndexSpec,
    Page,
    SortSpec,
    StoreUnavailable,
    check_path,
)
from baas.store.filters import (
    Filter,
    cursor_values,
    decode_cursor,
    encode_cursor,
    normalize_sort,
)
from baas.store.mongo import changes, query
from baas.store.mongo.documents import from_mongo, sets_boolean, to_mongo, update_spec
from baas.store.mongo.errors import translated

if TYPE_CHECKING:
    from baas.store.mongo.database import MongoDatabase

INDEX_META = "_indexes"
INDEX_NOT_FOUND = 27
SWAP_ATTEMPTS = 20


class MongoCollection:
    def __init__(self, db: MongoDatabase, name: str) -> None:
        self.db = db
        self.name = name
        self.raw = db.raw[name]
        self.unique: dict[str, tuple[str, ...]] = {}
        self._unique_loaded = False

    async def _unique(self) -> dict[str, tuple[str, ...]]:
        if not self._unique_loaded:
            for spec in await self.indexes():
                if spec.unique:
                    self.unique[spec.name] = tuple(p for p, _ in spec.fields)
            self._unique_loaded = True
        return self.unique

    async def insert(self, document: Document) -> Document:
        stored = docs.prepare_insert(document)
        docs.check_json(stored)
        with translated(self.name, await self._unique()):
            await self.raw.insert_one(to_mongo(stored))
        return stored

    async def get(self, id: str) -> Document | None:
        with translated(self.name):
            return from_mongo(await self.raw.find_one({"_id": id}))

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
        full_sort = normalize_sort(sort)
        with translated(self.name):
            spec = query.compile_filter(filter)
            if cursor is not None:
                values = decode_cursor(cursor, len(full_sort))
                spec = {"$and": [spec, query.keyset(full_sort, values)]}
            await self._check_sortable(spec, full_sort, offset, max_time_ms)
            found = self.raw.find(spec, sort=query.sort_spec(full_sort), skip=offset,
                                  max_time_ms=max_time_ms)
            if limit is not None:
                found = found.limit(limit + 1)
            rows = [from_mongo(doc) async for doc in found]
        items: list[Document] = [row for row in rows if row is not None]
        next_cursor = None
        if limit is not None and len(items) > limit:
            items = items[:limit]
        for item in items:
            bad = query.unsortable(item, sort)
            if bad is not None:
                raise query.unsortable_error(bad)
        if limit is not None and len(rows) > limit:
            next_cursor = encode_cursor(cursor_values(items[-1], full_sort))
        if fields is not None:
            items = [docs.project(item, fields) for item in items]
        return Page(items=items, next_cursor=next_cursor)

    async def _check_sortable(self, spec: Document, sort: SortSpec, offset: int,
                              max_time_ms: int | None) -> None:
        """Refuse a sort MongoDB would order otherwise than the language for these
        documents, where the page itself cannot show it (``query.sort_probe``)."""
        probe = query.sort_probe(sort, offset)
        if probe is None:
            return
        top = {path.split(".")[0]: 1 for path, _ in sort if path != "id"}
        hit = await self.raw.find_one({"$and": [spec, probe]}, projection=top,
                                      max_time_ms=max_time_ms)
        if hit is not None:
            bad = query.unsortable(hit, sort)
            raise query.unsortable_error(bad or next(p for p, _ in sort if p != "id"))

    async def find_one(self, filter: Filter) -> Document | None:
        page = await self.find(filter, limit=1)
        return page.items[0] if page.items else None

    async def count(self, filter: Filter | None = None, *,
                    max_time_ms: int | None = None) -> int:
        options: dict[str, Any] = {} if max_time_ms is None else {"maxTimeMS": max_time_ms}
        with translated(self.name):
            return int(await self.raw.count_documents(query.compile_filter(filter), **options))

    async def update(
        self,
        id: str,
        set: Document | None = None,
        *,
        unset: Sequence[str] = (),
        expected_version: int | None = None,
        session: Any = None,
        replace: bool = False,
    ) -> Document | None:
        docs.check_update(set or {}, unset)
        docs.check_json(set)
        selector: Document = {"_id": id}
        if expected_version is not None:
            selector["version"] = expected_version
        # A replace writes the whole document (replace_one), so the change stream
        # reports it as one.
        if replace or sets_boolean(set):
            with translated(self.name, await self._unique()):
                return await self._swap(selector, set or {}, unset, session)
        # update_one, not findAndModify: the test stand-in drops unique-index errors
        # from findAndModify. The read-back may show a later write, never an older one.
        with translated(self.name, await self._unique()):
            result = await self.raw.update_one(
                selector, update_spec(set or {}, unset), session=session
            )
            if result.matched_count == 0:
                return None
            found = await self.raw.find_one({"_id": id}, session=session)
        return from_mongo(found)

    async def find_one_and_update(
        self, filter: Filter, set: Document | None = None, *, unset: Sequence[str] = ()
    ) -> Document | None:
        docs.check_update(set or {}, unset)
        docs.check_json(set)
        if sets_boolean(set):
            with translated(self.name, await self._unique()):
                return await self._swap(query.compile_filter(filter), set or {}, unset, None)
        with translated(self.name, await self._unique()):
            found = await self.raw.find_one_and_update(
                query.compile_filter(filter), update_spec(set or {}, unset),
                return_document=ReturnDocument.AFTER,
            )
        return from_mongo(found)

    async def _swap(self, selector: Document, set: Document, unset: Sequence[str],
                    session: Any) -> Document | None:
        """Update the first document matching ``selector`` by compare-and-swap on its
        version: read it, apply the update here, replace it if still unchanged. Used
        where ``$set`` would turn a boolean into 1 or 0 on the test stand-in."""
        for _ in range(SWAP_ATTEMPTS):
            current = from_mongo(await self.raw.find_one(selector, session=session))
            if current is None:
                return None
            updated = docs.apply_update(current, set, unset)
            unchanged = {"$and": [selector, {"_id": current["id"]},
                                  {"version": {"$eq": current.get("version")}}]}
            result = await self.raw.replace_one(unchanged, to_mongo(updated), session=session)
            if result.matched_count:
                return updated
        raise StoreUnavailable("the document kept changing while we updated it; try again")

    async def delete(
        self, id: str, *, expected_version: int | None = None, session: Any = None
    ) -> bool:
        selector: Document = {"_id": id}
        if expected_version is not None:
            selector["version"] = expected_version
        with translated(self.name):
            result = await self.raw.delete_one(selector, session=session)
        return result.deleted_count > 0

    async def increment(self, counts: Mapping[str, int], field: str, *,
                        set: Document | None = None) -> dict[str, int]:
        check_path(field)
        docs.check_update(set or {}, ())
        docs.check_json(set)
        if not counts:
            return {}
        # Upserts with $inc: atomic per document on the server, created at the count.
        adds = [UpdateOne({"_id": id}, {"$inc": {field: count, "version": 1},
                                        **({"$set": dict(set)} if set else {})}, upsert=True)
                for id, count in counts.items()]
        with translated(self.name):
            await self.raw.bulk_write(adds, ordered=False)
            found = self.raw.find({"_id": {"$in": list(counts)}}, projection={field: 1})
            return {doc["_id"]: int(doc.get(field) or 0) async for doc in found}

    async def delete_many(self, filter: Filter | None = None) -> int:
        with translated(self.name):
            result = await self.raw.delete_many(query.compile_filter(filter))
        return int(result.deleted_count)

    async def ensure_index(self, index: IndexSpec) -> None:
        keys = [(query.mongo_path(p), d) for p, d in index.fields]
        with translated(self.name):
            # sparse: documents without the field do not collide, as on SQLite.
            await self.raw.create_index(
                keys, name=index.name, unique=index.unique, sparse=index.unique
            )
            # Keyed by collection and name, not _id: the stand-in's upsert ignores an
            # _id in the filter and inserts a new document every time.
            await self.db.raw[INDEX_META].replace_one(
                {"collection": self.name, "name": index.name},
                {"collection": self.name, "name": index.name,
                 "fields": [list(f) for f in index.fields],
                 "unique": index.unique, "ttl": index.ttl},
                upsert=True,
            )
        if index.ttl:
            self.db.ttl[self.name] = index.fields[0][0]
        if index.unique:
            self.unique[index.name] = tuple(p for p, _ in index.fields)

    async def _index_rows(self) -> list[tuple[Any, IndexSpec]]:
        with translated(self.name):
            rows = await self.db.raw[INDEX_META].find({"collection": self.name}).to_list()
        return [(row["_id"], IndexSpec(tuple((p, int(d)) for p, d in row["fields"]),
                                       row["unique"], row["ttl"])) for row in rows]

    async def drop_index(self, name: str) -> bool:
        rows = [(row_id, spec) for row_id, spec in await self._index_rows()
                if spec.name == name]
        if not rows:
            return False
        spec = rows[0][1]
        keys = [(query.mongo_path(p), d) for p, d in spec.fields]
        with translated(self.name):
            # Found by key pattern: the stand-in names indexes its own way (and MongoDB
            # holds one index per pattern for these specs).
            async for info in await self.raw.list_indexes():
                if [(k, int(d)) for k, d in info["key"].items()] == keys:
                    try:
                        await self.raw.drop_index(info["name"])
                    except OperationFailure as exc:
                        if exc.code != INDEX_NOT_FOUND:
                            raise
            await self.db.raw[INDEX_META].delete_many(
                {"_id": {"$in": [row_id for row_id, _ in rows]}})
        self.unique.pop(name, None)
        if spec.ttl:
            self.db.ttl.pop(self.name, None)
        return True

    async def indexes(self) -> list[IndexSpec]:
        specs = {spec.name: spec for _, spec in await self._index_rows()}
        return [specs[name] for name in sorted(specs)]

    def watch(self, after: str | None = None) -> AsyncIterator[Change]:
        return changes.watch(self, after)
