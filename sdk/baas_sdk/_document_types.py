"""What the documents API hands out and takes in, without any I/O.

- ``Document``: a stored document. It is a read-only ``Mapping`` of the *user* fields only,
  so ``dict(doc)`` (or ``doc`` itself) is valid input for ``create``/``replace``; the
  system fields ``id``, ``created_at``, ``updated_at`` and ``version`` are attributes, and
  ``to_dict()`` returns everything exactly as the server sent it.
- Model binding: ``model_decoder(Post)`` turns the server's JSON into a pydantic model
  (the user fields, plus the system fields the model declares).
- ``encode``: a mapping or a pydantic model as a request body.
- ``DocumentPage``, ``BatchOp`` (built with ``ops``) and ``BatchResult``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

import pydantic

from ._exceptions import BaasError, ResponseError

D = TypeVar("D")
M = TypeVar("M", bound=pydantic.BaseModel)

SYSTEM_FIELDS = ("id", "created_at", "updated_at", "version")
# Where the server puts the documents a read asked for with ``expand=``; no user field
# name starts with ``_``, so it never hides one.
EXPAND_KEY = "_expand"

# Write input: a plain mapping of user fields, a ``Document``, or a pydantic model.
Data = Mapping[str, Any] | pydantic.BaseModel
# An ``If-Match`` precondition: a version, or anything carrying one (a ``Document``, a
# model that declares ``version``).
Versioned = int | Mapping[str, Any] | pydantic.BaseModel
# Turns one document's JSON into what a collection hands out.
Decode = Callable[[dict[str, Any]], D]
BatchKind = Literal["create", "update", "replace", "delete"]


def _timestamp(name: str, value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise ResponseError(f"document field {name!r} is not an RFC 3339 time: {value!r}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class Document(Mapping[str, Any]):
    """A stored document: ``doc["title"]``, ``doc.get("x")``, ``dict(doc)`` see the user
    fields; ``doc.id``, ``doc.created_at``/``doc.updated_at`` (aware ``datetime``) and
    ``doc.version`` are the system fields; ``doc.to_dict()`` is the whole JSON object.

    A document listed with ``fields=`` may lack ``created_at``, ``updated_at`` or
    ``version``: reading the missing attribute then raises ``AttributeError``.
    A document read with ``expand=`` has what it references in ``doc.expanded`` (not
    among its fields, so it can still be written back as it is).
    Documents compare equal to documents with the same JSON, and to plain mappings with
    the same user fields.
    """

    __slots__ = ("_raw", "_fields", "_created_at", "_updated_at", "_expanded")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
            raise ResponseError(f"expected a document with a string id, got {raw!r:.200}")
        version = raw.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise ResponseError(f"document version is not an integer: {version!r}")
        self._raw: dict[str, Any] = dict(raw)
        self._fields = {k: v for k, v in self._raw.items()
                        if k not in SYSTEM_FIELDS and k != EXPAND_KEY}
        self._expanded = _expanded(self._raw.get(EXPAND_KEY))
        self._created_at = _timestamp("created_at", raw.get("created_at"))
        self._updated_at = _timestamp("updated_at", raw.get("updated_at"))

    # -- system fields ------------------------------------------------------------------

    @property
    def id(self) -> str:
        return str(self._raw["id"])

    @property
    def created_at(self) -> datetime:
        return self._present("created_at", self._created_at)

    @property
    def updated_at(self) -> datetime:
        return self._present("updated_at", self._updated_at)

    @property
    def version(self) -> int:
        value: int | None = self._raw.get("version")
        return self._present("version", value)

    @property
    def expanded(self) -> Mapping[str, Document | list[Document]]:
        """What ``expand=`` brought, by reference field: a ``Document`` for a reference, a
        list of them for a list of references. A reference that is missing, or that the
        caller may not read, is absent (or left out of its list)."""
        return self._expanded

    def _present(self, name: str, value: D | None) -> D:
        if value is None:
            raise AttributeError(
                f"this document has no {name!r} (it was listed with fields= leaving it out)"
            )
        return value

    # -- the mapping of user fields ---------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the document as the server sent it, system fields included
        (timestamps as RFC 3339 strings)."""
        return copy.deepcopy(self._raw)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Document):
            return self._raw == other._raw
        if isinstance(other, Mapping):
            return self._fields == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable nested values: unhashable

    def __repr__(self) -> str:
        version = self._raw.get("version")
        return f"Document(id={self.id!r}, version={version!r}, fields={self._fields!r})"


def _expanded(raw: Any) -> dict[str, Document | list[Document]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ResponseError(f"{EXPAND_KEY} is not an object: {raw!r:.200}")
    return {name: [Document(item) for item in value] if isinstance(value, list)
            else Document(value) for name, value in raw.items()}


def _declared_names(model: type[pydantic.BaseModel]) -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(name)
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                names.add(alias)
    return names


def model_decoder(model: type[M]) -> Decode[M]:
    """Validate a document's JSON as ``model``: its user fields, plus those of ``id``,
    ``created_at``, ``updated_at`` and ``version`` the model declares (by name or alias),
    and the expanded documents when it declares a field with ``alias="_expand"``.
    A document that does not fit the model raises ``ResponseError`` (the pydantic error
    is its ``__cause__``)."""
    system = [name for name in (*SYSTEM_FIELDS, EXPAND_KEY) if name in _declared_names(model)]

    def decode(raw: dict[str, Any]) -> M:
        doc = Document(raw)
        values = dict(doc)
        values.update((name, raw[name]) for name in system if name in raw)
        try:
            return model.model_validate(values)
        except pydantic.ValidationError as exc:
            raise ResponseError(
                f"document {doc.id!r} does not fit {model.__name__}: {exc}"
            ) from exc

    return decode


def encode(data: Data, *, patch: bool = False) -> dict[str, Any]:
    """A request body from write input. A pydantic model is dumped with
    ``model_dump(mode="json", by_alias=True)`` (every field, defaults included, so a
    replace stores the whole model; ``exclude_unset=True`` for a merge patch, so only the
    fields that were set change), and its system fields are left out. A ``Document``
    gives its user fields. Other mappings are sent as they are."""
    if isinstance(data, pydantic.BaseModel):
        body = data.model_dump(mode="json", by_alias=True, exclude_unset=patch)
        for name in SYSTEM_FIELDS:
            body.pop(name, None)
        return body
    if isinstance(data, Document):
        return copy.deepcopy(dict(data))
    if isinstance(data, Mapping):
        return dict(data)
    raise BaasError(f"expected a mapping or a pydantic model, not {type(data).__name__}")


def version_of(value: Versioned) -> int:
    """The version an ``if_match=`` names: an int, or the ``version`` of a document, a
    mapping or a model."""
    if isinstance(value, Mapping) and not isinstance(value, Document):
        version = value.get("version")
    else:
        version = getattr(value, "version", value)
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    raise BaasError(f"if_match needs a version (an int or a document), not {value!r:.100}")


def if_match_header(value: Versioned | None) -> dict[str, str]:
    return {} if value is None else {"If-Match": f'"{version_of(value)}"'}


@dataclass(frozen=True)
class DocumentPage(Generic[D]):
    """One page of a listing. ``next_cursor`` is None on the last page; ``total`` is the
    number of matching documents when the listing asked for ``count=True``."""

    items: list[D]
    next_cursor: str | None = None
    total: int | None = None

    def __iter__(self) -> Iterator[D]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class BatchOp:
    """One operation of ``Collection.batch``; build it with ``ops``."""

    op: BatchKind
    id: str | None = None
    data: dict[str, Any] | None = None
    if_match: int | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"op": self.op}
        if self.id is not None:
            body["id"] = self.id
        if self.data is not None:
            body["data"] = self.data
        if self.if_match is not None:
            body["if_match"] = self.if_match
        return body


def _optional_version(value: Versioned | None) -> int | None:
    return None if value is None else version_of(value)


class Ops:
    """Builders of batch operations: ``col.batch([ops.create({...}), ops.update(id,
    {...}, if_match=3), ops.replace(id, {...}), ops.delete(id)])``."""

    @staticmethod
    def create(data: Data) -> BatchOp:
        return BatchOp("create", data=encode(data))

    @staticmethod
    def update(id: str, patch: Data, *, if_match: Versioned | None = None) -> BatchOp:
        return BatchOp("update", id, encode(patch, patch=True), _optional_version(if_match))

    @staticmethod
    def replace(id: str, data: Data, *, if_match: Versioned | None = None) -> BatchOp:
        return BatchOp("replace", id, encode(data), _optional_version(if_match))

    @staticmethod
    def delete(id: str, *, if_match: Versioned | None = None) -> BatchOp:
        return BatchOp("delete", id, None, _optional_version(if_match))


ops = Ops()


def batch_operation(operation: BatchOp | Mapping[str, Any]) -> dict[str, Any]:
    """One operation's JSON: a ``BatchOp``, or a plain dict in the wire format
    (``{"op": "update", "id": ..., "data": {...}, "if_match"?: 3}``) whose ``data`` may be a
    model and whose ``if_match`` may be a document."""
    if isinstance(operation, BatchOp):
        return operation.to_json()
    if not isinstance(operation, Mapping):
        raise BaasError(f"a batch operation is a BatchOp or a dict, not {operation!r:.100}")
    body = dict(operation)
    if body.get("data") is not None:
        body["data"] = encode(body["data"], patch=body.get("op") == "update")
    if body.get("if_match") is not None:
        body["if_match"] = version_of(body["if_match"])
    return body


@dataclass(frozen=True)
class BatchResult(Generic[D]):
    """The outcome of one batch operation: ``document`` is None for a delete."""

    op: BatchKind
    id: str
    document: D | None
