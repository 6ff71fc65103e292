"""The production engine: MongoDB through PyMongo's async API.

One MongoDB database per baas database (``<prefix><name>``). Documents keep their
``id`` in ``_id``. PyMongo's exceptions are translated into store errors here and
nowhere else.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from bson import json_util
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import (
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
)
from pymongo.errors import (
    DuplicateKeyError as MongoDuplicateKey,
)

from baas.store import docs
from baas.store.base import (
    DATABASE_RE,
    BatchFailed,
    BatchOp,
    Change,
    Delete,
    Document,
    DuplicateKeyError,
    IndexSpec,
    Insert,
    InvalidQuery,
    Page,
    QueryTimeout,
    SortSpec,
    StoreError,
    StoreUnavailable,
    check_name,
    check_path,
)
from baas.store.filters import (
    Filter,
    FilterError,
    cursor_values,
    decode_cursor,
    encode_cursor,
    normalize_sort,
)
from baas.store.mongo import query

INDEX_META = "_indexes"
INDEX_NOT_FOUND = 27
SWAP_ATTEMPTS = 20
CHANGE_OPS: dict[str, Literal["insert", "update", "delete"]] = {
    "insert": "insert", "update": "update", "replace": "update", "delete": "delete",
}


@contextmanager
def translated(collection: str = "", unique: dict[str, tuple[str, ...]] | None = None
               ) -> Iterator[None]:
    """Translate PyMongo's exceptions into store errors (the one boundary)."""
    try:
        yield
    except MongoDuplicateKey as exc:
        raise DuplicateKeyError(collection, duplicate_fields(exc, unique or {})) from None
    except ConnectionFailure as exc:
        raise StoreUnavailable(f"MongoDB is unreachable: {type(exc).__name__}") from None
    except FilterError as exc:
        raise InvalidQuery(str(exc)) from None
    except ExecutionTimeout:
        raise QueryTimeout("the query ran longer than its time limit") from None
    except OperationFailure as exc:
        raise StoreError(f"MongoDB refused the operation (code {exc.code})") from None
    except PyMongoError as exc:
        raise StoreUnavailable(f"MongoDB error: {type(exc).__name__}") from None


def duplicate_fields(exc: MongoDuplicateKey, unique: dict[str, tuple[str, ...]]) -> list[str]:
    details = exc.details or {}
    pattern = details.get("keyPattern")
    if pattern:
        return ["id" if k == "_id" else k for k in pattern]
    # Servers that omit keyPattern (the test stand-in) still name the index or _id.
    message = str(details.get("errmsg", exc))
    if "._id" in message or "_id_" in message:
        return ["id"]
    for name, fields in unique.items():
        if name in message or "_".join(fields) in message:
            return list(fields)
    if len(unique) == 1:
        return list(next(iter(unique.values())))
    return ["unknown"]


def sets_boolean(set: Document | None) -> bool:
    """Whether an update sets a boolean at a path (the stand-in's ``$set`` stores 1/0)."""
    return any(isinstance(value, bool) for value in (set or {}).values())


def to_mongo(document: Document) -> Document:
    stored = dict(document)
    stored["_id"] = stored.pop("id")
    return stored


def from_mongo(document: Document | None) -> Document | None:
    if document is None:
        return None
    result = {"id": document["_id"]}
    result.update((k, v) for k, v in document.items() if k != "_id")
    return result


def update_spec(set: Document, unset: Sequence[str]) -> Document:
    spec: Document = {"$inc": {"version": 1}}
    if set:
        spec["$set"] = dict(set)
    if unset:
        spec["$unset"] = {path: "" for path in unset}
    return spec


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
    ) -> Document | None:
        docs.check_update(set or {}, unset)
        docs.check_json(set)
        selector: Document = {"_id": id}
        if expected_version is not None:
            selector["version"] = expected_version
        if sets_boolean(set):
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

    async def watch(self, after: str | None = None) -> AsyncIterator[Change]:
        resume = None
        if after is not None:
            try:
                resume = json_util.loads(base64.urlsafe_b64decode(after.encode()))
            except (ValueError, TypeError):
                raise InvalidQuery("invalid change token") from None
        with translated(self.name):
            async with await self.raw.watch(
                full_document="updateLookup", resume_after=resume
            ) as stream:
                async for event in stream:
                    kind = event.get("operationType")
                    op = CHANGE_OPS.get(kind or "")
                    if op is None:
                        continue
                    token = base64.urlsafe_b64encode(
                        json_util.dumps(event["_id"]).encode()
                    ).decode()
                    doc_id = str(event.get("documentKey", {}).get("_id"))
                    document = from_mongo(event.get("fullDocument")) if op != "delete" else None
                    if document is not None:
                        document["id"] = doc_id
                    yield Change(op=op, id=doc_id, document=document, token=token)


class MongoDatabase:
    def __init__(self, engine: MongoEngine, name: str) -> None:
        self.name = name
        self.engine = engine
        self.raw = engine.client[engine.prefix + name]
        self.ttl: dict[str, str] = {}
        self._ttl_loaded = False
        self._collections: dict[str, MongoCollection] = {}

    def collection(self, name: str) -> MongoCollection:
        check_name(name)
        found = self._collections.get(name)
        if found is None:
            found = self._collections[name] = MongoCollection(self, name)
        return found

    async def collections(self) -> list[str]:
        with translated():
            names = await self.raw.list_collection_names()
        return sorted(n for n in names if not n.startswith(("_", "system.")))

    async def drop_collection(self, name: str) -> None:
        check_name(name)
        with translated(name):
            await self.raw.drop_collection(name)
            await self.raw[INDEX_META].delete_many({"collection": name})
        self.ttl.pop(name, None)

    async def batch(self, ops: Sequence[BatchOp]) -> list[Document | None]:
        for op in ops:
            check_name(op.collection)
        results: list[Document | None] = []
        with translated():
            async with self.engine.client.start_session() as session:
                async with await session.start_transaction():
                    for index, op in enumerate(ops):
                        results.append(await self._apply(index, op, session))
        return results

    async def _apply(self, index: int, op: BatchOp, session: Any) -> Document | None:
        coll = self.collection(op.collection)
        try:
            if isinstance(op, Insert):
                stored = docs.prepare_insert(op.document)
                docs.check_json(stored)
                with translated(op.collection, await coll._unique()):
                    await coll.raw.insert_one(to_mongo(stored), session=session)
                return stored
            if isinstance(op, Delete):
                if not await coll.delete(op.id, expected_version=op.expected_version,
                                         session=session):
                    raise StoreError(f"document {op.id!r} not found or version changed")
                return None
            updated = await coll.update(op.id, op.set, unset=op.unset,
                                        expected_version=op.expected_version, session=session)
            if updated is None:
                raise StoreError(f"document {op.id!r} not found or version changed")
            return updated
        except StoreUnavailable:
            raise
        except StoreError as exc:
            raise BatchFailed(index, str(exc), exc) from exc

    async def _load_ttl(self) -> None:
        if self._ttl_loaded:
            return
        with translated():
            async for row in self.raw[INDEX_META].find({"ttl": True}):
                self.ttl[row["collection"]] = row["fields"][0][0]
        self._ttl_loaded = True

    async def sweep_expired(self, now: str) -> int:
        await self._load_ttl()
        total = 0
        for collection, field in list(self.ttl.items()):
            with translated(collection):
                result = await self.raw[collection].delete_many(
                    {field: {"$type": "string", "$lt": now}}
                )
            total += result.deleted_count
        return total


class MongoEngine:
    kind = "mongodb"

    def __init__(self, url: str, prefix: str = "baas_", write_concern: str = "majority",
                 timeout_ms: int = 5000) -> None:
        w: str | int = int(write_concern) if write_concern.isdigit() else write_concern
        self.url = url
        self.prefix = prefix
        self.client: AsyncMongoClient[Document] = AsyncMongoClient(
            url, w=w, serverSelectionTimeoutMS=timeout_ms, tz_aware=True, connect=False
        )
        self._databases: dict[str, MongoDatabase] = {}

    async def open(self) -> None:
        await self.ping()

    async def close(self) -> None:
        await self.client.close()

    async def ping(self) -> None:
        with translated():
            await self.client.admin.command("ping")

    def database(self, name: str) -> MongoDatabase:
        if not DATABASE_RE.match(name):
            raise InvalidQuery(f"invalid database name {name!r}")
        db = self._databases.get(name)
        if db is None:
            db = self._databases[name] = MongoDatabase(self, name)
        return db

    async def drop_database(self, name: str) -> None:
        self.database(name)
        with translated():
            await self.client.drop_database(self.prefix + name)
        self._databases.pop(name, None)

    async def databases(self) -> list[str]:
        with translated():
            names = await self.client.list_database_names()
        return sorted(n[len(self.prefix):] for n in names if n.startswith(self.prefix))

    def describe(self) -> str:
        hosts = self.url.split("@")[-1].split("/")[0]
        return f"MongoDB at {hosts} (databases {self.prefix}*)"
