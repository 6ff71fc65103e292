"""Caller resolution without a transport, on both engines: the credentials an HTTP request
or a WebSocket's first frame carries, resolved against each guard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from baas.core.callers import NOBODY, Guard
from baas.core.data.rules import Access
from baas.core.errors import ApiError
from baas.core.platform import Platform
from baas.settings import Settings
from tests.core.conftest import opened_platform

PASSWORD = "a long admin password"


@dataclass
class Credentials:
    admin: str
    secret: str
    publishable: str
    user: str
    user_id: str
    foreign_key: str


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    async with opened_platform(settings) as made:
        yield made


@pytest.fixture
async def creds(platform: Platform) -> Credentials:
    await platform.admins.create("root@example.com", PASSWORD)
    admin, _ = await platform.admins.login("root@example.com", PASSWORD)
    _, keys = await platform.create_project("demo", None)
    _, other = await platform.create_project("other", None)
    by_kind = {k["kind"]: k["secret"] for k in keys}
    signed_in = await platform.accounts.sign_up_anonymously("demo", None, ip="127.0.0.1",
                                                            user_agent=None)
    return Credentials(admin, by_kind["secret"], by_kind["publishable"],
                       signed_in["session"]["access_token"], signed_in["user"]["id"],
                       next(k["secret"] for k in other if k["kind"] == "publishable"))


async def refused(platform: Platform, guard: Guard, apikey: str | None, token: str | None,
                  project: str | None = "demo") -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        await platform.callers.resolve(guard, project, apikey, token)
    return caught.value.status, caught.value.code


async def test_each_kind_of_caller_on_a_data_route(platform: Platform,
                                                   creds: Credentials) -> None:
    resolve = platform.callers.resolve
    admin = await resolve(Guard.access, "demo", None, creds.admin)
    assert admin.kind == "admin" and admin.admin is not None and admin.key is None
    assert admin.access.trusted and admin.access.identity == "trusted"
    secret = await resolve(Guard.access, "demo", creds.secret, None)
    assert secret.kind == "secret" and secret.access.trusted
    assert secret.key is not None and secret.access.key_id == secret.key.id
    # A secret key sent as the bearer works too.
    assert (await resolve(Guard.access, "demo", None, creds.secret)).kind == "secret"
    publishable = await resolve(Guard.access, "demo", creds.publishable, None)
    assert publishable.kind == "publishable" and not publishable.access.trusted
    assert publishable.access.user_id is None and publishable.user is None
    user = await resolve(Guard.access, "demo", creds.publishable, creds.user)
    assert user.kind == "user" and user.user is not None and user.key is not None
    assert user.access == Access(
        trusted=False, user_id=creds.user_id, role="anonymous", key_id=user.key.id)
    assert user.access.identity == f"user:{creds.user_id}"


async def test_a_websocket_first_frame_resolves_like_headers(platform: Platform,
                                                             creds: Credentials) -> None:
    """What the realtime route does with ``{"apikey": ..., "token": ...}``."""
    frame = {"apikey": creds.publishable, "token": creds.user}
    caller = await platform.callers.resolve(Guard.access, "demo", frame.get("apikey"),
                                            frame.get("token"))
    assert caller.kind == "user" and caller.project == "demo"
    assert caller.access.user_id == creds.user_id
    assert await refused(platform, Guard.access, None, None) == (401, "missing_api_key")
    # A token without a key can only be an admin's, and a user's is not one.
    assert await refused(platform, Guard.access, None, creds.user) == (401, "invalid_token")
    assert await refused(platform, Guard.access, creds.publishable, "garbage") == (
        401, "invalid_token")


async def test_refusals_per_guard(platform: Platform, creds: Credentials) -> None:
    assert await refused(platform, Guard.admin, creds.secret, None, None) == (
        403, "admin_token_required")
    assert await refused(platform, Guard.admin, None, creds.publishable, None) == (
        403, "admin_token_required")
    assert await refused(platform, Guard.admin, None, None, None) == (
        401, "missing_credentials")
    assert await refused(platform, Guard.admin, None, "adm_not_a_token", None) == (
        401, "invalid_token")
    assert await refused(platform, Guard.key, None, creds.admin) == (401, "missing_api_key")
    assert await refused(platform, Guard.key, creds.foreign_key, None) == (401, "invalid_key")
    assert await refused(platform, Guard.user, creds.publishable, None) == (
        401, "missing_credentials")
    assert await refused(platform, Guard.user, None, creds.user) == (401, "missing_api_key")
    assert await refused(platform, Guard.manager, creds.publishable, creds.user) == (
        403, "secret_key_required")
    # A key of another project is refused before the project is looked up.
    assert await refused(platform, Guard.manager, creds.secret, None, "nowhere") == (
        401, "invalid_key")
    # An admin reaches only projects that exist.
    assert await refused(platform, Guard.manager, None, creds.admin, "nowhere") == (
        404, "project_not_found")


async def test_data_routes_trust_the_token_account_routes_check_the_user(
        platform: Platform, creds: Credentials) -> None:
    resolve = platform.callers.resolve
    assert (await resolve(Guard.user, "demo", creds.publishable, creds.user)).user is not None
    await platform.accounts.update_user("demo", creds.user_id, {"disabled": True})
    # Until it expires the token is trusted on data routes (no user read per request)...
    user = await resolve(Guard.access, "demo", creds.publishable, creds.user)
    assert user.access.user_id == creds.user_id
    # ...while account routes read the session and the user now.
    assert await refused(platform, Guard.user, creds.publishable, creds.user) == (
        401, "invalid_token")


async def test_routes_without_a_guard_resolve_nobody_and_project_guards_need_a_project(
        platform: Platform, creds: Credentials) -> None:
    caller = await platform.callers.resolve(Guard.none, None, "pk_garbage", "garbage")
    assert caller is NOBODY and caller.kind == "nobody" and not caller.access.trusted
    admin = await platform.callers.resolve(Guard.admin, "anything", None, creds.admin)
    assert admin.kind == "admin" and admin.project is None  # admin routes name no project
    for guard in (Guard.key, Guard.user, Guard.manager, Guard.access):
        with pytest.raises(ValueError, match="needs the project"):
            await platform.callers.resolve(guard, None, creds.secret, None)
