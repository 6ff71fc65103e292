"""Daily quotas: requests per key per UTC day, counted in the store.

A process refuses once the day's shared total (read back at each flush) plus what it
spent since reaches the quota, so the quota is overshot by at most what the processes
admit between two flushes, which their rate limits bound."""

from __future__ import annotations

DAY = 86_400


def day_of(wall: float) -> int:
    """The UTC day number (days since 1970-01-01) of a wall-clock time."""
    return int(wall // DAY)


def seconds_to_next_day(wall: float) -> int:
    return max(1, int(DAY - wall % DAY))


class DailyCount:
    __slots__ = ("day", "known", "pending")

    def __init__(self, day: int) -> None:
        self.day = day
        self.known = 0  # the shared total at the last flush (ours included)
        self.pending = 0  # spent here since

    def used(self) -> int:
        return self.known + self.pending

    def allows(self, cost: int, quota: int) -> bool:
        return self.known + self.pending + cost <= quota

    def take(self, cost: int) -> None:
        self.pending += cost

    def learn(self, total: int) -> None:
        self.known = total
