"""Project routes reached with a project key."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from baas.api.auth import key_of, platform_of
from baas.api.http import ok
from baas.api.routing import Registry
from baas.api.schemas import common as schemas
from baas.core.callers import Guard

route = Registry("projects")


@route("GET", "/v1/projects/{project}", "The project a key belongs to, and the key's kind",
       guard=Guard.key, response=schemas.ProjectInfo, errors=(401,))
async def project_info(request: Request) -> Response:
    project_id = request.path_params["project"]
    key = key_of(request)
    project = await platform_of(request).projects.get(project_id)
    return ok({"id": project["id"], "name": project["name"], "caller": {"kind": key.kind}})


@route("GET", "/v1/projects/{project}/.well-known/jwks.json",
       "Public keys (JWKS) that verify the project's access tokens; no credentials needed",
       response=schemas.Jwks, errors=(404,))
async def jwks(request: Request) -> Response:
    project = await platform_of(request).projects.get(request.path_params["project"])
    response = ok(await platform_of(request).signing(project["id"]).jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
