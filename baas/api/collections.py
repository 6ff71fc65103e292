"""Collection definitions (secret key or admin) and the rules explainer."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from baas.api.auth import platform_of
from baas.api.http import no_content, ok, parse_body, parse_object
from baas.api.routing import Registry
from baas.api.schemas import collections as s
from baas.core.callers import Guard
from baas.core.data.rules import Access
from baas.core.errors import BadRequest

route = Registry("collections")
P = "/v1/projects/{project}/collections"
ONE = P + "/{name}"


@route("GET", P, "List the project's collections (secret key or admin)", guard=Guard.manager,
       response=s.CollectionList, errors=(401, 403, 404))
async def list_collections(request: Request) -> Response:
    project = request.path_params["project"]
    items = await platform_of(request).collections.list(project)
    return ok({"items": items, "next_cursor": None})


@route("POST", P, "Define a collection: name, schema, rules, indexes (secret key or admin)",
       guard=Guard.manager, body=s.CollectionCreate, response=s.Collection, status=201,
       errors=(400, 401, 403, 409, 422))
async def create_collection(request: Request) -> Response:
    project = request.path_params["project"]
    body = await parse_object(request)
    return ok(await platform_of(request).collections.create(project, body), status=201)


@route("GET", ONE, "Read a collection's definition (secret key or admin)", guard=Guard.manager,
       response=s.Collection, errors=(401, 403, 404))
async def get_collection(request: Request) -> Response:
    project, name = request.path_params["project"], request.path_params["name"]
    collections = platform_of(request).collections
    return ok(await collections.describe(project, await collections.get(project, name)))


@route("PATCH", ONE, "Change a collection's schema, rules (merged per operation) or indexes "
       "(secret key or admin)", guard=Guard.manager, body=s.CollectionUpdate, response=s.Collection,
       errors=(400, 401, 403, 404, 409))
async def update_collection(request: Request) -> Response:
    project, name = request.path_params["project"], request.path_params["name"]
    body = await parse_object(request)
    return ok(await platform_of(request).collections.update(project, name, body))


@route("DELETE", ONE, "Drop a collection and all its documents (secret key or admin)",
       guard=Guard.manager, status=204, errors=(401, 403, 404))
async def delete_collection(request: Request) -> Response:
    project, name = request.path_params["project"], request.path_params["name"]
    await platform_of(request).collections.delete(project, name)
    return no_content()


@route("POST", "/v1/projects/{project}/rules:check", "Explain whether a caller may do an "
       "operation on a document, and which rule decided (secret key or admin)", guard=Guard.manager,
       body=s.RuleCheck, response=s.RuleDecision, errors=(400, 401, 403, 404, 422))
async def check_rule(request: Request) -> Response:
    project = request.path_params["project"]
    body = await parse_body(request, s.RuleCheck)
    platform = platform_of(request)
    access = Access(trusted=False)
    if body.auth is not None:
        user_id = body.auth.get("id")
        role = body.auth.get("role", "authenticated")
        email = body.auth.get("email")
        if not isinstance(user_id, str) or role not in ("authenticated", "anonymous") or (
                email is not None and not isinstance(email, str)):
            raise BadRequest('auth is {"id": "<user id>", "email"?: "...", "role"?: '
                             '"authenticated" | "anonymous"}, or null',
                             code="invalid_rule_check", details={"field": "auth"})
        access = Access(trusted=False, user_id=user_id, role=role, email=email)
    decision = await platform.documents.explain(
        project, body.collection, body.operation, access, doc_id=body.id,
        document=body.document, data=body.data)
    return ok(decision.as_json())
