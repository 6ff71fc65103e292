"""Typed views of the server's JSON. Unknown fields are kept (``extra="allow"``) so an
older SDK keeps working against a newer server. Timestamps stay RFC 3339 strings, as sent.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")

KeyKind = Literal["publishable", "secret"]


class Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class Project(Model):
    id: str
    name: str
    created_at: str
    updated_at: str


class ApiKey(Model):
    id: str
    project: str
    kind: KeyKind
    name: str | None = None
    prefix: str
    created_at: str
    expires_at: str | None = None
    revoked_at: str | None = None
    # Only present in the answer that creates the key: the server never shows it again.
    secret: str | None = None


class CreatedProject(Model):
    project: Project
    keys: list[ApiKey]


class AdminToken(Model):
    token: str
    token_type: str
    expires_at: str
    admin: dict[str, Any]


class Page(Model, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
