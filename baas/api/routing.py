"""A small route registry: each endpoint is declared once with its guard and the models
that validate and describe it, and becomes both a Starlette route and an OpenAPI entry.

The guard is enforced here, from the declaration: the dispatcher resolves the caller once
(``baas.api.auth.resolve``) before a guarded handler runs, so handlers hold no credential
checks of their own, only ownership checks."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from baas.api import ratelimits
from baas.api.auth import resolve
from baas.api.params import Param
from baas.core.callers import Guard
from baas.core.errors import Forbidden, Unauthorized

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    guard: Guard = Guard.none
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    # Query (and header) parameters: a plain description is an unconstrained string.
    query: dict[str, str | Param] = field(default_factory=dict)
    body_required: bool = True  # False where an empty body means the defaults


class Registry:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def __call__(self, method: str, path: str, summary: str, *, guard: Guard = Guard.none,
                 **options: object) -> Callable[[Handler], Handler]:
        if guard not in (Guard.none, Guard.admin) and "{project}" not in path:
            raise ValueError(f"{method} {path}: guard {guard.name} needs a {{project}} in the path")

        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(method, path, handler, summary, self.tag, guard,
                         **options)  # type: ignore[arg-type]
            )
            return handler

        return register


def starlette_routes(endpoints: list[Endpoint]) -> list[Route]:
    """One Starlette route per path, dispatching on the method.

    Starlette tries routes in order with a regular expression each, so a route per
    method and path made the last paths cost dozens of failed matches per request;
    one per path, in the order given (busiest first), keeps that short.
    """
    by_path: dict[str, dict[str, Handler]] = {}
    for e in endpoints:
        by_path.setdefault(e.path, {})[e.method] = guarded(e)
    return [Route(path, _dispatch(handlers), methods=list(handlers), name=path)
            for path, handlers in by_path.items()]


def guarded(endpoint: Endpoint) -> Handler:
    """The endpoint's handler behind its guard: the caller is resolved first and kept on
    the request (``auth.caller_of(request)``). Unguarded handlers are used as they are."""
    handler, guard = endpoint.handler, endpoint.guard
    if guard is Guard.none:
        return handler

    @functools.wraps(handler)  # metrics and logs name the handler, not this wrapper
    async def checked(request: Request) -> Response:
        try:
            caller = await resolve(request, guard)
        except (Unauthorized, Forbidden):
            await ratelimits.count_refused(request)  # a 429 instead once guessing is fast
            raise
        await ratelimits.count(request, caller)
        return await handler(request)

    return checked


def _dispatch(handlers: dict[str, Handler]) -> Handler:
    if len(handlers) == 1:
        return next(iter(handlers.values()))
    if "GET" in handlers:
        handlers = {**handlers, "HEAD": handlers["GET"]}

    async def by_method(request: Request) -> Response:
        handler = handlers[request.method]
        request.scope["endpoint"] = handler  # metrics name the handler, not this
        return await handler(request)

    return by_method
