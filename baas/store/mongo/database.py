"""A baas database on MongoDB: one MongoDB database (``<prefix><name>``), its
collections and TTL sweeps; batches are ``batch``, the change feed ``changes``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from baas.store.base import check_name
from baas.store.mongo.batch import MongoBatches
from baas.store.mongo.changes import MongoChangeFeed
from baas.store.mongo.collection import INDEX_META, MongoCollection
from baas.store.mongo.errors import translated

if TYPE_CHECKING:
    from baas.store.mongo.engine import MongoEngine


class MongoDatabase(MongoChangeFeed, MongoBatches):
    def __init__(self, engine: MongoEngine, name: str) -> None:
        self.name = name
        self.engine = engine
        self.raw = engine.client[engine.prefix + name]
        self.ttl: dict[str, str] = {}
        self._ttl_loaded = False
        self._collections: dict[str, MongoCollection] = {}
        self._recording: set[str] = set()  # collections known to keep pre/post images

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
            # Dropping emits one "drop" event, not a delete per document: delete them
            # first, so change streams see each document leave (with its pre-image).
            await self.raw[name].delete_many({})
            await self.raw.drop_collection(name)
            await self.raw[INDEX_META].delete_many({"collection": name})
        self.ttl.pop(name, None)
        self._recording.discard(name)  # dropping a collection drops its options

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
