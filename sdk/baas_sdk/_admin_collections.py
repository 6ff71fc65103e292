"""A project's collection definitions (``/v1/projects/{project}/collections``) and its
rules check (``rules:check``), reached with an admin token or a secret key as
``client.admin.collections(project)``.

The ``*_call`` functions are pure request builders; ``Collections`` and
``AsyncCollections`` only send them, so the two stay identical in behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

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
from ._models import Page
from ._paging import _acollect, _collect, _set

if TYPE_CHECKING:
    from ._client import AsyncClient, Client


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


# -- sync ---------------------------------------------------------------------------


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


# -- async --------------------------------------------------------------------------


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
