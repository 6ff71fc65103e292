"""Documents of a collection: CRUD, lists with filters and paging, batches.

Callers: a publishable key (rules apply), plus a user access token when someone
signed in; a secret key or an admin token bypasses the rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from baas.api import ratelimits
from baas.api.auth import access_of, platform_of
from baas.api.http import (
    JSONResponse,
    is_number,
    no_content,
    ok,
    page_params,
    parse_json,
    parse_object,
)
from baas.api.params import (
    CURSOR,
    EXPAND,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    LIMIT,
    OFFSET,
    Param,
    flag,
)
from baas.api.routing import Registry
from baas.api.schemas import collections as s
from baas.core.callers import Guard
from baas.core.data.batch import MAX_OPERATIONS, run_batch
from baas.core.data.documents import ListQuery, parse_if_match
from baas.core.data.expand import Expansion
from baas.core.data.idempotency import Claim
from baas.core.data.rules import Access
from baas.core.errors import BadRequest

route = Registry("documents")
P = "/v1/projects/{project}/collections/{name}/documents"
ONE = P + "/{id}"
LIST_QUERY: dict[str, str | Param] = {
    "filter": 'an expression of the filter language, e.g. status = "published" && '
              'tags has "featured"',
    "sort": "fields, '-' for descending, e.g. -created_at,title (default: id, which is "
            "creation order)",
    "limit": LIMIT,
    "cursor": CURSOR,
    "offset": OFFSET,
    "fields": "comma-separated fields to return (id is always returned); with expand, "
              "list_id.name picks fields of the expanded list_id",
    "count": flag("true adds the total number of matches"),
    "expand": EXPAND,
}
CREATE_HEADERS: dict[str, str | Param] = {"Idempotency-Key": IDEMPOTENCY_KEY}
UPDATE_HEADERS: dict[str, str | Param] = {"If-Match": IF_MATCH}
WRITE_ERRORS = (400, 401, 403, 404, 409, 412, 413, 415, 422)


def _where(request: Request) -> tuple[str, str]:
    return request.path_params["project"], request.path_params["name"]


def _document(document: dict[str, Any], status: int = 200) -> Response:
    return JSONResponse(document, status_code=status,
                        headers={"ETag": f'"{document["version"]}"'})


@route("GET", P, "List documents the caller may read: filter, sort, paging, projection",
       guard=Guard.access, response=s.DocumentList, query=LIST_QUERY,
       errors=(400, 401, 403, 404, 503))
async def list_documents(request: Request) -> Response:
    project, name = _where(request)
    access = access_of(request)
    limit, cursor = page_params(request)
    params = request.query_params
    offset = params.get("offset")
    if offset is not None and not is_number(offset):
        raise BadRequest("offset must be a whole number", code="invalid_offset")
    count = params.get("count", "false")
    if count not in ("true", "false"):
        raise BadRequest("count must be true or false", code="invalid_query")
    fields = params.get("fields")
    expansion = await _expansion(request, project, name, access, fields)
    if expansion is not None:
        fields = expansion.document_fields_text
    query = ListQuery(filter=params.get("filter"), sort=params.get("sort"), limit=limit,
                      cursor=cursor, offset=int(offset) if offset is not None else None,
                      fields=fields, count=count == "true")
    page = await platform_of(request).documents.list(project, name, access, query)
    if expansion is not None:
        page["items"] = await expansion.apply(page["items"])
    return ok(page)


async def _expansion(request: Request, project: str, name: str, access: Access,
                     fields: str | None = None) -> Expansion | None:
    """The request's ``expand``, checked against the schemas; None without one."""
    text = request.query_params.get("expand")
    if text is None or not text.strip():
        return None
    return await Expansion.prepare(platform_of(request).documents, project, name, access,
                                   text, fields)


@route("POST", P, "Create a document (Idempotency-Key replays the first answer)",
       guard=Guard.access, body=s.DocumentFields, response=s.Document, status=201,
       errors=WRITE_ERRORS, query=CREATE_HEADERS)
async def create_document(request: Request) -> Response:
    project, name = _where(request)
    access = access_of(request)
    body = await parse_object(request, what="a JSON object of fields",
                              code="invalid_document")
    platform = platform_of(request)

    async def create(claim: Claim | None) -> tuple[int, dict[str, Any]]:
        complete = None if claim is None else claim.completion(201)
        return 201, await platform.documents.create(project, name, access, body,
                                                    complete=complete)

    status, document = await _once(request, project, access, f"POST {name}/documents", body,
                                   create)
    return _document(document, status)


async def _once(request: Request, project: str, access: Access, route_name: str, body: Any,
                action: Callable[[Claim | None], Awaitable[tuple[int, dict[str, Any]]]]
                ) -> tuple[int, dict[str, Any]]:
    """Run ``action``, or replay its first answer when an Idempotency-Key repeats; the
    key's claim is bound into the action's own write."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return await action(None)
    if not access.trusted and access.user_id is None:
        # Every anonymous caller of a key would share one scope, and could replay
        # each other's answers.
        raise BadRequest("Idempotency-Key needs a signed-in user or a secret key",
                         code="invalid_idempotency_key")
    return await platform_of(request).idempotency.run(
        project, f"{route_name} {access.identity}", key, body, action)


@route("GET", ONE, "Read a document (404 also when the rules hide it)", guard=Guard.access,
       response=s.Document, errors=(400, 401, 403, 404, 503), query={"expand": EXPAND})
async def get_document(request: Request) -> Response:
    project, name = _where(request)
    access = access_of(request)
    expansion = await _expansion(request, project, name, access)
    document = await platform_of(request).documents.get(project, name, access,
                                                        request.path_params["id"])
    if expansion is not None:
        document = (await expansion.apply([document]))[0]
    return _document(document)


async def _write(request: Request, *, replace: bool) -> Response:
    project, name = _where(request)
    access = access_of(request)
    if_match = parse_if_match(request.headers.get("if-match"))
    body = await parse_object(request, what="a JSON object of fields",
                              code="invalid_document")
    return _document(await platform_of(request).documents.update(
        project, name, access, request.path_params["id"], body, replace=replace,
        if_match=if_match))


@route("PATCH", ONE, "Merge-update a document (JSON merge patch; If-Match: <version>)",
       guard=Guard.access, body=s.DocumentPatch, response=s.Document, errors=WRITE_ERRORS,
       query=UPDATE_HEADERS)
async def update_document(request: Request) -> Response:
    return await _write(request, replace=False)


@route("PUT", ONE, "Replace a document's fields (If-Match: <version>)", guard=Guard.access,
       body=s.DocumentFields, response=s.Document, errors=WRITE_ERRORS, query=UPDATE_HEADERS)
async def replace_document(request: Request) -> Response:
    return await _write(request, replace=True)


@route("DELETE", ONE, "Delete a document (If-Match: <version>)", guard=Guard.access, status=204,
       errors=(400, 401, 403, 404, 409, 412), query=UPDATE_HEADERS)
async def delete_document(request: Request) -> Response:
    project, name = _where(request)
    access = access_of(request)
    if_match = parse_if_match(request.headers.get("if-match"))
    await platform_of(request).documents.delete(project, name, access,
                                                request.path_params["id"], if_match=if_match)
    return no_content()


@route("POST", P + ":batch", "Up to 100 creates, updates, replaces and deletes, all or "
       "nothing", guard=Guard.access, body=s.Batch, response=s.BatchResults, errors=WRITE_ERRORS,
       query=CREATE_HEADERS)
async def batch_documents(request: Request) -> Response:
    project, name = _where(request)
    access = access_of(request)
    body = await parse_json(request)
    if not isinstance(body, dict) or set(body) != {"operations"}:
        raise BadRequest('the body is {"operations": [...]}', code="invalid_batch")
    if isinstance(body["operations"], list):  # each operation counts as a request
        await ratelimits.spend_more(request, min(len(body["operations"]), MAX_OPERATIONS) - 1)

    async def batch(claim: Claim | None) -> tuple[int, dict[str, Any]]:
        return 200, await run_batch(platform_of(request).documents, project, name, access,
                                    body["operations"],
                                    complete=None if claim is None else claim.completion(200))

    status, results = await _once(request, project, access, f"POST {name}/documents:batch",
                                  body, batch)
    return ok(results, status)
