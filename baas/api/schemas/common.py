"""Pydantic models that validate request bodies and describe responses in OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from baas.core.data.limits import FIELD_RE, INT_MAX, INT_MIN, MAX_ARRAY
from baas.core.tenancy.projects import PROJECT_ID_RE

REF = "#/components/schemas/"
# Models point at a component with {MARK: name}; docs.py makes it a $ref once pydantic is
# done (pydantic resolves every $ref it meets against its own definitions).
MARK = "x-baas-component"
# A user field name, as the server checks it (``limits.is_field_name``).
FIELD_NAME: dict[str, Any] = {"type": "string", "pattern": f"^{FIELD_RE.pattern}$"}
# Shared schemas the models refer to by $ref, added to the OpenAPI components as they are.
# JsonValue: any JSON value whose object keys are field names and whose integers fit in
# 64 bits (``limits.check_document``, ``users.check_data``).
COMPONENTS: dict[str, dict[str, Any]] = {
    "JsonValue": {"anyOf": [
        {"type": "string"}, {"type": "boolean"}, {"type": "null"},
        # Integers fit in 64 bits; other numbers are finite (JSON Schema cannot tell 1e300
        # the float from an integer, so integral numbers beyond 64 bits are left out).
        {"type": "integer", "minimum": INT_MIN, "maximum": INT_MAX},
        {"type": "number", "not": {"type": "integer"}},
        {"type": "array", "maxItems": MAX_ARRAY, "items": {"$ref": REF + "JsonValue"}},
        {"$ref": REF + "JsonObject"},
    ]},
    "JsonObject": {"type": "object", "propertyNames": FIELD_NAME,
                   "additionalProperties": {"$ref": REF + "JsonValue"}},
}


def schema_only(**keywords: Any) -> dict[str, Any]:
    """JSON Schema keywords for the OpenAPI document only: the server checks them itself,
    with its own error code (a 400 such as weak_password), not as a model's 422."""
    return keywords


def optional_object(component: str) -> Callable[[dict[str, Any]], None]:
    """For an optional ``dict`` field: a ``component`` object or null, in the document."""

    def narrow(schema: dict[str, Any]) -> None:
        schema["anyOf"] = [{MARK: component}, {"type": "null"}]

    return narrow


class Strict(BaseModel):
    # Unknown fields are refused and nothing is coerced: {"password": {"$ne": null}} is a 422.
    model_config = ConfigDict(extra="forbid", strict=True)


class AdminLogin(Strict):
    email: StrictStr = Field(max_length=320)
    password: StrictStr = Field(max_length=4096)


class ProjectCreate(Strict):
    id: StrictStr = Field(max_length=40, description="3-40 characters: a-z, 0-9 and '-'",
                          json_schema_extra=schema_only(pattern=PROJECT_ID_RE.pattern))
    name: StrictStr | None = Field(None, min_length=1, max_length=200)


class ProjectUpdate(Strict):
    name: StrictStr = Field(min_length=1, max_length=200)


class KeyCreate(Strict):
    kind: Literal["publishable", "secret"]
    name: StrictStr | None = Field(None, min_length=1, max_length=200)
    expires_at: StrictStr | None = Field(None, description="RFC 3339 timestamp in the future",
                                         json_schema_extra=schema_only(format="date-time"))


class Admin(BaseModel):
    id: str
    email: str
    created_at: str


class AdminToken(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_at: str
    admin: Admin


class Project(BaseModel):
    id: str
    name: str
    created_at: str
    updated_at: str


class ApiKey(BaseModel):
    id: str
    project: str
    kind: Literal["publishable", "secret"]
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it")
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    secret: str | None = Field(None, description="The key itself; returned only on creation")


class ProjectCreated(BaseModel):
    project: Project
    keys: list[ApiKey]


class ProjectList(BaseModel):
    items: list[Project]
    next_cursor: str | None


class KeyList(BaseModel):
    items: list[ApiKey]
    next_cursor: str | None


class Caller(BaseModel):
    kind: Literal["publishable", "secret"]


class ProjectInfo(BaseModel):
    id: str
    name: str
    caller: Caller


class Jwk(BaseModel):
    model_config = ConfigDict(extra="allow")
    kid: str
    kty: str
    alg: str
    use: str


class Jwks(BaseModel):
    keys: list[Jwk]


class Health(BaseModel):
    status: str
    engine: str | None = None


class ErrorBody(BaseModel):
    status: int
    code: str
    message: str
    details: dict[str, object] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    error: ErrorBody
