"""Typed views of collection definitions (``P/collections``) and of rule checks
(``P/rules:check``), the admin side of collections.

A collection's ``schema`` is exposed as ``schema_`` in Python (``schema`` is a method of
pydantic's ``BaseModel``); it is read from and dumped as ``"schema"``.
"""

from __future__ import annotations

import enum
from typing import Any, Final, Literal

from pydantic import ConfigDict, Field

from ._models import Model

Operation = Literal["list", "get", "create", "update", "delete"]
OPERATIONS: Final[tuple[Operation, ...]] = ("list", "get", "create", "update", "delete")


class _Unset(enum.Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""Marks an argument that was not given (where ``None`` has a meaning of its own)."""


class CollectionRules(Model):
    """The five access rules. ``None``: closed (secret key or admin only); ``""``: public
    (anyone with the publishable key); an expression: allowed where it is true."""

    list: str | None = None
    get: str | None = None
    create: str | None = None
    update: str | None = None
    delete: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """``{operation: rule}`` for the five operations, in their usual order."""
        return {op: getattr(self, op) for op in OPERATIONS}


class IndexDef(Model):
    """An index: ``fields`` are paths, ``-`` in front for descending order. A TTL index
    has one field holding an RFC 3339 time; documents are deleted once it has passed."""

    name: str | None = None  # chosen by the server
    fields: list[str]
    unique: bool = False
    ttl: bool = False
    # As the server reports it: building, ready or failed (then ``error`` says why).
    status: str | None = None
    error: str | None = None

    def body(self) -> dict[str, Any]:
        """What a create or update sends (the server names indexes itself)."""
        return {"fields": list(self.fields), "unique": self.unique, "ttl": self.ttl}


class CollectionDef(Model):
    """A collection's definition: its schema (``None``: any fields), rules and indexes."""

    model_config = ConfigDict(
        extra="allow", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    name: str
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    rules: CollectionRules = Field(default_factory=CollectionRules)
    indexes: list[IndexDef] = Field(default_factory=list)
    created_at: str | None = None
    updated_at: str | None = None
    version: int | None = None


class RuleCheck(Model):
    """The answer of ``P/rules:check``: whether the caller may, and the rule that decided
    (``None``: the operation is closed, ``""``: it is public)."""

    allowed: bool
    operation: str
    rule: str | None = None
    reason: str = ""
