"""Admin routes of usage plans: the rate limits and daily quota of a project and a key."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from baas.api.auth import platform_of
from baas.api.http import ok, parse_body
from baas.api.routing import Registry
from baas.api.schemas import limits as schemas
from baas.core.callers import Guard
from baas.core.errors import NotFound

route = Registry("admin")
PROJECT_LIMITS = "/v1/admin/projects/{project}/limits"
KEY_LIMITS = "/v1/admin/projects/{project}/keys/{key_id}/limits"


async def _project(request: Request) -> str:
    return str((await platform_of(request).projects.get(request.path_params["project"]))["id"])


async def _key(request: Request) -> tuple[str, str]:
    project = await _project(request)
    key_id = request.path_params["key_id"]
    if not any(k["id"] == key_id for k in await platform_of(request).keys.list(project)):
        raise NotFound(f"key '{key_id}' not found in project '{project}'", code="key_not_found")
    return project, key_id


async def _project_limits(request: Request, project: str) -> dict[str, Any]:
    plans = platform_of(request).plans
    return {"project": project, "limits": (await plans.plan(project, None)).as_dict(),
            "overrides": await plans.overrides("project", project)}


async def _key_limits(request: Request, project: str, key_id: str) -> dict[str, Any]:
    platform = platform_of(request)
    day = datetime.fromtimestamp(time.time(), UTC).date().isoformat()
    return {"project": project, "key": key_id,
            "limits": (await platform.plans.plan(project, key_id)).as_dict(),
            "overrides": await platform.plans.overrides("key", key_id),
            "usage": {"day": day, "requests": await platform.limiter.used_today(key_id)}}


@route("GET", PROJECT_LIMITS, "Read a project's rate limits and daily quota", guard=Guard.admin,
       response=schemas.ProjectLimits, errors=(404,))
async def get_project_limits(request: Request) -> Response:
    return ok(await _project_limits(request, await _project(request)))


@route("PATCH", PROJECT_LIMITS, "Set or reset (null) a project's rate limits and daily quota",
       guard=Guard.admin, body=schemas.LimitsChange, response=schemas.ProjectLimits,
       errors=(400, 404, 422))
async def set_project_limits(request: Request) -> Response:
    body = await parse_body(request, schemas.LimitsChange)
    project = await _project(request)
    await platform_of(request).plans.change(project, "project", project,
                                            body.model_dump(exclude_unset=True))
    return ok(await _project_limits(request, project))


@route("GET", KEY_LIMITS, "Read a key's rate limits, daily quota and today's usage",
       guard=Guard.admin, response=schemas.KeyLimits, errors=(404,))
async def get_key_limits(request: Request) -> Response:
    project, key_id = await _key(request)
    return ok(await _key_limits(request, project, key_id))


@route("PATCH", KEY_LIMITS, "Set or reset (null) a key's rate limits and daily quota",
       guard=Guard.admin, body=schemas.LimitsChange, response=schemas.KeyLimits,
       errors=(400, 404, 422))
async def set_key_limits(request: Request) -> Response:
    body = await parse_body(request, schemas.LimitsChange)
    project, key_id = await _key(request)
    await platform_of(request).plans.change(project, "key", key_id,
                                            body.model_dump(exclude_unset=True))
    return ok(await _key_limits(request, project, key_id))
