"""Request and response models of the end-user auth routes (P/auth, P/users)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr

from baas.api.schemas.common import Strict, optional_object, schema_only
from baas.core.auth.passwords import MAX_BYTES, MIN_LENGTH
from baas.core.auth.users import EMAIL_RE

# The email and password policies are checked by the server (400 invalid_email,
# weak_password, password_too_long before any hashing), not by the models (a 422): these
# keywords only tell the OpenAPI document. JSON Schema counts characters, the policy
# bytes: maxLength is the byte cap, the description says which.
# What Python's \s (and str.strip) count as whitespace, spelled out: a JSON Schema pattern
# is an ECMA regex, whose \s is another set.
WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
EMAIL_PATTERN = (f"^[{WHITESPACE}]*"
                 + EMAIL_RE.pattern[1:-1].replace(r"\s", WHITESPACE)
                 + f"[{WHITESPACE}]*$")
EMAIL_RULES = schema_only(pattern=EMAIL_PATTERN)
PASSWORD_RULES = schema_only(minLength=MIN_LENGTH, maxLength=MAX_BYTES)
PASSWORD_TEXT = f"{MIN_LENGTH} characters to {MAX_BYTES:,} bytes"
EMAIL = Field(max_length=320, description="Email address; trimmed and lower-cased",
              json_schema_extra=EMAIL_RULES)
DATA = Field(None, description="Profile data: a JSON object, at most 16 KiB and 16 levels "
             "deep, field names as in documents", json_schema_extra=optional_object("JsonObject"))


class SignUp(Strict):
    email: StrictStr = EMAIL
    password: StrictStr = Field(description=PASSWORD_TEXT, json_schema_extra=PASSWORD_RULES)
    data: dict[str, Any] | None = DATA


class LogIn(Strict):
    email: StrictStr = EMAIL
    password: StrictStr = Field(description=f"at most {MAX_BYTES:,} bytes",
                                json_schema_extra=schema_only(maxLength=MAX_BYTES))


class Anonymous(Strict):
    data: dict[str, Any] | None = DATA


class Refresh(Strict):
    refresh_token: StrictStr = Field(max_length=512)


class LogOut(Strict):
    scope: Literal["local", "global"] = Field(
        "local", description="local ends this session, global every session of the user")


class MeUpdate(Strict):
    """A guest account becomes a full one with email and password together; a full account
    changes either with current_password (400 otherwise)."""

    data: dict[str, Any] | None = Field(
        None, description="Merged into the profile data; a null value removes a field",
        json_schema_extra=optional_object("JsonObject"))
    email: StrictStr | None = Field(None, max_length=320, json_schema_extra=EMAIL_RULES)
    password: StrictStr | None = Field(None, description=PASSWORD_TEXT,
                                       json_schema_extra=PASSWORD_RULES)
    current_password: StrictStr | None = Field(
        None, description="Needed to change email or password when the account has one")


class TokenBody(Strict):
    token: StrictStr = Field(max_length=512, description="The token from the emailed link")


class Forgot(Strict):
    email: StrictStr = EMAIL


class Reset(Strict):
    token: StrictStr = Field(max_length=512)
    password: StrictStr = Field(description=PASSWORD_TEXT, json_schema_extra=PASSWORD_RULES)


class UserCreate(Strict):
    email: StrictStr = EMAIL
    password: StrictStr | None = Field(
        None, description="Optional: without one the user signs in after a password reset; "
        + PASSWORD_TEXT, json_schema_extra=PASSWORD_RULES)
    data: dict[str, Any] | None = DATA
    email_verified: StrictBool = False
    disabled: StrictBool = False


class UserUpdate(Strict):
    email: StrictStr | None = Field(None, max_length=320, json_schema_extra=EMAIL_RULES)
    password: StrictStr | None = Field(None, description=PASSWORD_TEXT,
                                       json_schema_extra=PASSWORD_RULES)
    data: dict[str, Any] | None = Field(None, description="Merged; null values remove fields",
                                        json_schema_extra=optional_object("JsonObject"))
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
