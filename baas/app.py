"""The ASGI application: routes, middleware, error handlers and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from baas.api import (
    accounts,
    admin,
    authpages,
    collections,
    docs,
    documents,
    health,
    limits,
    mailsettings,
    projects,
    users,
)
from baas.api.docs import build_openapi
from baas.api.errors import HANDLERS
from baas.api.middleware import BodyLimit, RequestContext
from baas.api.routing import starlette_routes
from baas.core.platform import Platform
from baas.settings import Settings

# Busiest first: Starlette matches routes in this order (see routing.starlette_routes).
REGISTRIES = [documents.route, accounts.route, health.route, collections.route,
              projects.route, users.route, authpages.route, admin.route, limits.route,
              mailsettings.route, docs.route]


def create_app(settings: Settings, platform: Platform | None = None) -> Starlette:
    platform = platform or Platform(settings)
    endpoints = [e for registry in REGISTRIES for e in registry.endpoints]
    metrics = platform.metrics  # one registry per process: workers record there too

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await platform.open()
        try:
            yield
        finally:
            await platform.close()

    middleware = [
        Middleware(RequestContext, metrics=metrics),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["authorization", "apikey", "content-type", "if-match",
                           "idempotency-key", "x-request-id"],
            expose_headers=["x-request-id", "etag", "retry-after", "ratelimit-limit",
                            "ratelimit-remaining", "ratelimit-reset"],
            max_age=600,
        ),
        Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
    ]
    app = Starlette(
        routes=starlette_routes(endpoints),
        middleware=middleware,
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    # Starlette's redirect builds Location from Host (an open redirect); errors.http_error
    # answers an unmatched path with a relative one instead (baas.api.slashes).
    app.router.redirect_slashes = False
    app.state.platform = platform
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.openapi = build_openapi(endpoints)
    return app
