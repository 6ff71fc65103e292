"""Platform routes for admins: login, projects, their keys and signing keys."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from baas.api.auth import admin_of, platform_of
from baas.api.clientip import client_ip
from baas.api.http import no_content, ok, page_params, parse_body
from baas.api.params import PAGE
from baas.api.routing import Registry
from baas.api.schemas import auth as authschemas
from baas.api.schemas import common as schemas
from baas.core.callers import Guard

route = Registry("admin")


@route("POST", "/v1/admin/login", "Log in as a platform admin", body=schemas.AdminLogin,
       response=schemas.AdminToken, errors=(401, 422, 429))
async def login(request: Request) -> Response:
    body = await parse_body(request, schemas.AdminLogin)
    # The client address (X-Forwarded-For only from BAAS_TRUSTED_PROXIES): failures
    # lock that address out of the account, not the admin elsewhere.
    token, info = await platform_of(request).admins.login(body.email, body.password,
                                                          client_ip(request))
    return ok({"token": token, "token_type": "bearer", **info})


@route("POST", "/v1/admin/logout", "Revoke the admin token this request carries", guard=Guard.admin,
       status=204)
async def logout(request: Request) -> Response:
    session = admin_of(request)
    await platform_of(request).admins.logout(session)
    return no_content()


@route("GET", "/v1/admin/projects", "List projects", guard=Guard.admin,
       response=schemas.ProjectList, query=dict(PAGE))
async def list_projects(request: Request) -> Response:
    limit, cursor = page_params(request)
    items, next_cursor = await platform_of(request).projects.list(limit, cursor)
    return ok({"items": items, "next_cursor": next_cursor})


@route("POST", "/v1/admin/projects", "Create a project and its two first keys", guard=Guard.admin,
       body=schemas.ProjectCreate, response=schemas.ProjectCreated, status=201, errors=(409,))
async def create_project(request: Request) -> Response:
    body = await parse_body(request, schemas.ProjectCreate)
    project, keys = await platform_of(request).create_project(body.id, body.name)
    return ok({"project": project, "keys": keys}, status=201)


@route("GET", "/v1/admin/projects/{project}", "Read a project", guard=Guard.admin,
       response=schemas.Project, errors=(404,))
async def get_project(request: Request) -> Response:
    return ok(await platform_of(request).projects.get(request.path_params["project"]))


@route("PATCH", "/v1/admin/projects/{project}", "Rename a project", guard=Guard.admin,
       body=schemas.ProjectUpdate, response=schemas.Project, errors=(404,))
async def update_project(request: Request) -> Response:
    body = await parse_body(request, schemas.ProjectUpdate)
    return ok(await platform_of(request).projects.rename(request.path_params["project"],
                                                          body.name))


@route("DELETE", "/v1/admin/projects/{project}", "Delete a project, its keys and its data",
       guard=Guard.admin, status=204, errors=(404,))
async def delete_project(request: Request) -> Response:
    await platform_of(request).delete_project(request.path_params["project"])
    return no_content()


@route("GET", "/v1/admin/projects/{project}/keys", "List a project's keys (never their secrets)",
       guard=Guard.admin, response=schemas.KeyList, errors=(404,))
async def list_keys(request: Request) -> Response:
    project = await platform_of(request).projects.get(request.path_params["project"])
    return ok({"items": await platform_of(request).keys.list(project["id"]),
               "next_cursor": None})


@route("POST", "/v1/admin/projects/{project}/keys", "Create a key; its secret is shown once",
       guard=Guard.admin, body=schemas.KeyCreate, response=schemas.ApiKey, status=201,
       errors=(404,))
async def create_key(request: Request) -> Response:
    body = await parse_body(request, schemas.KeyCreate)
    project = await platform_of(request).projects.get(request.path_params["project"])
    key = await platform_of(request).keys.create(project["id"], body.kind, body.name,
                                                 body.expires_at)
    return ok(key, status=201)


@route("DELETE", "/v1/admin/projects/{project}/keys/{key_id}", "Revoke a key", guard=Guard.admin,
       response=schemas.ApiKey, errors=(404,))
async def revoke_key(request: Request) -> Response:
    project = await platform_of(request).projects.get(request.path_params["project"])
    return ok(await platform_of(request).keys.revoke(project["id"],
                                                     request.path_params["key_id"]))


SIGNING_KEYS = "/v1/admin/projects/{project}/signing-keys"


@route("GET", SIGNING_KEYS, "List a project's token signing keys (never the private keys)",
       guard=Guard.admin, response=authschemas.SigningKeyList, errors=(401, 404))
async def signing_keys(request: Request) -> Response:
    project = await platform_of(request).projects.get(request.path_params["project"])
    items = await platform_of(request).signing(project["id"]).describe()
    return ok({"items": items, "next_cursor": None})


@route("POST", SIGNING_KEYS + ":rotate", "Make a new signing key current; the previous one keeps "
       "verifying until its tokens expire", guard=Guard.admin, response=authschemas.Rotated,
       errors=(401, 404))
async def rotate_signing_key(request: Request) -> Response:
    project = await platform_of(request).projects.get(request.path_params["project"])
    keys = platform_of(request).signing(project["id"])
    current = await keys.rotate()
    return ok({"current": current, "items": await keys.describe()})
