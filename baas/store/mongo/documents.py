"""Documents in MongoDB's shape: ``id`` kept in ``_id``, updates as operators."""

from __future__ import annotations

from collections.abc import Sequence

from baas.store.base import Document


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
