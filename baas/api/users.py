"""User management with a secret key or an admin token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from baas.api.auth import platform_of
from baas.api.http import no_content, ok, page_params, parse_body
from baas.api.params import PAGE, Param, flag
from baas.api.routing import Registry
from baas.api.schemas import auth as s
from baas.core.callers import Guard
from baas.core.errors import BadRequest

route = Registry("users")
P = "/v1/projects/{project}/users"
LIST_QUERY: dict[str, str | Param] = {
    **PAGE,
    "email": Param("only emails starting with this text", {"type": "string", "maxLength": 320}),
    "disabled": flag("only disabled (true) or enabled (false) users"),
    "anonymous": flag("only guest (true) or registered (false) users"),
}


def _flag(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false", code="invalid_query",
                         details={"field": name})
    return raw == "true"


@route("GET", P, "List or search users (secret key or admin)", guard=Guard.manager,
       response=s.UserList, query=LIST_QUERY, errors=(400, 401, 403))
async def list_users(request: Request) -> Response:
    project = request.path_params["project"]
    limit, cursor = page_params(request)
    email = request.query_params.get("email")
    if email is not None and len(email) > 320:
        raise BadRequest("email filter is too long", code="invalid_query")
    items, next_cursor = await platform_of(request).accounts.list_users(
        project, limit=limit, cursor=cursor, email_prefix=email,
        disabled=_flag(request, "disabled"), anonymous=_flag(request, "anonymous"))
    return ok({"items": items, "next_cursor": next_cursor})


@route("POST", P, "Create a user (secret key or admin)", guard=Guard.manager, body=s.UserCreate,
       response=s.User, status=201, errors=(400, 401, 403, 409, 422))
async def create_user(request: Request) -> Response:
    project = request.path_params["project"]
    body = await parse_body(request, s.UserCreate)
    user = await platform_of(request).accounts.create_user(
        project, email=body.email, password=body.password, data=body.data,
        email_verified=body.email_verified, disabled=body.disabled)
    return ok(user, status=201)


@route("GET", P + "/{user_id}", "Read a user (secret key or admin)", guard=Guard.manager,
       response=s.User, errors=(401, 403, 404))
async def get_user(request: Request) -> Response:
    project = request.path_params["project"]
    return ok(await platform_of(request).accounts.get_user(project,
                                                           request.path_params["user_id"]))


@route("PATCH", P + "/{user_id}", "Update a user; disabling or a new password ends every "
       "session (secret key or admin)", guard=Guard.manager, body=s.UserUpdate, response=s.User,
       errors=(400, 401, 403, 404, 409, 422))
async def update_user(request: Request) -> Response:
    project = request.path_params["project"]
    body = await parse_body(request, s.UserUpdate)
    return ok(await platform_of(request).accounts.update_user(
        project, request.path_params["user_id"], body.model_dump(exclude_unset=True)))


@route("DELETE", P + "/{user_id}", "Delete a user and their sessions (secret key or admin)",
       guard=Guard.manager, status=204, errors=(401, 403, 404))
async def delete_user(request: Request) -> Response:
    project = request.path_params["project"]
    await platform_of(request).accounts.delete_user(project, request.path_params["user_id"])
    return no_content()
