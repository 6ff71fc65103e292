"""Change records of a project's document collections: read, resume, retention.

Every document write records one change (``baas.core.data.writes``); this is how
they are read back. A position is opaque and comes from a record (or ``head``, "now");
``read(after=position)`` answers what followed it, in order, on any process or node.
Past the retention window (``BAAS_CHANGE_RETENTION_SECONDS``) the store forgets
changes, and a position older than what is left answers ``ChangesExpired``: the reader
must load the current state again and follow from the head.
"""

from __future__ import annotations

from collections.abc import Callable

from baas.core import clock
from baas.core.data.collections import check_name, store_name
from baas.store import ChangeRecord, Database

MAX_LIMIT = 1000


class Changes:
    def __init__(self, database: Callable[[str], Database], retention_seconds: int) -> None:
        self._database = database
        self.retention_seconds = retention_seconds

    async def read(self, project: str, name: str, *, after: str, limit: int = 100
                   ) -> list[ChangeRecord]:
        """Changes of collection ``name`` after ``after``, oldest first; raises
        ChangesExpired (a store error) past the retention window."""
        limit = max(1, min(limit, MAX_LIMIT))
        return await self._database(project).changes(store_name(check_name(name)), after,
                                                     limit)

    async def head(self, project: str, name: str) -> str:
        """The current position of collection ``name``: follow from here for "now"."""
        return await self._database(project).head(store_name(check_name(name)))

    async def prune(self, project: str) -> int:
        """Forget the project's changes older than the retention window."""
        cutoff = clock.later_iso(-self.retention_seconds)
        return await self._database(project).prune_changes(cutoff)
