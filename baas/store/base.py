"""The document-store interface every engine implements.

Documents are JSON objects with a string ``id`` and an integer ``version`` that the
store bumps on every write. Everything the platform keeps goes through here, so
nothing above ``store`` knows which engine is running.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from baas.store.filters import Filter

Document = dict[str, Any]
SortSpec = Sequence[tuple[str, int]]  # (dotted path, 1 ascending | -1 descending)

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
DATABASE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,47}$")
PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}(\.[A-Za-z_][A-Za-z0-9_]{0,127}){0,31}$")


class StoreError(Exception):
    """Base of every error the store raises."""


class DuplicateKeyError(StoreError):
    """A unique index (or the id) already holds the value."""

    def __init__(self, collection: str, fields: Sequence[str] = ("id",)) -> None:
        super().__init__(f"duplicate value for {', '.join(fields)} in {collection}")
        self.collection = collection
        self.fields = tuple(fields)


class StoreUnavailable(StoreError):
    """The engine cannot be reached or refused the operation for a transient reason."""


class InvalidDocument(StoreError):
    """A document the store cannot keep (not JSON, NaN, no id, too deep)."""


class InvalidQuery(StoreError):
    """A filter, sort or cursor the engine cannot run as asked."""


class InvalidCursor(InvalidQuery):
    """A paging cursor that is not the ``next_cursor`` of a page of this query."""


class ChangesExpired(StoreError):
    """A change position older than what the engine still keeps (the retention window,
    or MongoDB's oplog window): the reader must start again from the current state."""


class WriteConflict(StoreError):
    """A conditional write found its document missing or at another version."""


class QueryTimeout(StoreError):
    """A read ran longer than its ``max_time_ms`` and was stopped."""


class BatchFailed(StoreError):
    """One operation of an all-or-nothing batch failed; nothing of the batch was kept."""

    def __init__(self, index: int, reason: str, cause: Exception | None = None) -> None:
        super().__init__(f"operation {index} failed: {reason}")
        self.index = index
        self.reason = reason
        self.cause = cause


@dataclass(frozen=True)
class IndexSpec:
    """A declared index: fields in order with directions, optionally unique or TTL.

    A TTL index has one field holding an RFC 3339 UTC timestamp; records whose
    value is in the past are removed by the periodic sweep.
    """

    fields: tuple[tuple[str, int], ...]
    unique: bool = False
    ttl: bool = False

    def __post_init__(self) -> None:
        if not self.fields:
            raise InvalidQuery("an index needs at least one field")
        for path, direction in self.fields:
            check_path(path)
            if direction not in (1, -1):
                raise InvalidQuery("index direction must be 1 or -1")
        if self.ttl and len(self.fields) != 1:
            raise InvalidQuery("a TTL index has exactly one field")

    @property
    def name(self) -> str:
        parts = "_".join(f"{p.replace('.', '__')}_{'a' if d == 1 else 'd'}" for p, d in self.fields)
        prefix = "ttl" if self.ttl else ("uniq" if self.unique else "ix")
        return f"{prefix}_{parts}"[:120]


@dataclass
class Page:
    items: list[Document]
    next_cursor: str | None = None


@dataclass(frozen=True)
class Change:
    """One write seen by a change feed: its kind, the document id and the document."""

    op: Literal["insert", "update", "delete"]
    id: str
    document: Document | None
    token: str


ChangeOp = Literal["create", "update", "replace", "delete"]


@dataclass(frozen=True)
class ChangeRecord:
    """One committed document write, as a change feed reader sees it.

    ``before`` and ``after`` are the whole document before and after the write (None
    for a create's before and a delete's after). ``position`` is opaque: changes of a
    collection are ordered by it, and ``Database.changes(after=position)`` resumes
    right after it, on any process or node, until the retention window drops it.
    """

    collection: str
    id: str
    op: ChangeOp
    before: Document | None
    after: Document | None
    position: str


@dataclass
class Written:
    """What a unit of work committed: one result per operation, and the change records
    the engine wrote with them (empty where the engine keeps them in its own log and
    readers get them from ``Database.changes``, i.e. MongoDB)."""

    results: list[Document | None]
    changes: list[ChangeRecord]


@dataclass(frozen=True)
class Insert:
    collection: str
    document: Document


@dataclass(frozen=True)
class Update:
    collection: str
    id: str
    set: Document
    unset: tuple[str, ...] = ()
    expected_version: int | None = None
    replace: bool = False  # recorded as a "replace" change (the whole document was given)


@dataclass(frozen=True)
class Delete:
    collection: str
    id: str
    expected_version: int | None = None


BatchOp = Insert | Update | Delete


def check_name(name: str, what: str = "collection") -> str:
    if not NAME_RE.match(name):
        raise InvalidQuery(f"invalid {what} name {name!r}")
    return name


def check_path(path: str) -> str:
    if path == "id" or PATH_RE.match(path):
        return path
    raise InvalidQuery(f"invalid field path {path!r}")


class Collection(Protocol):
    name: str

    async def insert(self, document: Document) -> Document:
        """Store a new document (``id`` required, ``version`` set to 1)."""

    async def get(self, id: str) -> Document | None: ...

    async def find(
        self,
        filter: Filter | None = None,
        *,
        sort: SortSpec = (),
        limit: int | None = None,
        cursor: str | None = None,
        offset: int = 0,
        fields: Sequence[str] | None = None,
        max_time_ms: int | None = None,
    ) -> Page:
        """Matching documents in ``sort`` order (``id`` breaks ties), one page.

        The order is the language's: missing and null first ascending, then numbers,
        strings, booleans, then arrays and objects (tied). An engine that cannot
        give that order for the data at hand raises InvalidQuery rather than answer
        in another order. ``cursor`` is the opaque ``next_cursor`` of the previous
        page (keyset paging). A query running longer than ``max_time_ms`` raises
        QueryTimeout.
        """

    async def find_one(self, filter: Filter) -> Document | None: ...

    async def count(self, filter: Filter | None = None, *,
                    max_time_ms: int | None = None) -> int: ...

    async def update(
        self,
        id: str,
        set: Document | None = None,
        *,
        unset: Sequence[str] = (),
        expected_version: int | None = None,
    ) -> Document | None:
        """Apply ``set``/``unset`` and bump ``version``; None if missing or stale."""

    async def find_one_and_update(
        self, filter: Filter, set: Document | None = None, *, unset: Sequence[str] = ()
    ) -> Document | None:
        """Atomically update the first match and return it after the update."""

    async def delete(self, id: str, *, expected_version: int | None = None) -> bool: ...

    async def increment(self, counts: Mapping[str, int], field: str, *,
                        set: Document | None = None) -> dict[str, int]:
        """Atomically add ``counts[id]`` to the integer ``field`` of each document ``id``,
        creating a missing one as ``{"id": id, field: count}``; ``set`` is written to each
        too (e.g. an expiry). Returns every ``field`` after the additions, which may
        include other writers' additions made meanwhile (never fewer than our own)."""

    async def delete_many(self, filter: Filter | None = None) -> int: ...

    async def ensure_index(self, index: IndexSpec) -> None: ...

    async def drop_index(self, name: str) -> bool:
        """Drop the declared index called ``name`` (``IndexSpec.name``); False if none."""

    async def indexes(self) -> list[IndexSpec]: ...

    def watch(self, after: str | None = None) -> AsyncIterator[Change]:
        """Changes after the token ``after`` (or from now), in order, forever."""


class Database(Protocol):
    name: str

    def collection(self, name: str) -> Collection: ...

    async def collections(self) -> list[str]: ...

    async def drop_collection(self, name: str) -> None: ...

    async def batch(self, ops: Sequence[BatchOp]) -> list[Document | None]:
        """Run every operation or none: a failure raises BatchFailed and keeps nothing."""

    async def commit(self, ops: Sequence[BatchOp], record: Sequence[str] = ()) -> Written:
        """``batch``, also answering the change records committed with it. The
        collections in ``record`` record changes from this write on (``record_changes``,
        in the same transaction where the engine can). A conditional update or delete
        that finds another version fails with cause WriteConflict."""

    async def sweep_expired(self, now: str) -> int:
        """Delete records whose TTL field is before ``now``; returns how many (recorded
        as deletes in collections that record changes)."""

    async def record_changes(self, collection: str) -> None:
        """From now on, every write to ``collection`` (by any path: writes, TTL expiry,
        dropping it) is recorded with its before- and after-image. Idempotent, kept in
        the database, so every process and node records it."""

    async def changes(self, collection: str, after: str, limit: int = 100
                      ) -> list[ChangeRecord]:
        """Up to ``limit`` changes of ``collection`` after ``after``, in order; raises
        ChangesExpired when changes after ``after`` are no longer kept, InvalidQuery for
        a position that is not one."""

    async def head(self, collection: str) -> str:
        """The current position: ``changes(after=head)`` answers what follows it."""

    async def prune_changes(self, before: str) -> int:
        """Forget change records committed before the RFC 3339 time ``before``;
        positions older than what is left then answer ChangesExpired."""


class Engine(Protocol):
    kind: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the engine answers."""

    def database(self, name: str) -> Database: ...

    async def drop_database(self, name: str) -> None: ...

    async def databases(self) -> list[str]: ...

    def describe(self) -> str:
        """Where the data lives, for start-up messages (no credentials)."""
