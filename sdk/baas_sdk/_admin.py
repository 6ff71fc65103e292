"""Platform administration (``/v1/admin``): login, projects, their API keys and signing
keys; and a project's users (``/v1/projects/{project}/users``) and collection definitions
(``/v1/projects/{project}/collections``, ``rules:check``, in ``_admin_collections``),
reached with an admin token.

The ``*_call`` functions are pure request builders; ``AdminClient`` and
``AsyncAdminClient`` only send them, so the two stay identical in behaviour.
"""
from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from ._admin_collections import AsyncCollections, Collections
from ._core import Call, parse_model, parse_none, segment
from ._limits import (
    KeyLimits,
    LimitValue,
    ProjectLimits,
    key_limits_call,
    project_limits_call,
    set_key_limits_call,
    set_project_limits_call,
)
from ._models import (
    AdminToken,
    ApiKey,
    CreatedProject,
    KeyKind,
    Page,
    Project,
    SigningKey,
    SigningKeyRotation,
    User,
)
from ._paging import _acollect, _collect, _set

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

ADMIN = "/v1/admin"


def _page_params(cursor: str | None) -> dict[str, str | int] | None:
    return {"cursor": cursor} if cursor else None


def login_call(email: str, password: str) -> Call[AdminToken]:
    return Call(
        "POST", f"{ADMIN}/login", parse_model(AdminToken),
        json={"email": email, "password": password},
    )


def logout_call() -> Call[None]:
    return Call("POST", f"{ADMIN}/logout", parse_none)


def list_projects_call(cursor: str | None = None) -> Call[Page[Project]]:
    return Call(
        "GET", f"{ADMIN}/projects", parse_model(Page[Project]), params=_page_params(cursor)
    )


def create_project_call(id: str, name: str | None = None) -> Call[CreatedProject]:
    return Call(
        "POST", f"{ADMIN}/projects", parse_model(CreatedProject), json={"id": id, "name": name}
    )


def get_project_call(id: str) -> Call[Project]:
    return Call("GET", f"{ADMIN}/projects/{segment(id)}", parse_model(Project))


def update_project_call(id: str, *, name: str) -> Call[Project]:
    return Call(
        "PATCH", f"{ADMIN}/projects/{segment(id)}", parse_model(Project), json={"name": name}
    )


def delete_project_call(id: str) -> Call[None]:
    return Call("DELETE", f"{ADMIN}/projects/{segment(id)}", parse_none)


def list_keys_call(project: str, cursor: str | None = None) -> Call[Page[ApiKey]]:
    return Call(
        "GET", f"{ADMIN}/projects/{segment(project)}/keys", parse_model(Page[ApiKey]),
        params=_page_params(cursor),
    )


def create_key_call(
    project: str, kind: KeyKind, name: str | None = None, expires_at: str | None = None
) -> Call[ApiKey]:
    return Call(
        "POST", f"{ADMIN}/projects/{segment(project)}/keys", parse_model(ApiKey),
        json={"kind": kind, "name": name, "expires_at": expires_at},
    )


def revoke_key_call(project: str, key_id: str) -> Call[ApiKey]:
    return Call(
        "DELETE", f"{ADMIN}/projects/{segment(project)}/keys/{segment(key_id)}",
        parse_model(ApiKey),
    )


def list_signing_keys_call(project: str) -> Call[Page[SigningKey]]:
    return Call(
        "GET", f"{ADMIN}/projects/{segment(project)}/signing-keys", parse_model(Page[SigningKey])
    )


def rotate_signing_key_call(project: str) -> Call[SigningKeyRotation]:
    return Call(
        "POST", f"{ADMIN}/projects/{segment(project)}/signing-keys:rotate",
        parse_model(SigningKeyRotation),
    )


def _users(project: str, user_id: str | None = None) -> str:
    path = f"/v1/projects/{segment(project)}/users"
    return path if user_id is None else f"{path}/{segment(user_id)}"


def list_users_call(
    project: str,
    cursor: str | None = None,
    *,
    limit: int | None = None,
    email: str | None = None,
    disabled: bool | None = None,
    anonymous: bool | None = None,
) -> Call[Page[User]]:
    params: dict[str, str | int] = _set(cursor=cursor or None, limit=limit, email=email or None)
    for name, flag in (("disabled", disabled), ("anonymous", anonymous)):
        if flag is not None:
            params[name] = "true" if flag else "false"
    return Call("GET", _users(project), parse_model(Page[User]), params=params or None)


def create_user_call(project: str, fields: dict[str, Any]) -> Call[User]:
    """``fields``: email, password?, data?, email_verified?, disabled? (``None`` = omit)."""
    return Call("POST", _users(project), parse_model(User), json=_set(**fields))


def get_user_call(project: str, user_id: str) -> Call[User]:
    return Call("GET", _users(project, user_id), parse_model(User))


def update_user_call(project: str, user_id: str, fields: dict[str, Any]) -> Call[User]:
    """Only the fields given (not ``None``) change."""
    return Call("PATCH", _users(project, user_id), parse_model(User), json=_set(**fields))


def delete_user_call(project: str, user_id: str) -> Call[None]:
    return Call("DELETE", _users(project, user_id), parse_none)


# -- sync ---------------------------------------------------------------------------


class Projects:
    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self) -> list[Project]:
        return _collect(self._client, list_projects_call)

    def create(self, id: str, name: str | None = None) -> CreatedProject:
        return self._client.send(create_project_call(id, name))

    def get(self, id: str) -> Project:
        return self._client.send(get_project_call(id))

    def update(self, id: str, *, name: str) -> Project:
        return self._client.send(update_project_call(id, name=name))

    def delete(self, id: str) -> None:
        self._client.send(delete_project_call(id))

    def signing_keys(self, project: str) -> builtins.list[SigningKey]:
        """The project's access-token signing keys: the current one and retired ones."""
        return self._client.send(list_signing_keys_call(project)).items

    def rotate_signing_key(self, project: str) -> SigningKeyRotation:
        """Make a new signing key current; the old one keeps verifying for a grace time."""
        return self._client.send(rotate_signing_key_call(project))

    def limits(self, project: str) -> ProjectLimits:
        """The request rates and daily quota the project's keys have by default."""
        return self._client.send(project_limits_call(project))

    def set_limits(self, project: str, **changes: LimitValue) -> ProjectLimits:
        """Set limits (``key_rate=50``), or return them to the server's default (None)."""
        return self._client.send(set_project_limits_call(project, changes))


class Keys:
    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self, project: str) -> list[ApiKey]:
        return _collect(self._client, lambda cursor: list_keys_call(project, cursor))

    def create(
        self,
        project: str,
        kind: KeyKind,
        name: str | None = None,
        expires_at: str | None = None,
    ) -> ApiKey:
        return self._client.send(create_key_call(project, kind, name, expires_at))

    def revoke(self, project: str, key_id: str) -> ApiKey:
        return self._client.send(revoke_key_call(project, key_id))

    def limits(self, project: str, key_id: str) -> KeyLimits:
        """The key's request rates, daily quota, and its requests today."""
        return self._client.send(key_limits_call(project, key_id))

    def set_limits(self, project: str, key_id: str, **changes: LimitValue) -> KeyLimits:
        """Set the key's limits, or return them to the project's (None)."""
        return self._client.send(set_key_limits_call(project, key_id, changes))


class Users:
    """One project's users; reach it as ``client.admin.users("myapp")``."""

    def __init__(self, client: Client, project: str) -> None:
        self._client = client
        self.project = project

    def page(
        self, cursor: str | None = None, *, limit: int | None = None, email: str | None = None,
        disabled: bool | None = None, anonymous: bool | None = None,
    ) -> Page[User]:
        """One page, oldest first (``email`` is a prefix); pass ``next_cursor`` on."""
        return self._client.send(list_users_call(
            self.project, cursor, limit=limit, email=email, disabled=disabled,
            anonymous=anonymous))

    def list(
        self, *, email: str | None = None, disabled: bool | None = None,
        anonymous: bool | None = None,
    ) -> list[User]:
        """Every matching user, oldest first, following the pages."""
        return _collect(self._client, lambda cursor: list_users_call(
            self.project, cursor, email=email, disabled=disabled, anonymous=anonymous))

    def create(
        self, email: str, password: str | None = None, *, data: dict[str, Any] | None = None,
        email_verified: bool | None = None, disabled: bool | None = None,
    ) -> User:
        return self._client.send(create_user_call(self.project, dict(
            email=email, password=password, data=data, email_verified=email_verified,
            disabled=disabled)))

    def get(self, user_id: str) -> User:
        return self._client.send(get_user_call(self.project, user_id))

    def update(
        self, user_id: str, *, email: str | None = None, password: str | None = None,
        data: dict[str, Any] | None = None, email_verified: bool | None = None,
        disabled: bool | None = None,
    ) -> User:
        """Change the given fields only; disabling ends all the user's sessions."""
        return self._client.send(update_user_call(self.project, user_id, dict(
            email=email, password=password, data=data, email_verified=email_verified,
            disabled=disabled)))

    def delete(self, user_id: str) -> None:
        self._client.send(delete_user_call(self.project, user_id))


class AdminClient:
    """Platform administration over a ``Client``; reach it as ``client.admin``."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self.projects = Projects(client)
        self.keys = Keys(client)

    def users(self, project: str) -> Users:
        """The users of one project (an admin token may manage any project's users)."""
        return Users(self._client, project)

    def collections(self, project: str) -> Collections:
        """The collection definitions of one project, and its rules check."""
        return Collections(self._client, project)

    def login(self, email: str, password: str) -> AdminToken:
        """Exchange admin credentials for a token, and use that token from now on."""
        token = self._client.send(login_call(email, password))
        self._client.token = token.token
        return token

    def logout(self) -> None:
        """Revoke the admin token on the server and stop using it."""
        self._client.send(logout_call())
        self._client.token = None


# -- async --------------------------------------------------------------------------


class AsyncProjects:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self) -> list[Project]:
        return await _acollect(self._client, list_projects_call)

    async def create(self, id: str, name: str | None = None) -> CreatedProject:
        return await self._client.send(create_project_call(id, name))

    async def get(self, id: str) -> Project:
        return await self._client.send(get_project_call(id))

    async def update(self, id: str, *, name: str) -> Project:
        return await self._client.send(update_project_call(id, name=name))

    async def delete(self, id: str) -> None:
        await self._client.send(delete_project_call(id))

    async def signing_keys(self, project: str) -> builtins.list[SigningKey]:
        """The project's access-token signing keys: the current one and retired ones."""
        return (await self._client.send(list_signing_keys_call(project))).items

    async def rotate_signing_key(self, project: str) -> SigningKeyRotation:
        """Make a new signing key current; the old one keeps verifying for a grace time."""
        return await self._client.send(rotate_signing_key_call(project))

    async def limits(self, project: str) -> ProjectLimits:
        """The request rates and daily quota the project's keys have by default."""
        return await self._client.send(project_limits_call(project))

    async def set_limits(self, project: str, **changes: LimitValue) -> ProjectLimits:
        """Set limits (``key_rate=50``), or return them to the server's default (None)."""
        return await self._client.send(set_project_limits_call(project, changes))


class AsyncKeys:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self, project: str) -> list[ApiKey]:
        return await _acollect(self._client, lambda cursor: list_keys_call(project, cursor))

    async def create(
        self,
        project: str,
        kind: KeyKind,
        name: str | None = None,
        expires_at: str | None = None,
    ) -> ApiKey:
        return await self._client.send(create_key_call(project, kind, name, expires_at))

    async def revoke(self, project: str, key_id: str) -> ApiKey:
        return await self._client.send(revoke_key_call(project, key_id))

    async def limits(self, project: str, key_id: str) -> KeyLimits:
        """The key's request rates, daily quota, and its requests today."""
        return await self._client.send(key_limits_call(project, key_id))

    async def set_limits(self, project: str, key_id: str, **changes: LimitValue) -> KeyLimits:
        """Set the key's limits, or return them to the project's (None)."""
        return await self._client.send(set_key_limits_call(project, key_id, changes))


class AsyncUsers:
    """One project's users; reach it as ``client.admin.users("myapp")``."""

    def __init__(self, client: AsyncClient, project: str) -> None:
        self._client = client
        self.project = project

    async def page(
        self, cursor: str | None = None, *, limit: int | None = None, email: str | None = None,
        disabled: bool | None = None, anonymous: bool | None = None,
    ) -> Page[User]:
        """One page, oldest first (``email`` is a prefix); pass ``next_cursor`` on."""
        return await self._client.send(list_users_call(
            self.project, cursor, limit=limit, email=email, disabled=disabled,
            anonymous=anonymous))

    async def list(
        self, *, email: str | None = None, disabled: bool | None = None,
        anonymous: bool | None = None,
    ) -> list[User]:
        """Every matching user, oldest first, following the pages."""
        return await _acollect(self._client, lambda cursor: list_users_call(
            self.project, cursor, email=email, disabled=disabled, anonymous=anonymous))

    async def create(
        self, email: str, password: str | None = None, *, data: dict[str, Any] | None = None,
        email_verified: bool | None = None, disabled: bool | None = None,
    ) -> User:
        return await self._client.send(create_user_call(self.project, dict(
            email=email, password=password, data=data, email_verified=email_verified,
            disabled=disabled)))

    async def get(self, user_id: str) -> User:
        return await self._client.send(get_user_call(self.project, user_id))

    async def update(
        self, user_id: str, *, email: str | None = None, password: str | None = None,
        data: dict[str, Any] | None = None, email_verified: bool | None = None,
        disabled: bool | None = None,
    ) -> User:
        """Change the given fields only; disabling ends all the user's sessions."""
        return await self._client.send(update_user_call(self.project, user_id, dict(
            email=email, password=password, data=data, email_verified=email_verified,
            disabled=disabled)))

    async def delete(self, user_id: str) -> None:
        await self._client.send(delete_user_call(self.project, user_id))


class AsyncAdminClient:
    """Platform administration over an ``AsyncClient``; reach it as ``client.admin``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self.projects = AsyncProjects(client)
        self.keys = AsyncKeys(client)

    def users(self, project: str) -> AsyncUsers:
        """The users of one project (an admin token may manage any project's users)."""
        return AsyncUsers(self._client, project)

    def collections(self, project: str) -> AsyncCollections:
        """The collection definitions of one project, and its rules check."""
        return AsyncCollections(self._client, project)

    async def login(self, email: str, password: str) -> AdminToken:
        """Exchange admin credentials for a token, and use that token from now on."""
        token = await self._client.send(login_call(email, password))
        self._client.token = token.token
        return token

    async def logout(self) -> None:
        """Revoke the admin token on the server and stop using it."""
        await self._client.send(logout_call())
        self._client.token = None

