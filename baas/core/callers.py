"""Who is calling: one transport-free resolution of the credentials a request carries.

A caller presents at most two credentials: an API key (``pk_...``/``sk_...``) and a bearer
token (an admin token, a user access token, or a project key sent as a bearer). Each route
declares one ``Guard``; ``Callers.resolve`` checks the credentials against it and returns the
``Caller`` (admin, secret key, publishable key, or a signed-in user with the project key),
or raises the 401/403 the guard prescribes.

Nothing here knows about HTTP. Over HTTP the API layer reads the ``apikey`` header and the
``Authorization: Bearer`` value once per request (``baas.api.auth``). A WebSocket cannot
carry headers from a browser, so its first frame carries the same two credentials,
``{"apikey": "pk_...", "token": "<access token or null>"}``, and the socket route calls
``resolve(Guard.access, project, frame.get("apikey"), frame.get("token"))`` before it
accepts any subscription: one resolution, the same errors, the same caches.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from baas.core.auth.accounts import Accounts
from baas.core.auth.accounts import Caller as SignedInUser
from baas.core.data.rules import Access
from baas.core.errors import Forbidden, Unauthorized
from baas.core.tenancy.admins import Admins, AdminSession
from baas.core.tenancy.keys import Keys, ProjectKey, looks_like_key
from baas.core.tenancy.projects import Projects


class Guard(enum.Enum):
    """Who may call a route; declared once per route."""

    none = "none"  # no credentials (health, docs, JWKS, emailed-link pages)
    admin = "admin"  # a platform admin token
    key = "key"  # a project key, publishable or secret
    user = "user"  # a project key and a user access token of an open session
    manager = "secret"  # a secret key of the project, or an admin token
    access = "access"  # documents: admin, secret key, or publishable key (+ user token)


@dataclass(slots=True)  # not frozen: a frozen init costs twice as much, once per request
class Caller:
    """The resolved caller (read-only by convention). ``admin`` alone, or ``key`` with an
    optional ``user``."""

    project: str | None
    admin: AdminSession | None = None
    key: ProjectKey | None = None
    user: SignedInUser | None = None

    @property
    def kind(self) -> str:
        """admin, secret, publishable or user (a user's key may be of either kind)."""
        if self.admin is not None:
            return "admin"
        if self.user is not None:
            return "user"
        return self.key.kind if self.key is not None else "nobody"

    @property
    def access(self) -> Access:
        """The caller as the rules see it: admins and secret keys are trusted."""
        if self.admin is not None:
            return Access(trusted=True)
        key_id = self.key.id if self.key is not None else None
        if self.key is not None and self.key.kind == "secret":
            return Access(trusted=True, key_id=key_id)
        if self.user is not None:
            return Access(trusted=False, user_id=self.user.user_id, role=self.user.role,
                          key_id=key_id)
        return Access(trusted=False, key_id=key_id)


NOBODY = Caller(project=None)
_ADMIN_ONLY = "project keys cannot call admin routes; use an admin token from POST /v1/admin/login"


class Callers:
    """Resolves credentials to a ``Caller`` with the platform's services and their caches
    (the key cache of ``Keys``, the verified-token cache of the signing keys)."""

    def __init__(self, admins: Admins, keys: Keys, accounts: Accounts,
                 projects: Projects) -> None:
        self.admins = admins
        self.keys = keys
        self.accounts = accounts
        self.projects = projects

    async def resolve(self, guard: Guard, project: str | None, apikey: str | None,
                      token: str | None) -> Caller:
        """The caller that ``apikey`` and the bearer ``token`` name, if ``guard`` lets it
        in. ``project`` is the project the route addresses (None on platform routes)."""
        if guard is Guard.none:
            return NOBODY
        if guard is Guard.admin:  # platform routes: the project they name is not checked here
            return Caller(None, admin=await self._admin(apikey, token))
        if project is None:
            raise ValueError(f"guard {guard.value} needs the project of the route")
        if guard is Guard.key:
            return Caller(project, key=await self._key(project, apikey, token))
        if guard is Guard.user:
            return await self._user(project, apikey, token)
        # An admin token is a bearer that is not a key, sent without an apikey.
        if token is not None and apikey is None and not looks_like_key(token):
            session = await self.admins.authenticate(token)
            await self.projects.get(project)  # 404 for a project that does not exist
            return Caller(project, admin=session)
        key = await self._key(project, apikey, token)
        if key.kind == "secret":
            return Caller(project, key=key)
        if guard is Guard.manager:
            raise Forbidden("this route needs a secret key (sk_...) or an admin token; "
                            "publishable keys cannot manage users", code="secret_key_required")
        if token is None or looks_like_key(token):
            return Caller(project, key=key)
        # Data routes trust the access token until it expires (no session read per request).
        user = await self.accounts.authenticate(project, token, live=False)
        return Caller(project, key=key, user=user)

    async def _admin(self, apikey: str | None, token: str | None) -> AdminSession:
        if token is None:
            if apikey:
                raise Forbidden(_ADMIN_ONLY, code="admin_token_required")
            raise Unauthorized("this route needs an admin token: Authorization: Bearer <token>",
                               code="missing_credentials")
        if looks_like_key(token):
            raise Forbidden(_ADMIN_ONLY, code="admin_token_required")
        return await self.admins.authenticate(token)

    async def _key(self, project: str, apikey: str | None, token: str | None) -> ProjectKey:
        """The project key sent as ``apikey`` or, without one, as the bearer token."""
        key = apikey
        if key is None and token is not None and looks_like_key(token):
            key = token
        if key is None:
            raise Unauthorized("this route needs the project's API key in the 'apikey' header",
                               code="missing_api_key")
        # The key is checked before the project is looked up, so a caller without a
        # valid key cannot learn which projects exist.
        return await self.keys.authenticate(project, key)

    async def _user(self, project: str, apikey: str | None, token: str | None) -> Caller:
        """Account routes: the key in ``apikey`` plus the access token of an open session
        of an enabled user (checked now, not only when the token was issued)."""
        if apikey is None:
            raise Unauthorized("this route needs the project's API key in the 'apikey' header "
                               "as well as the user's access token", code="missing_api_key")
        key = await self._key(project, apikey, token)
        if token is None or looks_like_key(token):
            raise Unauthorized("sign in first: this route needs a user access token "
                               "(Authorization: Bearer <access_token>)",
                               code="missing_credentials")
        user = await self.accounts.authenticate(project, token, live=True)
        return Caller(project, key=key, user=user)
