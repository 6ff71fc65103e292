"""Who is calling: credential parsing for admin routes and project routes."""

from __future__ import annotations

from starlette.requests import Request

from baas.core.auth.accounts import Caller
from baas.core.data.rules import Access
from baas.core.errors import Forbidden, Unauthorized
from baas.core.platform import Platform
from baas.core.tenancy.admins import AdminSession
from baas.core.tenancy.keys import ProjectKey, looks_like_key


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'",
                           code="invalid_authorization")
    return value.strip()


async def require_admin(request: Request) -> AdminSession:
    token = bearer(request)
    if token is None:
        if request.headers.get("apikey"):
            raise Forbidden("project keys cannot call admin routes; use an admin token "
                            "from POST /v1/admin/login", code="admin_token_required")
        raise Unauthorized("this route needs an admin token: Authorization: Bearer <token>",
                           code="missing_credentials")
    if looks_like_key(token):
        raise Forbidden("project keys cannot call admin routes; use an admin token "
                        "from POST /v1/admin/login", code="admin_token_required")
    session = await platform_of(request).admins.authenticate(token)
    request.state.admin = session
    return session


async def require_key(request: Request, project: str) -> ProjectKey:
    """The project key sent as ``apikey`` or as a bearer token."""
    key = request.headers.get("apikey")
    token = bearer(request)
    if key is None and token is not None and looks_like_key(token):
        key = token
    if key is None:
        raise Unauthorized("this route needs the project's API key in the 'apikey' header",
                           code="missing_api_key")
    # The key is checked before the project is looked up, so a caller without a
    # valid key cannot learn which projects exist.
    found = await platform_of(request).keys.authenticate(project, key)
    request.state.key = found
    return found


async def require_user(request: Request, project: str, *, live: bool = True) -> Caller:
    """A signed-in end user: the project key in ``apikey`` plus a user access token.

    ``live`` (account routes) also checks that the session is still open and the user
    enabled; otherwise the token alone is trusted until it expires.
    """
    if request.headers.get("apikey") is None:
        raise Unauthorized("this route needs the project's API key in the 'apikey' header "
                           "as well as the user's access token", code="missing_api_key")
    await require_key(request, project)
    token = bearer(request)
    if token is None or looks_like_key(token):
        raise Unauthorized("sign in first: this route needs a user access token "
                           "(Authorization: Bearer <access_token>)", code="missing_credentials")
    caller = await platform_of(request).accounts.authenticate(project, token, live=live)
    request.state.user = caller
    return caller


async def _project_admin(request: Request, project: str) -> bool:
    """True when the caller sends an admin token (checked, and the project exists)."""
    token = bearer(request)
    if token is None or looks_like_key(token) or request.headers.get("apikey") is not None:
        return False
    await require_admin(request)
    await platform_of(request).projects.get(project)
    return True


async def require_manager(request: Request, project: str) -> None:
    """A secret key of ``project``, or an admin token (user management, settings)."""
    if await _project_admin(request, project):
        return
    key = await require_key(request, project)
    if key.kind != "secret":
        raise Forbidden("this route needs a secret key (sk_...) or an admin token; "
                        "publishable keys cannot manage users", code="secret_key_required")


async def require_access(request: Request, project: str) -> Access:
    """The caller of a document route: an admin token or a secret key (trusted, rules
    do not apply), or a publishable key with an optional user access token."""
    if await _project_admin(request, project):
        return Access(trusted=True)
    key = await require_key(request, project)
    if key.kind == "secret":
        return Access(trusted=True, key_id=key.id)
    token = bearer(request)
    if token is None or looks_like_key(token):
        return Access(trusted=False, key_id=key.id)
    # Data routes trust the access token until it expires (no session read per request).
    caller = await platform_of(request).accounts.authenticate(project, token, live=False)
    request.state.user = caller
    return Access(trusted=False, user_id=caller.user_id, role=caller.role, key_id=key.id)
