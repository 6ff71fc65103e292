"""Batches on MongoDB: one operation alone, more in one multi-document transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from baas.store import docs
from baas.store.base import (
    BatchFailed,
    BatchOp,
    Delete,
    Document,
    Insert,
    StoreError,
    StoreUnavailable,
    WriteConflict,
    Written,
    check_name,
)
from baas.store.mongo.documents import to_mongo
from baas.store.mongo.errors import translated

if TYPE_CHECKING:
    from baas.store.mongo.collection import MongoCollection
    from baas.store.mongo.engine import MongoEngine


class MongoBatches:
    """The batch part of ``MongoDatabase`` (a mixin)."""

    engine: MongoEngine

    if TYPE_CHECKING:
        def collection(self, name: str) -> MongoCollection: ...

        async def record_changes(self, collection: str) -> None: ...

    async def batch(self, ops: Sequence[BatchOp]) -> list[Document | None]:
        return (await self.commit(ops)).results

    async def commit(self, ops: Sequence[BatchOp], record: Sequence[str] = ()) -> Written:
        """One operation runs alone (a single-document write is atomic in MongoDB),
        more in one transaction. The change records are MongoDB's own (change streams
        read the oplog), so none are answered here."""
        for op in ops:
            check_name(op.collection)
        for name in record:
            await self.record_changes(name)  # once per process and collection
        results: list[Document | None] = []
        with translated():
            if len(ops) == 1:
                results.append(await self._apply(0, ops[0], None))
                return Written(results, [])
            async with self.engine.client.start_session() as session:
                async with await session.start_transaction():
                    for index, op in enumerate(ops):
                        results.append(await self._apply(index, op, session))
        return Written(results, [])

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
                    raise WriteConflict(f"document {op.id!r} not found or version changed")
                return None
            updated = await coll.update(op.id, op.set, unset=op.unset,
                                        expected_version=op.expected_version, session=session,
                                        replace=op.replace)
            if updated is None:
                raise WriteConflict(f"document {op.id!r} not found or version changed")
            return updated
        except StoreUnavailable:
            raise
        except StoreError as exc:
            raise BatchFailed(index, str(exc), exc) from exc
