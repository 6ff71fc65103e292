"""Request and response models of the end-user auth routes (P/auth, P/users)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr

from baas.api.schemas.common import Strict

# Passwords have no length cap here on purpose: the policy (at most 1,024 bytes)
# answers 400 password_too_long before any hashing, rather than a generic 422.
EMAIL = Field(max_length=320, description="Email address; trimmed and lower-cased")
DATA = Field(None, description="Profile data: a JSON object, at most 16 KiB")


class SignUp(Strict):
    email: StrictStr = EMAIL
    password: StrictStr = Field(description="8 characters to 1,024 bytes")
    data: dict[str, Any] | None = DATA


class LogIn(Strict):
    email: StrictStr = EMAIL
    password: StrictStr


class Anonymous(Strict):
    data: dict[str, Any] | None = DATA


class Refresh(Strict):
    refresh_token: StrictStr = Field(max_length=512)


class LogOut(Strict):
    scope: Literal["local", "global"] = Field(
        "local", description="local ends this session, global every session of the user")


class MeUpdate(Strict):
    data: dict[str, Any] | None = Field(
        None, description="Merged into the profile data; a null value removes a field")
    email: StrictStr | None = Field(None, max_length=320)
    password: StrictStr | None = None
    current_password: StrictStr | None = Field(
        None, description="Needed to change email or password when the account has one")


class TokenBody(Strict):
    token: StrictStr = Field(max_length=512, description="The token from the emailed link")


class Forgot(Strict):
    email: StrictStr = EMAIL


class Reset(Strict):
    token: StrictStr = Field(max_length=512)
    password: StrictStr


class UserCreate(Strict):
    email: StrictStr = EMAIL
    password: StrictStr | None = Field(
        None, description="Optional: without one the user signs in after a password reset")
    data: dict[str, Any] | None = DATA
    email_verified: StrictBool = False
    disabled: StrictBool = False


class UserUpdate(Strict):
    email: StrictStr | None = Field(None, max_length=320)
    password: StrictStr | None = None
    data: dict[str, Any] | None = Field(None, description="Merged; null values remove fields")
    email_verified: StrictBool | None = None
    disabled: StrictBool | None = Field(None, description="true also ends every session")


class User(BaseModel):
    id: str
    email: str | None
    email_verified: bool
    anonymous: bool
    disabled: bool
    data: dict[str, Any]
    created_at: str
    updated_at: str
    last_sign_in_at: str | None


class Session(BaseModel):
    access_token: str = Field(description="ES256 JWT; send as Authorization: Bearer")
    refresh_token: str = Field(description="Single use: each refresh returns a new one")
    expires_in: int = Field(description="Seconds until the access token expires")
    expires_at: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    session_id: str


class AuthResult(BaseModel):
    user: User
    session: Session


class SessionInfo(BaseModel):
    id: str
    created_at: str
    last_used_at: str
    expires_at: str
    user_agent: str | None
    ip: str | None
    current: bool


class SessionList(BaseModel):
    items: list[SessionInfo]
    next_cursor: str | None


class UserList(BaseModel):
    items: list[User]
    next_cursor: str | None


class Sent(BaseModel):
    sent: bool = True


class SigningKey(BaseModel):
    id: str
    created_at: str
    retired_at: str | None
    current: bool


class SigningKeyList(BaseModel):
    items: list[SigningKey]
    next_cursor: str | None


class Rotated(BaseModel):
    current: str
    items: list[SigningKey]
