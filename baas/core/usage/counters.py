"""The shared totals behind rates and quotas: one record per scope in the platform
database (``usage_counts``), added to atomically by every process (``increment``)."""

from __future__ import annotations

from baas.core import clock
from baas.store import Database, IndexSpec

# A record nobody has added to for this long is swept (a day's quota outlives its day).
KEEP_SECONDS = 2 * 86_400


async def create_indexes(platform_db: Database) -> None:
    """Migration step (see ``baas.core.migrations``)."""
    await platform_db.collection("usage_counts").ensure_index(
        IndexSpec((("expires_at", 1),), ttl=True))


class Counters:
    def __init__(self, platform_db: Database) -> None:
        self.records = platform_db.collection("usage_counts")

    async def add(self, deltas: dict[str, int]) -> dict[str, int]:
        """Add each delta to its total, all in one write; the totals after."""
        if not deltas:
            return {}
        return await self.records.increment(
            deltas, "count", set={"expires_at": clock.later_iso(KEEP_SECONDS)})

    async def total(self, id: str) -> int:
        record = await self.records.get(id)
        return int(record["count"]) if record is not None else 0
