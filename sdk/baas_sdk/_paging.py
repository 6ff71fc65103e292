"""Following a list endpoint's cursor pages, once per facade (sync and async), and the
query or body of only the fields given; shared by the admin, collection-definition and
auth facades."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ._core import Call
from ._models import Page

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

T = TypeVar("T")


def _set(**fields: Any) -> dict[str, Any]:
    """Only the fields given: ``None`` means "leave unchanged" (or "server default")."""
    return {k: v for k, v in fields.items() if v is not None}


# Cursor-following lives here once per facade: a list call is a function of the cursor.
PageCall = Callable[[str | None], Call[Page[T]]]


def _collect(client: Client, make: PageCall[T]) -> list[T]:
    items: list[T] = []
    cursor: str | None = None
    while True:
        page = client.send(make(cursor))
        items.extend(page.items)
        if not page.next_cursor or page.next_cursor == cursor:
            return items
        cursor = page.next_cursor


async def _acollect(client: AsyncClient, make: PageCall[T]) -> list[T]:
    items: list[T] = []
    cursor: str | None = None
    while True:
        page = await client.send(make(cursor))
        items.extend(page.items)
        if not page.next_cursor or page.next_cursor == cursor:
            return items
        cursor = page.next_cursor
