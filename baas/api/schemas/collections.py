"""Models of the collection and document routes, for the OpenAPI document.

Documents are free-form JSON objects checked by ``baas.core.data.limits`` and the
collection's schema, so their bodies are read as plain JSON (``http.parse_json``);
these models describe them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from baas.api.schemas.common import FIELD_NAME, MARK, Strict, optional_object, schema_only
from baas.core.data.batch import MAX_OPERATIONS
from baas.core.data.collections import MAX_INDEX_FIELDS, MAX_INDEXES, NAME_RE
from baas.core.data.limits import SYSTEM_FIELDS

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
                                          '["owner", "-created_at"]',
                              json_schema_extra=schema_only(minItems=1, maxItems=MAX_INDEX_FIELDS))
    unique: bool = False
    ttl: bool = Field(False, description="one field holding an RFC 3339 time; documents are "
                                         "deleted once it has passed")


class Index(IndexIn):
    name: str
    status: Literal["building", "ready", "failed"]
    error: str | None = None


class CollectionCreate(Strict):
    name: str = Field(description="letters, digits and _, starting with a letter; 60 at most",
                      json_schema_extra=schema_only(pattern=NAME_RE.pattern))
    schema_: dict[str, Any] | None = Field(None, alias="schema",
                                           description="optional typed field list")
    rules: Rules | None = None
    indexes: list[IndexIn] | None = Field(None, json_schema_extra=schema_only(maxItems=MAX_INDEXES))


class CollectionUpdate(Strict):
    schema_: dict[str, Any] | None = Field(None, alias="schema", description="replaces; null "
                                                                             "removes")
    rules: Rules | None = Field(None, description="merged per operation; null closes one")
    indexes: list[IndexIn] | None = Field(None, description="the full declared list",
                                          json_schema_extra=schema_only(maxItems=MAX_INDEXES))


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


def _fields_schema(schema: dict[str, Any]) -> None:
    schema.pop("properties", None)
    schema["propertyNames"] = {**FIELD_NAME, "not": {"enum": list(SYSTEM_FIELDS)}}
    schema["additionalProperties"] = {MARK: "JsonValue"}


class DocumentFields(BaseModel):
    """A document's own fields, as written: field names (system fields are the server's),
    values any JSON with field names as keys and 64-bit integers, at most 1 MiB and 32
    levels deep; the collection's schema, when it has one, says more."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_fields_schema)


class DocumentPatch(BaseModel):
    """A JSON merge patch of a document's fields: a null value removes a field."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_fields_schema)


class DocumentList(BaseModel):
    items: list[Document]
    next_cursor: str | None
    total: int | None = Field(None, description="only with count=true")


DOC_ID = Field(description="the document", json_schema_extra=schema_only(minLength=1))
IF_MATCH = Field(None, description="the version the document must be at")


class BatchCreate(Strict):
    op: Literal["create"]
    data: DocumentFields


class BatchUpdate(Strict):
    op: Literal["update", "replace"]
    id: str = DOC_ID
    data: DocumentFields = Field(description="the fields (replace) or a merge patch (update)")
    if_match: int | None = IF_MATCH


class BatchDelete(Strict):
    op: Literal["delete"]
    id: str = DOC_ID
    if_match: int | None = IF_MATCH


BatchOperation = Annotated[BatchCreate | BatchUpdate | BatchDelete, Field(discriminator="op")]


class Batch(Strict):
    operations: list[BatchOperation] = Field(
        description=f"1 to {MAX_OPERATIONS} operations, all or nothing; each document at "
                    "most once",
        json_schema_extra=schema_only(minItems=1, maxItems=MAX_OPERATIONS))


class BatchResult(BaseModel):
    op: str
    id: str
    document: Document | None


class BatchResults(BaseModel):
    results: list[BatchResult]


class RuleCheckAuth(BaseModel):
    """Describes ``RuleCheck.auth`` (the route checks it itself, answering 400)."""

    id: str
    email: str | None = None
    role: Literal["authenticated", "anonymous"] = "authenticated"


class RuleCheck(Strict):
    collection: str = Field(json_schema_extra=schema_only(pattern=NAME_RE.pattern))
    operation: Literal["list", "get", "create", "update", "delete"]
    auth: dict[str, Any] | None = Field(None, description='the caller: {"id", "email", '
                                                          '"role"}, or null for no user',
                                        json_schema_extra=optional_object("RuleCheckAuth"))
    id: str | None = Field(None, description="a stored document to check against")
    document: dict[str, Any] | None = Field(None, description="or the stored fields inline")
    data: dict[str, Any] | None = Field(None, description="the incoming document "
                                                          "(create, update)")


class RuleDecision(BaseModel):
    allowed: bool
    operation: str
    rule: str | None
    reason: str
