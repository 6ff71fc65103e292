"""Models of the collection and document routes, for the OpenAPI document.

Documents are free-form JSON objects checked by ``baas.core.data.limits`` and the
collection's schema, so their bodies are read as plain JSON (``http.parse_json``);
these models describe them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from baas.api.schemas.common import Strict

RULE = Field(None, description='null: secret key or admin only; "": anyone with the '
                               "publishable key; an expression: allowed where true")


class Rules(Strict):
    list: str | None = RULE
    get: str | None = RULE
    create: str | None = RULE
    update: str | None = RULE
    delete: str | None = RULE


class IndexIn(Strict):
    fields: list[str] = Field(description='fields in order, "-" for descending, e.g. '
                                          '["owner", "-created_at"]')
    unique: bool = False
    ttl: bool = Field(False, description="one field holding an RFC 3339 time; documents are "
                                         "deleted once it has passed")


class Index(IndexIn):
    name: str
    status: Literal["building", "ready", "failed"]
    error: str | None = None


class CollectionCreate(Strict):
    name: str = Field(description="letters, digits and _, starting with a letter; 60 at most")
    schema_: dict[str, Any] | None = Field(None, alias="schema",
                                           description="optional typed field list")
    rules: Rules | None = None
    indexes: list[IndexIn] | None = None


class CollectionUpdate(Strict):
    schema_: dict[str, Any] | None = Field(None, alias="schema", description="replaces; null "
                                                                             "removes")
    rules: Rules | None = Field(None, description="merged per operation; null closes one")
    indexes: list[IndexIn] | None = Field(None, description="the full declared list")


class Collection(BaseModel):
    name: str
    schema_: dict[str, Any] | None = Field(alias="schema")
    rules: Rules
    indexes: list[Index]
    created_at: str
    updated_at: str
    version: int


class CollectionList(BaseModel):
    items: list[Collection]
    next_cursor: str | None


class Document(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    created_at: str
    updated_at: str
    version: int


class DocumentList(BaseModel):
    items: list[Document]
    next_cursor: str | None
    total: int | None = Field(None, description="only with count=true")


class BatchOperation(Strict):
    op: Literal["create", "update", "replace", "delete"]
    id: str | None = Field(None, description="the document (update, replace, delete)")
    data: dict[str, Any] | None = Field(None, description="fields (create, replace) or a "
                                                          "merge patch (update)")
    if_match: int | None = Field(None, description="the version the document must be at")


class Batch(Strict):
    operations: list[BatchOperation] = Field(description="1 to 100 operations, all or nothing")


class BatchResult(BaseModel):
    op: str
    id: str
    document: Document | None


class BatchResults(BaseModel):
    results: list[BatchResult]


class RuleCheck(Strict):
    collection: str
    operation: Literal["list", "get", "create", "update", "delete"]
    auth: dict[str, Any] | None = Field(None, description='the caller: {"id", "email", '
                                                          '"role"}, or null for no user')
    id: str | None = Field(None, description="a stored document to check against")
    document: dict[str, Any] | None = Field(None, description="or the stored fields inline")
    data: dict[str, Any] | None = Field(None, description="the incoming document "
                                                          "(create, update)")


class RuleDecision(BaseModel):
    allowed: bool
    operation: str
    rule: str | None
    reason: str
