"""End-user authentication (``/v1/projects/{project}/auth``): sign-up, sign-in, the
session's tokens, the user's profile, their sessions and the emailed-token flows.

The ``*_call`` functions are pure request builders; ``Auth`` and ``AsyncAuth`` send them
and keep the client's session (``client.session``, persisted by its ``SessionStore``)
in step. Token refresh itself happens in the facades' ``send``, for every request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from ._core import BaseClient, Call, parse_model, parse_none, segment
from ._exceptions import BaasError, Forbidden, NotFound, Unauthorized
from ._models import AuthAnswer, Page, Session, SessionInfo, User
from ._paging import _acollect, _collect
from ._session import SIGNED_IN

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

Scope = Literal["local", "global"]

# Answers of a sign-out meaning "that session is already gone": sign out locally anyway.
GONE = (Unauthorized, Forbidden, NotFound)


def _auth(project: str) -> str:
    return f"/v1/projects/{segment(project)}/auth"


def _with_data(body: dict[str, Any], data: dict[str, Any] | None) -> dict[str, Any]:
    return {**body, "data": data} if data is not None else body


def sign_up_call(project: str, email: str, password: str,
                 data: dict[str, Any] | None = None) -> Call[AuthAnswer]:
    return Call("POST", f"{_auth(project)}/signup", parse_model(AuthAnswer),
                json=_with_data({"email": email, "password": password}, data),
                with_session=False)


def sign_in_call(project: str, email: str, password: str) -> Call[AuthAnswer]:
    return Call("POST", f"{_auth(project)}/login", parse_model(AuthAnswer),
                json={"email": email, "password": password}, with_session=False)


def anonymous_call(project: str, data: dict[str, Any] | None = None) -> Call[AuthAnswer]:
    return Call("POST", f"{_auth(project)}/anonymous", parse_model(AuthAnswer),
                json=_with_data({}, data), with_session=False)


def refresh_call(project: str, refresh_token: str) -> Call[AuthAnswer]:
    return Call("POST", f"{_auth(project)}/refresh", parse_model(AuthAnswer),
                json={"refresh_token": refresh_token}, with_session=False)


def sign_out_call(project: str, scope: Scope = "local") -> Call[None]:
    if scope not in ("local", "global"):
        raise BaasError(f"scope must be 'local' or 'global', not {scope!r}")
    return Call("POST", f"{_auth(project)}/logout", parse_none, json={"scope": scope})


def me_call(project: str) -> Call[User]:
    return Call("GET", f"{_auth(project)}/me", parse_model(User))


def update_call(project: str, *, data: dict[str, Any] | None = None,
                email: str | None = None, password: str | None = None,
                current_password: str | None = None) -> Call[User]:
    fields = {"data": data, "email": email, "password": password,
              "current_password": current_password}
    body = {name: value for name, value in fields.items() if value is not None}
    if not body:
        raise BaasError("update() needs at least one of data, email, password")
    return Call("PATCH", f"{_auth(project)}/me", parse_model(User), json=body)


def delete_account_call(project: str) -> Call[None]:
    return Call("DELETE", f"{_auth(project)}/me", parse_none)


def sessions_call(project: str, cursor: str | None = None) -> Call[Page[SessionInfo]]:
    return Call("GET", f"{_auth(project)}/sessions", parse_model(Page[SessionInfo]),
                params={"cursor": cursor} if cursor else None)


def revoke_session_call(project: str, session_id: str) -> Call[None]:
    return Call("DELETE", f"{_auth(project)}/sessions/{segment(session_id)}", parse_none)


def request_verification_call(project: str) -> Call[None]:
    return Call("POST", f"{_auth(project)}/verify/request", parse_none)


def verify_call(project: str, token: str) -> Call[User]:
    return Call("POST", f"{_auth(project)}/verify/confirm", parse_model(User),
                json={"token": token}, with_session=False)


def forgot_password_call(project: str, email: str) -> Call[None]:
    return Call("POST", f"{_auth(project)}/password/forgot", parse_none,
                json={"email": email}, with_session=False)


def reset_password_call(project: str, token: str, password: str) -> Call[None]:
    return Call("POST", f"{_auth(project)}/password/reset", parse_none,
                json={"token": token, "password": password}, with_session=False)


def upgraded(before: Session | None, user: User) -> bool:
    """An anonymous user just became a permanent one: their access token still says
    ``anonymous`` until it is refreshed."""
    previous = before.user if before else None
    return bool(previous and previous.id == user.id and previous.anonymous
                and not user.anonymous)


class _AuthBase:
    _client: BaseClient

    @property
    def session(self) -> Session | None:
        """The current session (tokens and user), or None when signed out."""
        return self._client.session

    @property
    def user(self) -> User | None:
        """The signed-in user as last seen by this client, or None."""
        session = self._client.session
        return session.user if session else None

    def _project(self) -> str:
        return self._client.require_project()

    def _signed_out_locally(self) -> None:
        if self._client.session is not None:
            self._client.auth_state.clear()

    def _session_gone(self, session_id: str) -> None:
        session = self._client.session
        if session is not None and session.session_id == session_id:
            self._client.auth_state.clear()


# -- sync ---------------------------------------------------------------------------


class Auth(_AuthBase):
    """End-user auth over a ``Client``; reach it as ``client.auth``."""

    _client: Client

    def __init__(self, client: Client) -> None:
        self._client = client

    def _sign_in(self, call: Call[AuthAnswer]) -> Session:
        return self._client.auth_state.adopt(self._client.send(call), SIGNED_IN)

    def sign_up(self, email: str, password: str, *,
                data: dict[str, Any] | None = None) -> Session:
        """Create an account and sign in as it."""
        return self._sign_in(sign_up_call(self._project(), email, password, data))

    def sign_in(self, email: str, password: str) -> Session:
        return self._sign_in(sign_in_call(self._project(), email, password))

    def sign_in_anonymously(self, *, data: dict[str, Any] | None = None) -> Session:
        """Sign in as a new anonymous user; ``update(email=, password=)`` upgrades it."""
        return self._sign_in(anonymous_call(self._project(), data))

    def refresh(self) -> Session:
        """Exchange the refresh token for new tokens now (normally automatic)."""
        return self._client.refresh_session()

    def sign_out(self, scope: Scope = "local") -> None:
        """End this session (``"global"``: every session of the user) on the server, then
        forget it here, also when the server says it was already gone."""
        call = sign_out_call(self._project(), scope)
        if self._client.session is None:
            return
        try:
            self._client.send(call)
        except GONE:
            pass
        self._signed_out_locally()

    def me(self) -> User:
        user = self._client.send(me_call(self._project()))
        self._client.auth_state.set_user(user)
        return user

    def update(self, *, data: dict[str, Any] | None = None, email: str | None = None,
               password: str | None = None, current_password: str | None = None) -> User:
        """Change the profile ``data``, the email or the password. Changing email or
        password needs ``current_password``, except for an anonymous user upgrading."""
        before = self._client.session
        user = self._client.send(update_call(
            self._project(), data=data, email=email, password=password,
            current_password=current_password))
        self._client.auth_state.set_user(user)
        if upgraded(before, user):
            self._client.refresh_session()
        return user

    def delete_account(self) -> None:
        """Delete the signed-in user and all their sessions, then sign out here."""
        self._client.send(delete_account_call(self._project()))
        self._signed_out_locally()

    def sessions(self) -> list[SessionInfo]:
        project = self._project()
        return _collect(self._client, lambda cursor: sessions_call(project, cursor))

    def revoke_session(self, session_id: str) -> None:
        self._client.send(revoke_session_call(self._project(), session_id))
        self._session_gone(session_id)

    def request_verification(self) -> None:
        """Email the signed-in user a link to verify their address."""
        self._client.send(request_verification_call(self._project()))

    def verify(self, token: str) -> User:
        """Redeem an emailed verification token."""
        user = self._client.send(verify_call(self._project(), token))
        self._client.auth_state.set_user(user)
        return user

    def forgot_password(self, email: str) -> None:
        """Email a password-reset token (the answer is the same for unknown emails)."""
        self._client.send(forgot_password_call(self._project(), email))

    def reset_password(self, token: str, password: str) -> None:
        """Set a new password with an emailed token; every session of the user ends."""
        self._client.send(reset_password_call(self._project(), token, password))


# -- async --------------------------------------------------------------------------


class AsyncAuth(_AuthBase):
    """End-user auth over an ``AsyncClient``; reach it as ``client.auth``."""

    _client: AsyncClient

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def _sign_in(self, call: Call[AuthAnswer]) -> Session:
        return self._client.auth_state.adopt(await self._client.send(call), SIGNED_IN)

    async def sign_up(self, email: str, password: str, *,
                      data: dict[str, Any] | None = None) -> Session:
        return await self._sign_in(sign_up_call(self._project(), email, password, data))

    async def sign_in(self, email: str, password: str) -> Session:
        return await self._sign_in(sign_in_call(self._project(), email, password))

    async def sign_in_anonymously(self, *, data: dict[str, Any] | None = None) -> Session:
        return await self._sign_in(anonymous_call(self._project(), data))

    async def refresh(self) -> Session:
        return await self._client.refresh_session()

    async def sign_out(self, scope: Scope = "local") -> None:
        call = sign_out_call(self._project(), scope)
        if self._client.session is None:
            return
        try:
            await self._client.send(call)
        except GONE:
            pass
        self._signed_out_locally()

    async def me(self) -> User:
        user = await self._client.send(me_call(self._project()))
        self._client.auth_state.set_user(user)
        return user

    async def update(self, *, data: dict[str, Any] | None = None, email: str | None = None,
                     password: str | None = None,
                     current_password: str | None = None) -> User:
        before = self._client.session
        user = await self._client.send(update_call(
            self._project(), data=data, email=email, password=password,
            current_password=current_password))
        self._client.auth_state.set_user(user)
        if upgraded(before, user):
            await self._client.refresh_session()
        return user

    async def delete_account(self) -> None:
        await self._client.send(delete_account_call(self._project()))
        self._signed_out_locally()

    async def sessions(self) -> list[SessionInfo]:
        project = self._project()
        return await _acollect(self._client, lambda cursor: sessions_call(project, cursor))

    async def revoke_session(self, session_id: str) -> None:
        await self._client.send(revoke_session_call(self._project(), session_id))
        self._session_gone(session_id)

    async def request_verification(self) -> None:
        await self._client.send(request_verification_call(self._project()))

    async def verify(self, token: str) -> User:
        user = await self._client.send(verify_call(self._project(), token))
        self._client.auth_state.set_user(user)
        return user

    async def forgot_password(self, email: str) -> None:
        await self._client.send(forgot_password_call(self._project(), email))

    async def reset_password(self, token: str, password: str) -> None:
        await self._client.send(reset_password_call(self._project(), token, password))
