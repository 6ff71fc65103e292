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
    return [Route(e.path, e.handler, methods=[e.method], name=f"{e.method} {e.path}")
            for e in endpoints]
