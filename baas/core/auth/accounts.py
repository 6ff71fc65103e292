"""End-user authentication flows: sign-up, login, anonymous users, refresh, logout,
the signed-in user's own account, and user management with a secret key.

Email verification and password reset live in ``recovery``; both share the
per-project services and the throttles kept here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from baas.core import clock
from baas.core.auth.onetime import OneTimeTokens
from baas.core.auth.passwords import Hasher, too_long
from baas.core.auth.sessions import Sessions
from baas.core.auth.throttle import Lockout, Throttle
from baas.core.auth.tokens import SigningKeys, TokenError
from baas.core.auth.users import (
    Users,
    check_data,
    check_password,
    merge_data,
    normalize_email,
    public,
)
from baas.core.errors import BadRequest, Conflict, Forbidden, Unauthorized
from baas.settings import Settings
from baas.store import Database

THROTTLE_WINDOW = 900
AddressTaken = Callable[[str, str], Awaitable[None]]


@dataclass(frozen=True)
class Caller:
    """A signed-in end user, from a verified access token."""

    project: str
    user_id: str
    session_id: str
    role: str
    # The user record, when ``authenticate(live=True)`` read it: not read again.
    user: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    async def record(self, users: Users) -> dict[str, Any]:
        return self.user if self.user is not None else await users.require(self.user_id)


@dataclass
class ProjectAuth:
    """The auth services of one project (its migrations made their indexes)."""

    users: Users
    sessions: Sessions
    tokens: OneTimeTokens
    signing: SigningKeys


def login_account(project: str, email: str) -> str:
    """The key an account's password checks are counted under."""
    return f"{project}:{email}"


def invalid_credentials() -> Unauthorized:
    return Unauthorized("wrong email or password", code="invalid_credentials")


def disabled_user() -> Forbidden:
    return Forbidden("this account has been disabled; contact the app's support",
                     code="user_disabled")


class Accounts:
    """Auth flows for every project of the platform."""

    def __init__(self, settings: Settings, hasher: Hasher,
                 database: Callable[[str], Database],
                 signing: Callable[[str], SigningKeys]) -> None:
        self.settings = settings
        self.hasher = hasher
        self._database = database
        self._signing = signing
        self._projects: dict[str, ProjectAuth] = {}
        # Per client address: sign-ups, failed password checks, reset requests...
        self.ip_throttle = Throttle(settings.auth_ip_limit, THROTTLE_WINDOW)
        # Password checks (login, current_password): per (account, address), then
        # account-wide with growing delays only far higher (see ``throttle``).
        self.logins = Lockout(settings.auth_account_limit, settings.auth_account_wide_limit,
                              self.ip_throttle, window_seconds=THROTTLE_WINDOW)
        # Per user: verification mails and email changes (only the user can spend them).
        self.user_throttle = Throttle(settings.auth_account_limit, THROTTLE_WINDOW)
        # Told (project, address) when a user tried to take an address another account
        # has; ``Recovery`` mails that address a notice.
        self.address_taken: AddressTaken | None = None

    async def project(self, project_id: str) -> ProjectAuth:
        """The project's auth collections (their indexes are made by its migrations)."""
        found = self._projects.get(project_id)
        if found is None:
            db = self._database(project_id)
            found = ProjectAuth(
                Users(db),
                Sessions(db, self.settings.session_idle_seconds,
                         self.settings.session_absolute_seconds),
                OneTimeTokens(db),
                self._signing(project_id),
            )
            self._projects[project_id] = found
        return found

    def forget(self, project_id: str) -> None:
        self._projects.pop(project_id, None)

    # -- tokens -----------------------------------------------------------------------

    async def _issue(self, project: str, auth: ProjectAuth, user: dict[str, Any],
                     session: dict[str, Any], refresh_token: str) -> dict[str, Any]:
        ttl = self.settings.access_token_ttl
        role = "anonymous" if user.get("anonymous") else "authenticated"
        access = await auth.signing.mint(project, user["id"], session["id"], role, ttl=ttl)
        return {
            "user": public(user),
            "session": {
                "access_token": access,
                "refresh_token": refresh_token,
                "expires_in": ttl,
                "expires_at": clock.later_iso(ttl),
                "token_type": "bearer",
                "session_id": session["id"],
            },
        }

    async def _start(self, project: str, auth: ProjectAuth, user: dict[str, Any],
                     ip: str, user_agent: str | None) -> dict[str, Any]:
        user = await auth.users.update(user["id"], {"last_sign_in_at": clock.now_iso()})
        session, refresh_token = await auth.sessions.start(user["id"], user_agent=user_agent,
                                                           ip=ip)
        return await self._issue(project, auth, user, session, refresh_token)

    async def authenticate(self, project: str, token: str, *, live: bool = False) -> Caller:
        """The caller an access token names. ``live`` also requires the session to be
        open and the user enabled now (account routes), not only at issue time."""
        auth = await self.project(project)
        claims = await auth.signing.verify(token, project)
        caller = Caller(project, claims["sub"], claims["sid"], claims["role"])
        if live:
            session = await auth.sessions.get(caller.session_id)
            if session is None or session["user_id"] != caller.user_id:
                raise TokenError("invalid_token", "the session has ended; sign in again")
            user = await auth.users.get(caller.user_id)
            if user is None or user.get("disabled"):
                raise TokenError("invalid_token", "the account is disabled or gone")
            caller = replace(caller, user=user)
        return caller

    # -- sign-up and sign-in ------------------------------------------------------------

    async def sign_up(self, project: str, email: str, password: str,
                      data: dict[str, Any] | None, *, ip: str, user_agent: str | None
                      ) -> dict[str, Any]:
        self.ip_throttle.count("ip:" + ip)  # every sign-up counts against the address
        email = normalize_email(email)
        check_password(password)
        check_data(data or {})
        auth = await self.project(project)
        password_hash = await self.hasher.hash(password)
        user = await auth.users.create(email=email, password_hash=password_hash, data=data)
        return await self._start(project, auth, user, ip, user_agent)

    async def sign_up_anonymously(self, project: str, data: dict[str, Any] | None, *,
                                  ip: str, user_agent: str | None) -> dict[str, Any]:
        self.ip_throttle.count("ip:" + ip)
        check_data(data or {})
        auth = await self.project(project)
        user = await auth.users.create(email=None, password_hash=None, data=data)
        return await self._start(project, auth, user, ip, user_agent)

    async def log_in(self, project: str, email: str, password: str, *, ip: str,
                     user_agent: str | None) -> dict[str, Any]:
        """A new session for valid credentials; one answer for every kind of failure."""
        if too_long(password):
            check_password(password)  # 400 before any hashing
        try:
            email = normalize_email(email)
        except BadRequest:
            email = ""
        account = login_account(project, email)
        self.logins.check(account, ip)
        auth = await self.project(project)
        user = await auth.users.by_email(email) if email else None
        stored = user.get("password_hash") if user else None
        # Unknown emails verify against a dummy hash, so both failures take as long.
        if not await self.hasher.verify(stored, password) or user is None or stored is None:
            self.logins.fail(account, ip)
            raise invalid_credentials()
        self.logins.succeed(account, ip)
        if user.get("disabled"):
            raise disabled_user()
        if self.hasher.needs_rehash(stored):
            user = await auth.users.update(user["id"],
                                           {"password_hash": await self.hasher.hash(password)})
        return await self._start(project, auth, user, ip, user_agent)

    async def refresh(self, project: str, refresh_token: str, *, ip: str) -> dict[str, Any]:
        self.ip_throttle.check("ip:" + ip)
        auth = await self.project(project)
        try:
            session, new_token = await auth.sessions.rotate(refresh_token)
        except Unauthorized:
            self.ip_throttle.fail("ip:" + ip)
            raise
        user = await auth.users.get(session["user_id"])
        if user is None or user.get("disabled"):
            await auth.sessions.revoke(session["id"])
            raise disabled_user() if user else Unauthorized(
                "the account no longer exists", code="invalid_refresh_token")
        return await self._issue(project, auth, user, session, new_token)

    async def log_out(self, caller: Caller, scope: str = "local") -> None:
        auth = await self.project(caller.project)
        if scope == "global":
            await auth.sessions.revoke_user(caller.user_id)
        else:
            await auth.sessions.revoke(caller.session_id)

    # -- the signed-in user ---------------------------------------------------------------

    async def me(self, caller: Caller) -> dict[str, Any]:
        auth = await self.project(caller.project)
        return public(await caller.record(auth.users))

    async def update_me(self, caller: Caller, *, data: dict[str, Any] | None = None,
                        email: str | None = None, password: str | None = None,
                        current_password: str | None = None, ip: str = "unknown"
                        ) -> dict[str, Any]:
        """Change the user's own data, email or password.

        Email and password changes count against the user and the address however they
        end (each costs a hash), and a taken address answers as a free one would (the
        email simply stays, and the address's owner gets a notice), so this is no oracle
        for who has an account."""
        auth = await self.project(caller.project)
        user = await caller.record(auth.users)
        changes: dict[str, Any] = {}
        change_key = f"credential-change:{caller.project}:{user['id']}"
        if email is not None or password is not None:
            self.user_throttle.check(change_key)
            self.ip_throttle.check("ip:" + ip)
        new_email: str | None = None
        taken = False
        if email is not None or password is not None:
            if user.get("password_hash"):
                await self._confirm_password(caller.project, user, current_password, ip)
            elif email is None or password is None:
                raise BadRequest("set both email and password to turn this guest account "
                                 "into a full account", code="email_and_password_required")
            if email is not None:
                new_email = normalize_email(email)
                if new_email == user.get("email"):
                    new_email = None
            if password is not None:
                check_password(password)
            if new_email is not None or password is not None:
                self.user_throttle.fail(change_key)
                self.ip_throttle.fail("ip:" + ip)
            if new_email is not None:
                taken = await auth.users.by_email(new_email) is not None
                if not taken:
                    changes.update(email=new_email, email_verified=False, anonymous=False)
            if password is not None:
                password_hash = await self.hasher.hash(password)  # hashed either way: timing
                if user.get("email") or not taken:  # a guest keeps no password without email
                    changes.update(password_hash=password_hash, anonymous=False)
        if data is not None:
            merged = merge_data(user.get("data") or {}, data)
            check_data(merged)
            changes["data"] = merged
        if not changes and not taken:
            return public(user)
        try:
            updated = await auth.users.update(user["id"], changes)
        except Conflict as exc:  # taken since the lookup: the same answer as before it
            if exc.code != "email_taken":
                raise
            taken = True
            changes = {k: v for k, v in changes.items()
                       if k not in ("email", "email_verified", "anonymous")
                       and (k != "password_hash" or user.get("email"))}
            updated = await auth.users.update(user["id"], changes)
        if "password_hash" in changes:
            await auth.sessions.revoke_user(user["id"], keep=caller.session_id)
        if "email" in changes:
            await auth.tokens.discard(user["id"])
        view = public(updated)
        if taken and new_email is not None:
            view.update(email=new_email, email_verified=False, anonymous=False)
            if self.address_taken is not None:
                await self.address_taken(caller.project, new_email)
        return view

    async def _confirm_password(self, project: str, user: dict[str, Any],
                                current_password: str | None, ip: str) -> None:
        """``current_password`` checked and counted like a login to the same account."""
        account = login_account(project, user.get("email") or user["id"])
        self.logins.check(account, ip)
        if current_password is None:
            raise BadRequest("changing the email or password needs current_password",
                             code="current_password_required",
                             details={"field": "current_password"})
        stored = user.get("password_hash")
        if too_long(current_password) or not await self.hasher.verify(stored, current_password):
            self.logins.fail(account, ip)
            raise Unauthorized("the current password is wrong", code="invalid_credentials")

    async def delete_me(self, caller: Caller) -> None:
        await self.delete_user(caller.project, caller.user_id)

    async def sessions(self, caller: Caller) -> list[dict[str, Any]]:
        auth = await self.project(caller.project)
        return await auth.sessions.list(caller.user_id)

    async def revoke_session(self, caller: Caller, session_id: str) -> bool:
        auth = await self.project(caller.project)
        session = await auth.sessions.get(session_id)
        if session is None or session["user_id"] != caller.user_id:
            return False
        return await auth.sessions.revoke(session_id)

    # -- user management (secret key or admin) ------------------------------------------

    async def create_user(self, project: str, *, email: str, password: str | None,
                          data: dict[str, Any] | None, email_verified: bool,
                          disabled: bool) -> dict[str, Any]:
        email = normalize_email(email)
        if password is not None:
            check_password(password)
        check_data(data or {})
        auth = await self.project(project)
        password_hash = await self.hasher.hash(password) if password is not None else None
        user = await auth.users.create(email=email, password_hash=password_hash, data=data,
                                       email_verified=email_verified, disabled=disabled)
        return public(user)

    async def update_user(self, project: str, user_id: str, fields: dict[str, Any]
                          ) -> dict[str, Any]:
        auth = await self.project(project)
        user = await auth.users.require(user_id)
        changes: dict[str, Any] = {}
        if fields.get("email") is not None:
            email = normalize_email(fields["email"])
            if email != user.get("email"):
                changes.update(email=email, anonymous=False, email_verified=False)
        if fields.get("password") is not None:
            if not (changes.get("email") or user.get("email")):
                raise BadRequest("a guest user needs an email to go with a password",
                                 code="email_and_password_required")
            check_password(fields["password"])
            changes["password_hash"] = await self.hasher.hash(fields["password"])
        if fields.get("data") is not None:
            merged = merge_data(user.get("data") or {}, fields["data"])
            check_data(merged)
            changes["data"] = merged
        for flag in ("email_verified", "disabled"):
            if fields.get(flag) is not None:
                changes[flag] = bool(fields[flag])
        if changes.get("email_verified") and not (changes.get("email") or user.get("email")):
            raise BadRequest("a user without an email cannot be verified", code="no_email")
        updated = await auth.users.update(user_id, changes) if changes else user
        if changes.get("disabled") or "password_hash" in changes:
            await auth.sessions.revoke_user(user_id)
        if "email" in changes:
            await auth.tokens.discard(user_id)
        return public(updated)

    async def get_user(self, project: str, user_id: str) -> dict[str, Any]:
        auth = await self.project(project)
        return public(await auth.users.require(user_id))

    async def delete_user(self, project: str, user_id: str) -> None:
        auth = await self.project(project)
        await auth.users.require(user_id)
        await auth.sessions.revoke_user(user_id)
        await auth.tokens.discard(user_id)
        await auth.users.delete(user_id)

    async def list_users(self, project: str, **query: Any
                         ) -> tuple[list[dict[str, Any]], str | None]:
        auth = await self.project(project)
        items, cursor = await auth.users.list(**query)
        return [public(item) for item in items], cursor
