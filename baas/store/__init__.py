"""The document store: one interface, two engines (SQLite embedded, MongoDB)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from baas.store.base import (
    BatchFailed,
    BatchOp,
    Change,
    ChangeRecord,
    ChangesExpired,
    Collection,
    Database,
    Delete,
    Document,
    DuplicateKeyError,
    Engine,
    IndexSpec,
    Insert,
    InvalidCursor,
    InvalidDocument,
    InvalidQuery,
    Page,
    QueryTimeout,
    StoreError,
    StoreUnavailable,
    Update,
    WriteConflict,
    Written,
)
from baas.store.filters import (
    And,
    Cmp,
    Const,
    Contains,
    Filter,
    FilterError,
    Has,
    In,
    Not,
    Or,
    all_of,
    eq,
    matches,
    sort_documents,
)

if TYPE_CHECKING:
    from baas.settings import Settings


def create_engine(settings: Settings) -> Engine:
    """The engine the settings ask for; the only place that names an engine."""
    if settings.mongodb_url:
        from baas.store.mongo import MongoEngine

        return MongoEngine(
            settings.mongodb_url,
            prefix=settings.mongodb_db_prefix,
            write_concern=settings.mongodb_write_concern,
        )
    from baas.store.sqlite import SQLiteEngine

    return SQLiteEngine(settings.data_dir, readers=settings.sqlite_readers)


__all__ = [
    "And", "BatchFailed", "BatchOp", "Change", "ChangeRecord", "ChangesExpired", "Cmp",
    "Collection", "Const", "Contains", "Database", "Delete", "Document", "DuplicateKeyError",
    "Engine", "Filter", "FilterError", "Has", "In", "IndexSpec", "Insert", "InvalidCursor",
    "InvalidDocument", "InvalidQuery", "Not", "Or", "Page", "QueryTimeout", "StoreError",
    "StoreUnavailable", "Update", "WriteConflict", "Written", "all_of", "create_engine", "eq",
    "matches", "sort_documents",
]
