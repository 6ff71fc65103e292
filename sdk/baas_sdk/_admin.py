"""Platform administration (``/v1/admin``): login, projects and their API keys.

The ``*_call`` functions are pure request builders; ``AdminClient`` and
``AsyncAdminClient`` only send them, so the two stay identical in behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ._core import Call, parse_model, parse_none, segment
from ._models import AdminToken, ApiKey, CreatedProject, KeyKind, Page, Project

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

T = TypeVar("T")

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


# Cursor-following lives here once per facade: a list call is a function of the cursor.
PageCall = Callable[[str | None], Call[Page[T]]]


def _collect(client: Client, make: PageCall[T]) -> list[T]:
    items: list[T] = []
    cursor: str | None = None
    while True:
        page = client.send(make(cursor))
        items.extend(page.items)
        if not page.next_cursor or page.next_cursor == cursor:
            return items
        cursor = page.next_cursor


async def _acollect(client: AsyncClient, make: PageCall[T]) -> list[T]:
    items: list[T] = []
    cursor: str | None = None
    while True:
        page = await client.send(make(cursor))
        items.extend(page.items)
        if not page.next_cursor or page.next_cursor == cursor:
            return items
        cursor = page.next_cursor


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


class AdminClient:
    """Platform administration over a ``Client``; reach it as ``client.admin``."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self.projects = Projects(client)
        self.keys = Keys(client)

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


class AsyncAdminClient:
    """Platform administration over an ``AsyncClient``; reach it as ``client.admin``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self.projects = AsyncProjects(client)
        self.keys = AsyncKeys(client)

    async def login(self, email: str, password: str) -> AdminToken:
        """Exchange admin credentials for a token, and use that token from now on."""
        token = await self._client.send(login_call(email, password))
        self._client.token = token.token
        return token

    async def logout(self) -> None:
        """Revoke the admin token on the server and stop using it."""
        await self._client.send(logout_call())
        self._client.token = None

