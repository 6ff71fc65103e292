"""PyMongo's exceptions translated into store errors: the one place that does it
(``changes.reading_changes`` adds the change-stream ones)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.errors import (
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
)
from pymongo.errors import (
    DuplicateKeyError as MongoDuplicateKey,
)

from baas.store.base import (
    DuplicateKeyError,
    InvalidCursor,
    InvalidQuery,
    QueryTimeout,
    StoreError,
    StoreUnavailable,
)
from baas.store.filters import CursorError, FilterError


@contextmanager
def translated(collection: str = "", unique: dict[str, tuple[str, ...]] | None = None
               ) -> Iterator[None]:
    """Translate PyMongo's exceptions into store errors (the one boundary)."""
    try:
        yield
    except MongoDuplicateKey as exc:
        raise DuplicateKeyError(collection, duplicate_fields(exc, unique or {})) from None
    except ConnectionFailure as exc:
        raise StoreUnavailable(f"MongoDB is unreachable: {type(exc).__name__}") from None
    except CursorError as exc:
        raise InvalidCursor(str(exc)) from None
    except FilterError as exc:
        raise InvalidQuery(str(exc)) from None
    except ExecutionTimeout:
        raise QueryTimeout("the query ran longer than its time limit") from None
    except OperationFailure as exc:
        raise StoreError(f"MongoDB refused the operation (code {exc.code})") from None
    except PyMongoError as exc:
        raise StoreUnavailable(f"MongoDB error: {type(exc).__name__}") from None


def duplicate_fields(exc: MongoDuplicateKey, unique: dict[str, tuple[str, ...]]) -> list[str]:
    details = exc.details or {}
    pattern = details.get("keyPattern")
    if pattern:
        return ["id" if k == "_id" else k for k in pattern]
    # Servers that omit keyPattern (the test stand-in) still name the index or _id.
    message = str(details.get("errmsg", exc))
    if "._id" in message or "_id_" in message:
        return ["id"]
    for name, fields in unique.items():
        if name in message or "_".join(fields) in message:
            return list(fields)
    if len(unique) == 1:
        return list(next(iter(unique.values())))
    return ["unknown"]
