"""Pydantic models that validate request bodies and describe responses in OpenAPI."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr


class Strict(BaseModel):
    # Unknown fields are refused and nothing is coerced: {"password": {"$ne": null}} is a 422.
    model_config = ConfigDict(extra="forbid", strict=True)


class AdminLogin(Strict):
    email: StrictStr = Field(max_length=320)
    password: StrictStr = Field(max_length=4096)


class ProjectCreate(Strict):
    id: StrictStr = Field(max_length=40, description="3-40 characters: a-z, 0-9 and '-'")
    name: StrictStr | None = Field(None, min_length=1, max_length=200)


class ProjectUpdate(Strict):
    name: StrictStr = Field(min_length=1, max_length=200)


class KeyCreate(Strict):
    kind: Literal["publishable", "secret"]
    name: StrictStr | None = Field(None, min_length=1, max_length=200)
    expires_at: StrictStr | None = Field(None, description="RFC 3339 timestamp in the future")


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
