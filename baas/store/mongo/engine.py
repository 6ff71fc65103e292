"""The production engine: MongoDB through PyMongo's async API.

One MongoDB database per baas database (``<prefix><name>``, ``database``). Documents
keep their ``id`` in ``_id`` (``documents``). PyMongo's exceptions are translated
into store errors in ``errors`` (and, for change streams, ``changes``) only.
"""

from __future__ import annotations

from pymongo import AsyncMongoClient

from baas.store.base import DATABASE_RE, Document, InvalidQuery
from baas.store.mongo.database import MongoDatabase
from baas.store.mongo.documents import update_spec as update_spec  # where tests import it
from baas.store.mongo.errors import translated


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
