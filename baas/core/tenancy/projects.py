"""Projects: each has its own database, a name, and API keys."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from baas.core import clock
from baas.core.errors import BadRequest, Conflict, NotFound
from baas.core.tenancy.keys import Keys
from baas.store import Database, DuplicateKeyError, Engine

PROJECT_ID_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
PROJECT_FIELDS = ("id", "name", "created_at", "updated_at")


def database_name(project_id: str) -> str:
    return "p_" + project_id


class Projects:
    def __init__(self, engine: Engine, platform_db: Database, keys: Keys) -> None:
        self.engine = engine
        self.records = platform_db.collection("projects")
        self.keys = keys

    async def create(self, project_id: str, name: str | None) -> dict[str, Any]:
        """The project's record (``Platform.create_project`` does the rest)."""
        if not PROJECT_ID_RE.match(project_id):
            raise BadRequest(
                "project id must be 3-40 characters: lowercase letters, digits and '-', "
                "starting with a letter and not ending with '-'",
                code="invalid_project_id", details={"field": "id"},
            )
        now = clock.now_iso()
        record = {"id": project_id, "name": name or project_id, "created_at": now,
                  "updated_at": now}
        try:
            await self.records.insert(record)
        except DuplicateKeyError:
            raise Conflict(f"project '{project_id}' already exists",
                           code="project_exists") from None
        return public(record)

    async def create_default_keys(self, project_id: str) -> list[dict[str, Any]]:
        """A project's first two keys, each shown once: publishable and secret."""
        return [
            await self.keys.create(project_id, "publishable", "default publishable key", None),
            await self.keys.create(project_id, "secret", "default secret key", None),
        ]

    async def get(self, project_id: str) -> dict[str, Any]:
        record = await self.records.get(project_id) if PROJECT_ID_RE.match(project_id) else None
        if record is None:
            raise NotFound(f"project '{project_id}' not found", code="project_not_found")
        return public(record)

    async def list(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        page = await self.records.find(sort=[("id", 1)], limit=limit, cursor=cursor)
        return [public(r) for r in page.items], page.next_cursor

    async def ids(self) -> AsyncIterator[str]:
        """Every project's id, a page at a time (never all of them in memory)."""
        cursor: str | None = None
        while True:
            page, cursor = await self.list(limit=500, cursor=cursor)
            for project in page:
                yield project["id"]
            if cursor is None:
                return

    async def rename(self, project_id: str, name: str) -> dict[str, Any]:
        await self.get(project_id)
        updated = await self.records.update(project_id, {"name": name,
                                                         "updated_at": clock.now_iso()})
        if updated is None:
            raise NotFound(f"project '{project_id}' not found", code="project_not_found")
        return public(updated)

    async def delete(self, project_id: str) -> None:
        await self.get(project_id)
        # Keys first, so nothing can reach the project while its data goes away.
        await self.keys.delete_all(project_id)
        await self.records.delete(project_id)
        await self.engine.drop_database(database_name(project_id))

    def database(self, project_id: str) -> Database:
        return self.engine.database(database_name(project_id))


def public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in PROJECT_FIELDS}
