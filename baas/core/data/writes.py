"""The unit of work every document write goes through.

Creates, updates, replaces, deletes and batches of documents are written here, with
their change records, in one store commit: an SQLite transaction that also inserts
the change rows, a MongoDB write (a transaction for more than one operation) whose
change MongoDB keeps in its oplog. TTL expiry and dropping a collection are recorded
by the store itself for every collection written here (``Database.record_changes``),
so no path around this one writes a document without its change.

An ``Idempotency-Key`` is bound to the same commit (``bind``): the key's completion
is one more operation of the unit of work, so "the document is written" and "the key
is done" are one fact, and a crash can leave neither half.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from baas.core.hooks import Hooks
from baas.store import (
    BatchFailed,
    BatchOp,
    ChangeRecord,
    Database,
    Delete,
    Document,
    Insert,
    Update,
    WriteConflict,
)
from baas.store.docs import apply_update, prepare_insert

# Builds one more operation from the results the write will have (its completion).
Bind = Callable[[list[Document | None]], BatchOp]


@dataclass(frozen=True)
class Committed:
    """What ``hooks.change_committed`` receives: one unit of work's change records."""

    project: str
    changes: list[ChangeRecord]


class BindingLost(Exception):
    """The bound operation failed (an Idempotency-Key taken over by a retry whose lease
    began when ours lapsed); nothing of the write was kept."""


def predicted(ops: Sequence[BatchOp], before: Sequence[Document | None]
              ) -> list[Document | None]:
    """The results the store will answer for ``ops`` (updates conditional on the
    version of ``before``, so nothing else can happen in between)."""
    results: list[Document | None] = []
    for op, current in zip(ops, before, strict=True):
        if isinstance(op, Insert):
            results.append(prepare_insert(op.document))
        elif isinstance(op, Update):
            assert current is not None, "an update's result needs the document it updates"
            results.append(apply_update(current, op.set, op.unset))
        else:
            results.append(None)
    return results


class Writes:
    def __init__(self, database: Callable[[str], Database], hooks: Hooks) -> None:
        self._database = database
        self.hooks = hooks

    async def commit(self, project: str, ops: Sequence[BatchOp], *,
                     before: Sequence[Document | None] | None = None,
                     bind: Bind | None = None) -> list[Document | None]:
        """Write ``ops`` and their change records, all or nothing (BatchFailed); then
        fire ``change_committed``. ``before`` (the documents as read, one per op) is
        needed with ``bind``, whose operation joins the same commit."""
        planned = list(ops)
        if bind is not None:
            planned.append(bind(predicted(ops, before or [None] * len(ops))))
        record = sorted({op.collection for op in ops})
        try:
            written = await self._database(project).commit(planned, record=record)
        except BatchFailed as exc:
            if bind is not None and exc.index == len(ops):
                raise BindingLost(str(exc)) from exc
            raise
        if written.changes:
            await self.hooks.change_committed.fire(Committed(project, written.changes))
        return written.results[:len(ops)]

    async def _single(self, project: str, op: BatchOp, before: Document | None = None, *,
                      bind: Bind | None = None) -> Document | None:
        """``commit`` of one operation, failing with that operation's own store error
        (DuplicateKeyError, WriteConflict, ...) rather than BatchFailed."""
        try:
            [result] = await self.commit(project, [op], before=[before], bind=bind)
        except BatchFailed as exc:
            raise exc.cause or exc from None
        return result

    async def insert(self, project: str, collection: str, document: Document, *,
                     bind: Bind | None = None) -> Document:
        """Raises DuplicateKeyError as the store does."""
        stored = await self._single(project, Insert(collection, document), bind=bind)
        assert stored is not None
        return stored

    async def update(self, project: str, collection: str, before: Document, set: Document,
                     unset: Sequence[str] = (), *, replace: bool = False
                     ) -> Document | None:
        """Update ``before`` if it is still at its version; None when it is not."""
        op = Update(collection, before["id"], set, tuple(unset),
                    expected_version=before["version"], replace=replace)
        try:
            return await self._single(project, op, before)
        except WriteConflict:
            return None

    async def delete(self, project: str, collection: str, before: Document) -> bool:
        """Delete ``before`` if it is still at its version; False when it is not."""
        try:
            await self._single(project, Delete(collection, before["id"],
                                               expected_version=before["version"]), before)
        except WriteConflict:
            return False
        return True
