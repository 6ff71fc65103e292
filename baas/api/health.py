"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from baas.api.auth import platform_of
from baas.api.http import ok
from baas.api.routing import Registry
from baas.api.schemas import common as schemas
from baas.core.errors import Unavailable
from baas.store import StoreError

route = Registry("health")


@route("GET", "/health", "Liveness: the process answers", response=schemas.Health)
async def health(request: Request) -> Response:
    return ok({"status": "ok"})


@route("GET", "/ready", "Readiness: the database answers", response=schemas.Health,
       errors=(503,))
async def ready(request: Request) -> Response:
    engine = platform_of(request).engine
    try:
        await engine.ping()
    except StoreError as exc:
        raise Unavailable(f"the {engine.kind} engine does not answer: {exc}",
                          code="not_ready") from None
    return ok({"status": "ready", "engine": engine.kind})


@route("GET", "/metrics", "Prometheus metrics in the text exposition format")
async def metrics(request: Request) -> Response:
    return Response(generate_latest(platform_of(request).metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)
