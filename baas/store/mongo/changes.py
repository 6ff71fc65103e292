"""The change feed on MongoDB: its own change streams (read from the oplog).

Recording a collection's changes enables its pre- and post-images (MongoDB 6.0+), so
events carry the document before and after each write. A position is an encoded
resume token; history the oplog no longer holds answers ChangesExpired. Nothing is
pruned here: the oplog is MongoDB's, bounded by its own window.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from bson import json_util
from pymongo.errors import OperationFailure

from baas.store.base import (
    Change,
    ChangeOp,
    ChangeRecord,
    ChangesExpired,
    Document,
    InvalidQuery,
    StoreUnavailable,
    check_name,
)
from baas.store.mongo.documents import from_mongo
from baas.store.mongo.errors import translated

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

    from baas.store.mongo.collection import MongoCollection

CHANGE_OPS: dict[str, Literal["insert", "update", "delete"]] = {
    "insert": "insert", "update": "update", "replace": "update", "delete": "delete",
}
RECORD_OPS: dict[str, ChangeOp] = {
    "insert": "create", "update": "update", "replace": "replace", "delete": "delete",
}
HISTORY_LOST = (280, 286)  # ChangeStreamFatalError, ChangeStreamHistoryLost
NAMESPACE_EXISTS = 48
CHANGES_AWAIT_MS = 50  # how long a read of changes waits for more before it answers


def encode_token(token: Any) -> str:
    return base64.urlsafe_b64encode(json_util.dumps(token).encode()).decode()


def decode_token(position: str) -> Any:
    try:
        token = json_util.loads(base64.urlsafe_b64decode(position.encode()))
    except (ValueError, TypeError):
        raise InvalidQuery(f"invalid change position {position[:40]!r}") from None
    if not isinstance(token, dict):
        raise InvalidQuery(f"invalid change position {position[:40]!r}")
    return token


@contextmanager
def reading_changes(collection: str) -> Iterator[None]:
    """``translated``, where a change stream that lost its history is ChangesExpired."""
    with translated(collection):
        try:
            yield
        except OperationFailure as exc:
            if exc.code in HISTORY_LOST:
                raise ChangesExpired(
                    f"changes of {collection!r} after this position are no longer in the "
                    "oplog; read the current state and follow from the head") from None
            raise


def change_record(collection: str, event: Document) -> ChangeRecord | None:
    op = RECORD_OPS.get(event.get("operationType") or "")
    if op is None:  # drop, rename, invalidate: not a document write
        return None
    doc_id = str(event.get("documentKey", {}).get("_id"))
    after = from_mongo(event.get("fullDocument")) if op != "delete" else None
    before = from_mongo(event.get("fullDocumentBeforeChange"))
    for image in (before, after):
        if image is not None:
            image["id"] = doc_id  # the stand-in mis-encodes _id inside images
    return ChangeRecord(collection, doc_id, op, before, after, encode_token(event["_id"]))


class MongoChangeFeed:
    """The change-feed part of ``MongoDatabase`` (a mixin: the state is the database's)."""

    raw: AsyncDatabase[Document]
    _recording: set[str]  # collections known to keep pre/post images

    async def record_changes(self, collection: str) -> None:
        """Enable pre- and post-images (MongoDB 6.0+), so change events carry the
        document before and after each write."""
        check_name(collection)
        if collection in self._recording:
            return
        with translated(collection):
            try:
                await self.raw.command("create", collection,
                                       changeStreamPreAndPostImages={"enabled": True})
            except OperationFailure as exc:
                if exc.code != NAMESPACE_EXISTS:
                    raise
                await self.raw.command("collMod", collection,
                                       changeStreamPreAndPostImages={"enabled": True})
        self._recording.add(collection)

    async def changes(self, collection: str, after: str, limit: int = 100
                      ) -> list[ChangeRecord]:
        check_name(collection)
        resume = decode_token(after)
        records: list[ChangeRecord] = []
        with reading_changes(collection):
            async with await self.raw[collection].watch(
                resume_after=resume, full_document="whenAvailable",
                full_document_before_change="whenAvailable",
                max_await_time_ms=CHANGES_AWAIT_MS,
            ) as stream:
                while len(records) < limit:
                    event = await stream.try_next()
                    if event is None:
                        break
                    record = change_record(collection, event)
                    if record is not None:
                        records.append(record)
        return records

    async def head(self, collection: str) -> str:
        check_name(collection)
        with reading_changes(collection):
            async with await self.raw[collection].watch(max_await_time_ms=1) as stream:
                await stream.try_next()  # the server answers its resume point
                token = stream.resume_token
        if token is None:
            raise StoreUnavailable("MongoDB gave no change stream position")
        return encode_token(token)

    async def prune_changes(self, before: str) -> int:
        """Nothing to do: the oplog is MongoDB's, bounded by its own window."""
        return 0


async def watch(collection: MongoCollection, after: str | None) -> AsyncIterator[Change]:
    """``Collection.watch``: the collection's change stream, forever."""
    resume = None
    if after is not None:
        try:
            resume = json_util.loads(base64.urlsafe_b64decode(after.encode()))
        except (ValueError, TypeError):
            raise InvalidQuery("invalid change token") from None
    await collection.db.record_changes(collection.name)
    with reading_changes(collection.name):
        async with await collection.raw.watch(
            full_document="updateLookup", resume_after=resume
        ) as stream:
            async for event in stream:
                kind = event.get("operationType")
                op = CHANGE_OPS.get(kind or "")
                if op is None:
                    continue
                token = encode_token(event["_id"])
                doc_id = str(event.get("documentKey", {}).get("_id"))
                document = from_mongo(event.get("fullDocument")) if op != "delete" else None
                if document is not None:
                    document["id"] = doc_id
                yield Change(op=op, id=doc_id, document=document, token=token)
