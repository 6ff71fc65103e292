"""Small SQLite helpers: document encoding, index DDL and index metadata."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from baas.store.base import Document, DuplicateKeyError, IndexSpec, InvalidDocument
from baas.store.sqlite.sql import field_expr


def dump(document: Document) -> str:
    try:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidDocument(f"document is not storable as JSON: {exc}") from None


def load(raw: str) -> Document:
    value: Document = json.loads(raw)
    return value


def create_index_sql(collection: str, index: IndexSpec) -> str:
    columns = ", ".join(
        f"{field_expr(path)} {'ASC' if direction == 1 else 'DESC'}"
        for path, direction in index.fields
    )
    unique = "UNIQUE " if index.unique else ""
    name = sql_index_name(collection, index)
    return f'CREATE {unique}INDEX IF NOT EXISTS "{name}" ON "c_{collection}" ({columns})'


def index_to_json(index: IndexSpec) -> str:
    return json.dumps({"fields": index.fields, "unique": index.unique, "ttl": index.ttl})


def index_from_json(raw: str) -> IndexSpec:
    data: dict[str, Any] = json.loads(raw)
    fields = tuple((str(p), int(d)) for p, d in data["fields"])
    return IndexSpec(fields=fields, unique=bool(data["unique"]), ttl=bool(data["ttl"]))


def sql_index_name(collection: str, index: IndexSpec) -> str:
    return f"{collection}__{index.name}"


def duplicate_from(
    exc: sqlite3.IntegrityError, collection: str, index_fields: dict[str, tuple[str, ...]]
) -> DuplicateKeyError:
    """Name the fields of the unique index an IntegrityError complains about."""
    message = str(exc)
    if message.endswith(".id"):
        return DuplicateKeyError(collection, ["id"])
    name = message.rsplit("index ", 1)[-1].strip("'\"")
    return DuplicateKeyError(collection, index_fields.get(name, ("unknown",)))
