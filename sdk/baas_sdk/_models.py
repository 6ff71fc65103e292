"""Typed views of the server's JSON. Unknown fields are kept (``extra="allow"``) so an
older SDK keeps working against a newer server. Timestamps stay RFC 3339 strings, as sent,
except a ``Session``'s expiry, which the SDK computes with and so parses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class SigningKey(Model):
    """A project's access-token signing key (public facts only, never the private key)."""

    id: str
    created_at: str
    retired_at: str | None = None
    current: bool = False


class SigningKeyRotation(Model):
    current: str
    items: list[SigningKey]


# -- end-user auth ------------------------------------------------------------------


class User(Model):
    """An end user of a project (``P/auth/me``)."""

    id: str
    email: str | None = None
    email_verified: bool = False
    anonymous: bool = False
    disabled: bool = False
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: str
    updated_at: str
    last_sign_in_at: str | None = None


class Session(Model):
    """A signed-in session: the tokens, their expiry and the user they belong to.

    ``received_at`` is stamped by the SDK with the client's own clock when the tokens
    arrive; refresh timing uses ``received_at + expires_in`` so a client whose clock
    disagrees with the server's still refreshes on time. The tokens are left out of
    ``repr()`` so they do not end up in logs by accident.
    """

    access_token: str = Field(repr=False)
    refresh_token: str = Field(repr=False)
    expires_in: int
    expires_at: datetime
    token_type: str = "bearer"  # noqa: S105 (a scheme name, not a secret)
    session_id: str
    user: User | None = None
    received_at: datetime | None = None

    @field_validator("expires_at", "received_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        # A timestamp without an offset is UTC; naive and aware datetimes cannot compare.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class AuthAnswer(Model):
    """``{"user", "session"}``: the answer of sign-up, sign-in and refresh."""

    user: User
    session: Session


class SessionInfo(Model):
    """One of the user's sessions, as listed by ``P/auth/sessions``."""

    id: str
    created_at: str
    last_used_at: str | None = None
    expires_at: str | None = None
    user_agent: str | None = None
    ip: str | None = None
    current: bool = False
