"""A small route registry: each endpoint is declared once with the models that
validate and describe it, and becomes both a Starlette route and an OpenAPI entry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: str = "none"  # none | admin | key | user (key + access token) | secret
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    query: dict[str, str] = field(default_factory=dict)


class Registry:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def __call__(self, method: str, path: str, summary: str, **options: object
                 ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(method, path, handler, summary, self.tag, **options)  # type: ignore[arg-type]
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
        by_path.setdefault(e.path, {})[e.method] = e.handler
    return [Route(path, _dispatch(handlers), methods=list(handlers), name=path)
            for path, handlers in by_path.items()]


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
