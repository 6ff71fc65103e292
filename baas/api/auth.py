"""Who is calling, over HTTP: the credentials read once from the headers, resolved by
``baas.core.callers`` against the route's declared guard, and kept on the request
(``request.scope["baas.caller"]``).

The dispatcher (``routing.starlette_routes``) calls ``resolve`` before a guarded handler
runs; the handler reads what it needs with ``caller_of``, ``access_of``, ``user_of``,
``admin_of`` or ``key_of`` and keeps only ownership checks of its own.
"""

from __future__ import annotations

from starlette.requests import Request

from baas.core.auth.accounts import Caller as SignedInUser
from baas.core.callers import Caller, Guard
from baas.core.data.rules import Access
from baas.core.errors import Unauthorized
from baas.core.platform import Platform
from baas.core.tenancy.admins import AdminSession
from baas.core.tenancy.keys import ProjectKey

# Where the resolved caller is kept in the ASGI scope: a scope key, because
# ``request.state`` builds an object per request and costs more than the lookup it saves.
CALLER = "baas.caller"


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def bearer(header: str) -> str:
    """The value of an ``Authorization: Bearer <value>`` header."""
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise Unauthorized("the Authorization header must be 'Bearer <token>'",
                           code="invalid_authorization")
    return value


async def resolve(request: Request, guard: Guard) -> Caller:
    """Resolve the caller of ``request`` for ``guard`` (once) and keep it on the request."""
    headers = request.headers
    apikey = headers.get("apikey")
    header = headers.get("authorization")
    token = None
    # A user route without an apikey is refused for that before the Authorization header
    # is looked at, so a malformed one is only reported where it is the first problem.
    if header is not None and not (guard is Guard.user and apikey is None):
        token = bearer(header)
    caller = await platform_of(request).callers.resolve(
        guard, request.path_params.get("project"), apikey, token)
    request.scope[CALLER] = caller
    return caller


def caller_of(request: Request) -> Caller:
    """The caller ``resolve`` found for this request's guarded route."""
    caller: Caller = request.scope[CALLER]
    return caller


def access_of(request: Request) -> Access:
    return caller_of(request).access


def user_of(request: Request) -> SignedInUser:
    user = caller_of(request).user
    if user is None:  # a route reading the user must declare Guard.user
        raise RuntimeError("the route reads a signed-in user but does not declare Guard.user")
    return user


def admin_of(request: Request) -> AdminSession:
    admin = caller_of(request).admin
    if admin is None:
        raise RuntimeError("the route reads an admin but does not declare Guard.admin")
    return admin


def key_of(request: Request) -> ProjectKey:
    key = caller_of(request).key
    if key is None:
        raise RuntimeError("the route reads a project key but does not declare Guard.key")
    return key
