"""A collection's documents (``/v1/projects/{project}/collections/{name}/documents``):
``client.collection("posts")`` on a ``Client`` or an ``AsyncClient``.

The ``*_call`` functions are pure request builders parameterized by ``decode`` (how one
document's JSON becomes a ``Document`` or a bound pydantic model); ``Collection`` and
``AsyncCollection`` only send them, so the two behave the same.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx2

from ._core import BaseClient, Call, parse_json, parse_none, segment
from ._document_types import (
    BatchOp,
    BatchResult,
    Data,
    Decode,
    Document,
    DocumentPage,
    Versioned,
    batch_operation,
    encode,
    if_match_header,
)
from ._exceptions import BaasError, ResponseError

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

D = TypeVar("D")

Operation = BatchOp | Mapping[str, Any]
# ``sort="-created_at,title"`` or ``sort=["-created_at", "title"]``; the same for fields.
Names = str | Sequence[str]


def _documents(project: str, collection: str, id: str | None = None) -> str:
    path = f"/v1/projects/{segment(project)}/collections/{segment(collection)}/documents"
    return path if id is None else f"{path}/{segment(id)}"


def _joined(value: Names | None) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    return ",".join(value) or None


def _object(response: httpx2.Response) -> dict[str, Any]:
    body = parse_json(response)
    if not isinstance(body, dict):
        raise ResponseError(f"{response.request.url.path} answered {body!r:.200}, not an object")
    return body


Parse = Callable[[httpx2.Response], D]


def _parse_document(decode: Decode[D]) -> Parse[D]:
    def parse(response: httpx2.Response) -> D:
        return decode(_object(response))

    return parse


def _parse_page(decode: Decode[D]) -> Parse[DocumentPage[D]]:
    def parse(response: httpx2.Response) -> DocumentPage[D]:
        body = _object(response)
        items, cursor, total = body.get("items"), body.get("next_cursor"), body.get("total")
        if not isinstance(items, list) or not isinstance(cursor, str | None) or not (
            total is None or (isinstance(total, int) and not isinstance(total, bool))
        ):
            raise ResponseError(f"unexpected document list from {response.request.url.path}")
        return DocumentPage([decode(item) for item in items], cursor, total)

    return parse


def _parse_batch(decode: Decode[D]) -> Parse[list[BatchResult[D]]]:
    def parse(response: httpx2.Response) -> list[BatchResult[D]]:
        results = _object(response).get("results")
        if not isinstance(results, list):
            raise ResponseError(f"unexpected batch answer from {response.request.url.path}")
        parsed: list[BatchResult[D]] = []
        for item in results:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise ResponseError(f"unexpected batch result {item!r:.200}")
            document = item.get("document")
            parsed.append(BatchResult(item.get("op", ""), item["id"],
                                      None if document is None else decode(document)))
        return parsed

    return parse


# -- request builders ------------------------------------------------------------------


def create_call(project: str, collection: str, data: Data, decode: Decode[D], *,
                idempotency_key: str | None = None) -> Call[D]:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return Call("POST", _documents(project, collection), _parse_document(decode),
                json=encode(data), headers=headers)


def get_call(project: str, collection: str, id: str, decode: Decode[D], *,
             expand: Names | None = None) -> Call[D]:
    joined = _joined(expand)
    return Call("GET", _documents(project, collection, id), _parse_document(decode),
                params={"expand": joined} if joined else None)


def update_call(project: str, collection: str, id: str, patch: Data, decode: Decode[D], *,
                if_match: Versioned | None = None) -> Call[D]:
    return Call("PATCH", _documents(project, collection, id), _parse_document(decode),
                json=encode(patch, patch=True), headers=if_match_header(if_match))


def replace_call(project: str, collection: str, id: str, data: Data, decode: Decode[D], *,
                 if_match: Versioned | None = None) -> Call[D]:
    return Call("PUT", _documents(project, collection, id), _parse_document(decode),
                json=encode(data), headers=if_match_header(if_match))


def delete_call(project: str, collection: str, id: str, *,
                if_match: Versioned | None = None) -> Call[None]:
    return Call("DELETE", _documents(project, collection, id), parse_none,
                headers=if_match_header(if_match))


def list_call(project: str, collection: str, decode: Decode[D], *, filter: str | None = None,
              sort: Names | None = None, limit: int | None = None, cursor: str | None = None,
              offset: int | None = None, fields: Names | None = None,
              count: bool = False, expand: Names | None = None) -> Call[DocumentPage[D]]:
    if cursor is not None and offset is not None:
        raise BaasError("pass either cursor= or offset=, not both")
    given: dict[str, str | int | None] = {
        "filter": filter or None, "sort": _joined(sort), "limit": limit, "cursor": cursor,
        "offset": offset, "fields": _joined(fields), "count": "true" if count else None,
        "expand": _joined(expand),
    }
    params = {name: value for name, value in given.items() if value is not None}
    return Call("GET", _documents(project, collection), _parse_page(decode),
                params=params or None)


def batch_call(project: str, collection: str, operations: Sequence[Operation],
               decode: Decode[D]) -> Call[list[BatchResult[D]]]:
    body = {"operations": [batch_operation(operation) for operation in operations]}
    return Call("POST", f"{_documents(project, collection)}:batch", _parse_batch(decode),
                json=body)


# -- handles -----------------------------------------------------------------------------


class _CollectionBase(Generic[D]):
    _client: BaseClient

    def __init__(self, name: str, decode: Decode[D]) -> None:
        self.name = name
        self._decode = decode

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def _create(self, data: Data, idempotency_key: str | None) -> Call[D]:
        return create_call(self._client.require_project(), self.name, data, self._decode,
                           idempotency_key=idempotency_key)

    def _get(self, id: str, expand: Names | None = None) -> Call[D]:
        return get_call(self._client.require_project(), self.name, id, self._decode,
                        expand=expand)

    def _update(self, id: str, patch: Data, if_match: Versioned | None) -> Call[D]:
        return update_call(self._client.require_project(), self.name, id, patch,
                           self._decode, if_match=if_match)

    def _replace(self, id: str, data: Data, if_match: Versioned | None) -> Call[D]:
        return replace_call(self._client.require_project(), self.name, id, data,
                            self._decode, if_match=if_match)

    def _delete(self, id: str, if_match: Versioned | None) -> Call[None]:
        return delete_call(self._client.require_project(), self.name, id, if_match=if_match)

    def _list(self, **query: Any) -> Call[DocumentPage[D]]:
        return list_call(self._client.require_project(), self.name, self._decode, **query)

    def _count(self, filter: str | None) -> Call[DocumentPage[Document]]:
        # Plain documents whatever the binding: an id-only projection fits no model.
        return list_call(self._client.require_project(), self.name, Document, filter=filter,
                         limit=1, fields=["id"], count=True)

    def _batch(self, operations: Sequence[Operation]) -> Call[builtins.list[BatchResult[D]]]:
        return batch_call(self._client.require_project(), self.name, operations, self._decode)


def _total(page: DocumentPage[Any]) -> int:
    if page.total is None:
        raise ResponseError("the server did not answer count=true with a total")
    return page.total


class Collection(_CollectionBase[D]):
    """A collection's documents over a ``Client``: ``client.collection("posts")``.
    Items are ``Document``s, or instances of the model given as ``model=``."""

    _client: Client

    def __init__(self, client: Client, name: str, decode: Decode[D]) -> None:
        super().__init__(name, decode)
        self._client = client

    def create(self, data: Data, *, idempotency_key: str | None = None) -> D:
        """Store a new document. With ``idempotency_key``, sending the same body again
        returns the first answer instead of creating another document."""
        return self._client.send(self._create(data, idempotency_key))

    def get(self, id: str, *, expand: Names | None = None) -> D:
        """The document; ``expand=["list_id"]`` also brings what it references (see
        ``Document.expanded``)."""
        return self._client.send(self._get(id, expand))

    def update(self, id: str, patch: Data, *, if_match: Versioned | None = None) -> D:
        """Merge ``patch`` into the document (JSON merge patch: ``None`` removes a key,
        nested objects merge). ``if_match`` (a version or a document) makes it conditional:
        ``PreconditionFailed`` when the document has changed since."""
        return self._client.send(self._update(id, patch, if_match))

    def replace(self, id: str, data: Data, *, if_match: Versioned | None = None) -> D:
        """Replace all the user fields of the document."""
        return self._client.send(self._replace(id, data, if_match))

    def delete(self, id: str, *, if_match: Versioned | None = None) -> None:
        self._client.send(self._delete(id, if_match))

    def list(self, *, filter: str | None = None, sort: Names | None = None,
             limit: int | None = None, cursor: str | None = None, offset: int | None = None,
             fields: Names | None = None, count: bool = False,
             expand: Names | None = None) -> DocumentPage[D]:
        """One page; pass its ``next_cursor`` as ``cursor=`` for the next one."""
        return self._client.send(self._list(
            filter=filter, sort=sort, limit=limit, cursor=cursor, offset=offset,
            fields=fields, count=count, expand=expand))

    def iterate(self, *, filter: str | None = None, sort: Names | None = None,
                fields: Names | None = None, page_size: int | None = None,
                expand: Names | None = None) -> Iterator[D]:
        """Every matching document, fetching page after page as the loop goes on."""
        cursor: str | None = None
        while True:
            page = self.list(filter=filter, sort=sort, fields=fields, limit=page_size,
                             cursor=cursor, expand=expand)
            yield from page.items
            if not page.next_cursor or page.next_cursor == cursor:
                return
            cursor = page.next_cursor

    def __iter__(self) -> Iterator[D]:
        return self.iterate()

    def count(self, filter: str | None = None) -> int:
        """How many documents match (all of them without ``filter``)."""
        return _total(self._client.send(self._count(filter)))

    def batch(self, operations: Sequence[Operation]) -> builtins.list[BatchResult[D]]:
        """Apply 1 to 100 operations all or nothing. On failure nothing is applied and the
        error's ``details["index"]`` is the failing operation's position."""
        return self._client.send(self._batch(operations))


class AsyncCollection(_CollectionBase[D]):
    """A collection's documents over an ``AsyncClient``: the same API with ``await``,
    and ``async for doc in col.iterate(...)``."""

    _client: AsyncClient

    def __init__(self, client: AsyncClient, name: str, decode: Decode[D]) -> None:
        super().__init__(name, decode)
        self._client = client

    async def create(self, data: Data, *, idempotency_key: str | None = None) -> D:
        return await self._client.send(self._create(data, idempotency_key))

    async def get(self, id: str, *, expand: Names | None = None) -> D:
        return await self._client.send(self._get(id, expand))

    async def update(self, id: str, patch: Data, *, if_match: Versioned | None = None) -> D:
        return await self._client.send(self._update(id, patch, if_match))

    async def replace(self, id: str, data: Data, *, if_match: Versioned | None = None) -> D:
        return await self._client.send(self._replace(id, data, if_match))

    async def delete(self, id: str, *, if_match: Versioned | None = None) -> None:
        await self._client.send(self._delete(id, if_match))

    async def list(self, *, filter: str | None = None, sort: Names | None = None,
                   limit: int | None = None, cursor: str | None = None,
                   offset: int | None = None, fields: Names | None = None,
                   count: bool = False, expand: Names | None = None) -> DocumentPage[D]:
        return await self._client.send(self._list(
            filter=filter, sort=sort, limit=limit, cursor=cursor, offset=offset,
            fields=fields, count=count, expand=expand))

    async def iterate(self, *, filter: str | None = None, sort: Names | None = None,
                      fields: Names | None = None, page_size: int | None = None,
                      expand: Names | None = None) -> AsyncIterator[D]:
        """``async for doc in col.iterate(...)``: every matching document, page by page."""
        cursor: str | None = None
        while True:
            page = await self.list(filter=filter, sort=sort, fields=fields, limit=page_size,
                                   cursor=cursor, expand=expand)
            for item in page.items:
                yield item
            if not page.next_cursor or page.next_cursor == cursor:
                return
            cursor = page.next_cursor

    def __aiter__(self) -> AsyncIterator[D]:
        return self.iterate()

    async def count(self, filter: str | None = None) -> int:
        return _total(await self._client.send(self._count(filter)))

    async def batch(self, operations: Sequence[Operation]) -> builtins.list[BatchResult[D]]:
        return await self._client.send(self._batch(operations))
