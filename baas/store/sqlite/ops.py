"""Small SQLite helpers: document encoding, index DDL and index metadata."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import orjson

from baas.store.base import Document, DuplicateKeyError, IndexSpec, InvalidDocument
from baas.store.docs import check_integers
from baas.store.sqlite.sql import NULL_KEY, container_expr, key_expr


def dump(document: Document) -> str:
    try:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidDocument(f"document is not storable as JSON: {exc}") from None
    check_integers(document, text)
    return text


def load(raw: str) -> Document:
    """A stored document. orjson, not json: rows are decoded in the reader threads while
    holding the GIL, and pages of them were the largest cost of a list (see
    docs/performance.md). Stored text is always ``dump``'s output, which orjson reads
    identically (64-bit integers, no NaN, valid Unicode)."""
    value: Document = orjson.loads(raw)
    return value


def index_columns(index: IndexSpec) -> list[str]:
    """The indexed expressions: the key of each field (``sql.key_expr``), so filters,
    ORDER BY and keyset row values all use the index. A plain index ends with ``id``,
    the tie-breaker of every sort. A unique one adds instead the JSON text of arrays
    and objects (one key value, ``X'02'``, for all of them), so two different ones do
    not collide, and the id where a field is missing or null, so those never collide."""
    columns = [f"{key_expr(path)} {'ASC' if direction == 1 else 'DESC'}"
               for path, direction in index.fields]
    paths = [path for path, _ in index.fields if path != "id"]
    if not index.unique:
        return columns if len(paths) < len(index.fields) else [*columns, "id ASC"]
    columns += [container_expr(path) for path in paths]
    if paths:
        missing = " OR ".join(f"{key_expr(path)} = {NULL_KEY}" for path in paths)
        columns.append(f"CASE WHEN {missing} THEN id ELSE '' END")
    return columns


def create_index_sql(collection: str, index: IndexSpec, if_not_exists: bool = True) -> str:
    unique = "UNIQUE " if index.unique else ""
    name = sql_index_name(collection, index)
    guard = "IF NOT EXISTS " if if_not_exists else ""
    columns = ", ".join(index_columns(index))
    return f'CREATE {unique}INDEX {guard}"{name}" ON "c_{collection}" ({columns})'


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
