"""Batches: up to 100 creates, updates, replaces and deletes, all or nothing.

Every operation is checked first (limits, schema, rules, If-Match) against the
documents as they are now, then all of them go to the store as one batch whose
updates and deletes are conditional on the versions read: an SQLite transaction,
a MongoDB transaction. If any operation fails, at check time or in the store,
nothing of the batch is kept and the error names the operation (``details.index``).
The deletes' ``on_delete`` cascade (``references``) is planned for all of them at
once and joins the same commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from baas.core.data.documents import (
    Documents,
    duplicate,
    view,
)
from baas.core.errors import ApiError, BadRequest, Conflict
from baas.store import (
    BatchFailed,
    BatchOp,
    Delete,
    Document,
    DuplicateKeyError,
    Insert,
    Update,
)

MAX_OPERATIONS = 100
KINDS = ("create", "update", "replace", "delete")


def _at(index: int, exc: ApiError) -> ApiError:
    exc.details = {**exc.details, "index": index}
    exc.message = f"operation {index}: {exc.message}"
    return exc


def _operation(index: int, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BadRequest("each operation is an object with an op", code="invalid_batch")
    op = raw.get("op")
    if op not in KINDS:
        raise BadRequest("op must be create, update, replace or delete", code="invalid_batch")
    allowed = {"op", "data"} if op == "create" else (
        {"op", "id", "if_match"} if op == "delete" else {"op", "id", "data", "if_match"})
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise BadRequest(f"unknown field {unknown[0][:40]!r} in a {op} operation",
                         code="invalid_batch")
    if op != "create" and (not isinstance(raw.get("id"), str) or not raw["id"]):
        raise BadRequest(f"a {op} operation needs the document id", code="invalid_batch")
    if op != "delete" and not isinstance(raw.get("data"), dict):
        raise BadRequest(f"a {op} operation needs data, a JSON object", code="invalid_batch")
    if_match = raw.get("if_match")
    if if_match is not None and (not isinstance(if_match, int) or isinstance(if_match, bool)):
        raise BadRequest("if_match is a document version (an integer)", code="invalid_batch")
    return raw


async def run_batch(documents: Documents, project: str, name: str, access: Any,
                    operations: Any, *, complete: Callable[[Any], BatchOp] | None = None
                    ) -> dict[str, Any]:
    """``complete`` builds, from the answer, one more operation of the same commit (an
    Idempotency-Key's completion)."""
    if not isinstance(operations, list) or not 1 <= len(operations) <= MAX_OPERATIONS:
        raise BadRequest(f"operations must be a list of 1 to {MAX_OPERATIONS} operations",
                         code="invalid_batch")
    definition, collection, access = await documents.open(project, name, access)
    await documents.defs.ensure_ready(project, definition)
    store_name = definition.store_name
    planned: list[BatchOp] = []
    before: list[Document | None] = []
    kinds: list[tuple[str, str]] = []
    seen: set[str] = set()
    deleted: list[Document] = []
    for index, raw in enumerate(operations):
        try:
            op = _operation(index, raw)
            if op["op"] == "create":
                document = documents.prepare_create(definition, access, op["data"])
                await documents.references.check(project, definition, access, document)
                planned.append(Insert(store_name, document))
                before.append(None)
                kinds.append(("create", document["id"]))
                continue
            doc_id = op["id"]
            if doc_id in seen:
                raise BadRequest("a document may appear only once in a batch",
                                 code="invalid_batch")
            seen.add(doc_id)
            stored = await documents.readable(definition, collection, access, doc_id,
                                              op.get("if_match"))
            if op["op"] == "delete":
                documents.check_delete(definition, access, stored)
                deleted.append(stored)
                planned.append(Delete(store_name, doc_id, expected_version=stored["version"]))
            else:
                changes, removed = documents.prepare_update(
                    definition, access, stored, op["data"], replace=op["op"] == "replace")
                await documents.references.check(project, definition, access, changes, stored)
                planned.append(Update(store_name, doc_id, changes, tuple(removed),
                                      expected_version=stored["version"],
                                      replace=op["op"] == "replace"))
            before.append(stored)
            kinds.append((op["op"], doc_id))
        except ApiError as exc:
            raise _at(index, exc) from None
    if deleted:
        plan = await documents.references.plan_delete(project, definition, access, deleted)
        for extra in plan.ops:
            if extra.collection == store_name and extra.id in seen:
                raise BadRequest(f"document {extra.id!r} is in this batch and would also be "
                                 "deleted or changed by on_delete of its deletes; leave it "
                                 "out", code="invalid_batch")
        for index, written in enumerate(planned):
            body = written.document if isinstance(written, Insert) else (
                written.set if isinstance(written, Update) else {})
            try:
                documents.references.check_not_deleted(definition, body, plan.deleted)
            except ApiError as exc:
                raise _at(index, exc) from None
        planned += plan.ops
        before += plan.before

    def answer(results: list[Document | None]) -> dict[str, Any]:
        return {"results": [
            {"op": kind, "id": doc_id, "document": view(result) if result is not None else None}
            for (kind, doc_id), result in zip(kinds, results, strict=True)]}

    bind = None if complete is None else (
        lambda results: complete(answer(results[:len(kinds)])))
    try:
        results = await documents.writes.commit(project, planned, before=before, bind=bind)
    except BatchFailed as exc:
        if isinstance(exc.cause, DuplicateKeyError):
            raise _at(exc.index, duplicate(exc.cause)) from None
        raise _at(min(exc.index, len(kinds) - 1), Conflict(
            "the document changed while the batch ran; nothing was applied, read it "
            "again and retry", code="write_conflict")) from None
    return answer(results[:len(kinds)])
