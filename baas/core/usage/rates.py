"""Token buckets: a request rate with a burst, shared between processes by totals.

Each process keeps a bucket per scope (a key, or a client address of a project) and
decides locally: no store round trip per request. What it spends is added to the scope's
shared total every flush (``counters``); the total read back there tells it what the
other processes spent since, which it takes out of its own bucket (which may go below
zero: that debt is paid by refill). So all processes together spend at most the bucket's
burst plus rate x time, plus what the others spend before the next flush tells them:
at most ``(processes - 1) x (burst + rate x 2 x flush interval)`` over any stretch of
time, measured in tests/e2e/test_rate_limits_workers.py."""

from __future__ import annotations


class TokenBucket:
    __slots__ = ("level", "stamp", "pending", "seen")

    def __init__(self, burst: int, now: float) -> None:
        self.level = float(burst)  # tokens left at ``stamp``
        self.stamp = now
        self.pending = 0  # spent here since the last flush
        self.seen: int | None = None  # the shared total after our last flush

    def wait(self, cost: int, rate: float, burst: int, now: float) -> float:
        """Refill to ``now``; 0 if ``cost`` tokens are there, else the seconds until they
        are. A cost above the burst needs a full bucket (then leaves a debt)."""
        level = self.level + (now - self.stamp) * rate
        self.level = level if level < burst else float(burst)
        self.stamp = now
        need = cost if cost < burst else burst
        if self.level >= need:
            return 0.0
        return (need - self.level) / rate

    def take(self, cost: int) -> None:
        self.level -= cost
        self.pending += cost

    def remaining(self) -> int:
        return max(0, int(self.level))

    def learn(self, total: int, flushed: int) -> None:
        """After adding ``flushed`` to the shared total, which then read ``total``: take
        what other processes added since our last flush out of this bucket. The first
        total only sets the mark (what others spent before is not known as recent)."""
        if self.seen is not None and total >= self.seen + flushed:
            self.level -= total - self.seen - flushed
        self.seen = total
