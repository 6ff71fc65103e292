"""A small in-process hook registry.

Capabilities (files, realtime, push) attach cleanup and fan-out to core events here,
so the API never composes them by hand. Handlers run in the order they were attached;
a failing handler is logged and does not stop the others, because the event it
reacts to has already happened (a project is created, a change is committed).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

log = logging.getLogger("baas.hooks")

T = TypeVar("T")
Handler = Callable[[T], Awaitable[None]]


class Hook(Generic[T]):
    """One event point: ``attach`` handlers, ``fire`` them with the event's value."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Handler[T]] = []

    def attach(self, handler: Handler[T]) -> Handler[T]:
        """Add a handler (usable as a decorator); returns it unchanged."""
        self._handlers.append(handler)
        return handler

    def detach(self, handler: Handler[T]) -> None:
        self._handlers.remove(handler)

    def __len__(self) -> int:
        return len(self._handlers)

    async def fire(self, value: T) -> None:
        for handler in list(self._handlers):
            try:
                await handler(value)
            except Exception:
                log.exception("hook %s: handler %r failed", self.name,
                              getattr(handler, "__qualname__", handler))


class Hooks:
    """The core's event points. ``change_committed`` receives the list of change
    records one unit of work committed (see ``baas.core.data``)."""

    def __init__(self) -> None:
        self.project_created: Hook[str] = Hook("project_created")
        self.project_deleted: Hook[str] = Hook("project_deleted")
        self.change_committed: Hook[Any] = Hook("change_committed")
