"""Platform administration (``/v1/admin``): login, projects, their API keys and signing
keys; and a project's users (``/v1/projects/{project}/users``) and collection definitions
(``/v1/projects/{project}/collections``, ``rules:check``), reached with an admin token.

The ``*_call`` functions are pure request builders; ``AdminClient`` and
``AsyncAdminClient`` only send them, so the two stay identical in behaviour.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ._collection_defs import (
    UNSET,
    CollectionDef,
    CollectionRules,
    IndexDef,
    Operation,
    RuleCheck,
    _Unset,
)
from ._core import Call, parse_model, parse_none, segment
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


def _set(**fields: Any) -> dict[str, Any]:
    """Only the fields given: ``None`` means "leave unchanged" (or "server default")."""
    return {k: v for k, v in fields.items() if v is not None}


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


def _collections(project: str, name: str | None = None) -> str:
    path = f"/v1/projects/{segment(project)}/collections"
    return path if name is None else f"{path}/{segment(name)}"


RulesInput = CollectionRules | Mapping[str, str | None]
IndexInput = IndexDef | Mapping[str, Any]
SchemaInput = Mapping[str, Any] | None


def _rules_body(rules: RulesInput) -> dict[str, str | None]:
    """Rules as sent: a ``None`` value is kept (it closes the operation)."""
    return rules.as_dict() if isinstance(rules, CollectionRules) else dict(rules)


def _indexes_body(indexes: Sequence[IndexInput]) -> list[dict[str, Any]]:
    return [ix.body() if isinstance(ix, IndexDef) else dict(ix) for ix in indexes]


def collection_changes(
    *, schema: SchemaInput | _Unset = UNSET, rules: RulesInput | None = None,
    indexes: Sequence[IndexInput] | None = None,
) -> dict[str, Any]:
    """The body of a collection update: only what is given. ``schema=None`` removes the
    schema; ``rules`` are merged key by key (a ``None`` value closes that operation);
    ``indexes`` is the complete list."""
    body: dict[str, Any] = {}
    if not isinstance(schema, _Unset):
        body["schema"] = None if schema is None else dict(schema)
    if rules is not None:
        body["rules"] = _rules_body(rules)
    if indexes is not None:
        body["indexes"] = _indexes_body(indexes)
    return body


def list_collections_call(
    project: str, cursor: str | None = None, *, limit: int | None = None
) -> Call[Page[CollectionDef]]:
    params: dict[str, str | int] = _set(cursor=cursor or None, limit=limit)
    return Call("GET", _collections(project), parse_model(Page[CollectionDef]),
                params=params or None)


def create_collection_call(
    project: str, name: str, *, schema: SchemaInput = None, rules: RulesInput | None = None,
    indexes: Sequence[IndexInput] | None = None,
) -> Call[CollectionDef]:
    body: dict[str, Any] = {"name": name}
    if schema is not None:
        body["schema"] = dict(schema)
    if rules is not None:
        body["rules"] = _rules_body(rules)
    if indexes is not None:
        body["indexes"] = _indexes_body(indexes)
    return Call("POST", _collections(project), parse_model(CollectionDef), json=body)


def get_collection_call(project: str, name: str) -> Call[CollectionDef]:
    return Call("GET", _collections(project, name), parse_model(CollectionDef))


def update_collection_call(project: str, name: str, changes: Mapping[str, Any]
                           ) -> Call[CollectionDef]:
    """``changes``: a body as built by ``collection_changes``, sent as it is."""
    return Call("PATCH", _collections(project, name), parse_model(CollectionDef),
                json=dict(changes))


def delete_collection_call(project: str, name: str) -> Call[None]:
    return Call("DELETE", _collections(project, name), parse_none)


def check_rules_call(
    project: str, collection: str, operation: Operation, *,
    auth: Mapping[str, Any] | None = None, id: str | None = None,
    document: Mapping[str, Any] | None = None, data: Mapping[str, Any] | None = None,
) -> Call[RuleCheck]:
    """``auth``: ``{"id", "email", "role"}`` of the caller, ``None`` for a caller with the
    publishable key only; ``id`` a stored document, or ``document`` one given inline;
    ``data`` the incoming document of a create or update."""
    body: dict[str, Any] = {"collection": collection, "operation": operation,
                            "auth": None if auth is None else dict(auth)}
    if id is not None:
        body["id"] = id
    if document is not None:
        body["document"] = dict(document)
    if data is not None:
        body["data"] = dict(data)
    return Call("POST", f"/v1/projects/{segment(project)}/rules:check",
                parse_model(RuleCheck), json=body)


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

    def signing_keys(self, project: str) -> builtins.list[SigningKey]:
        """The project's access-token signing keys: the current one and retired ones."""
        return self._client.send(list_signing_keys_call(project)).items

    def rotate_signing_key(self, project: str) -> SigningKeyRotation:
        """Make a new signing key current; the old one keeps verifying for a grace time."""
        return self._client.send(rotate_signing_key_call(project))


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


class Collections:
    """One project's collection definitions; reach it as
    ``client.admin.collections("myapp")`` (admin token or secret key)."""

    def __init__(self, client: Client, project: str) -> None:
        self._client = client
        self.project = project

    def page(self, cursor: str | None = None, *, limit: int | None = None
             ) -> Page[CollectionDef]:
        """One page, sorted by name; pass ``next_cursor`` on."""
        return self._client.send(list_collections_call(self.project, cursor, limit=limit))

    def list(self) -> list[CollectionDef]:
        """Every collection, sorted by name, following the pages."""
        return _collect(self._client,
                        lambda cursor: list_collections_call(self.project, cursor))

    def create(
        self, name: str, *, schema: SchemaInput = None, rules: RulesInput | None = None,
        indexes: Sequence[IndexInput] | None = None,
    ) -> CollectionDef:
        """Define a collection; rules not given are closed (secret key or admin only)."""
        return self._client.send(create_collection_call(
            self.project, name, schema=schema, rules=rules, indexes=indexes))

    def get(self, name: str) -> CollectionDef:
        return self._client.send(get_collection_call(self.project, name))

    def update(
        self, name: str, *, schema: SchemaInput | _Unset = UNSET,
        rules: RulesInput | None = None, indexes: Sequence[IndexInput] | None = None,
    ) -> CollectionDef:
        """Change what is given: ``schema`` replaces (``None`` removes it), ``rules`` merge
        key by key (a ``None`` value closes that operation), ``indexes`` is the full list
        (missing ones are dropped)."""
        return self._client.send(update_collection_call(self.project, name, collection_changes(
            schema=schema, rules=rules, indexes=indexes)))

    def delete(self, name: str) -> None:
        """Drop a collection and all its documents."""
        self._client.send(delete_collection_call(self.project, name))

    def check(
        self, collection: str, operation: Operation, *, auth: Mapping[str, Any] | None = None,
        id: str | None = None, document: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> RuleCheck:
        """Whether a caller (``auth``, ``None``: publishable key only) may do ``operation``,
        and which rule decided."""
        return self._client.send(check_rules_call(
            self.project, collection, operation, auth=auth, id=id, document=document,
            data=data))


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


class AsyncCollections:
    """One project's collection definitions; reach it as
    ``client.admin.collections("myapp")`` (admin token or secret key)."""

    def __init__(self, client: AsyncClient, project: str) -> None:
        self._client = client
        self.project = project

    async def page(self, cursor: str | None = None, *, limit: int | None = None
                   ) -> Page[CollectionDef]:
        """One page, sorted by name; pass ``next_cursor`` on."""
        return await self._client.send(
            list_collections_call(self.project, cursor, limit=limit))

    async def list(self) -> list[CollectionDef]:
        """Every collection, sorted by name, following the pages."""
        return await _acollect(self._client,
                               lambda cursor: list_collections_call(self.project, cursor))

    async def create(
        self, name: str, *, schema: SchemaInput = None, rules: RulesInput | None = None,
        indexes: Sequence[IndexInput] | None = None,
    ) -> CollectionDef:
        """Define a collection; rules not given are closed (secret key or admin only)."""
        return await self._client.send(create_collection_call(
            self.project, name, schema=schema, rules=rules, indexes=indexes))

    async def get(self, name: str) -> CollectionDef:
        return await self._client.send(get_collection_call(self.project, name))

    async def update(
        self, name: str, *, schema: SchemaInput | _Unset = UNSET,
        rules: RulesInput | None = None, indexes: Sequence[IndexInput] | None = None,
    ) -> CollectionDef:
        """Change what is given: ``schema`` replaces (``None`` removes it), ``rules`` merge
        key by key (a ``None`` value closes that operation), ``indexes`` is the full list
        (missing ones are dropped)."""
        return await self._client.send(update_collection_call(
            self.project, name, collection_changes(schema=schema, rules=rules,
                                                   indexes=indexes)))

    async def delete(self, name: str) -> None:
        """Drop a collection and all its documents."""
        await self._client.send(delete_collection_call(self.project, name))

    async def check(
        self, collection: str, operation: Operation, *, auth: Mapping[str, Any] | None = None,
        id: str | None = None, document: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> RuleCheck:
        """Whether a caller (``auth``, ``None``: publishable key only) may do ``operation``,
        and which rule decided."""
        return await self._client.send(check_rules_call(
            self.project, collection, operation, auth=auth, id=id, document=document,
            data=data))


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

