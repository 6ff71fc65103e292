"""In-process failure throttling (per key, sliding window) against password guessing.

Per process: with several workers or nodes each keeps its own count, which still
bounds guessing to (limit x nodes) per window.
"""

from __future__ import annotations

import time
from collections import deque

from baas.core.errors import ApiError

MAX_TRACKED = 100_000  # keys remembered at most, so the table cannot grow without bound


class Throttle:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        entries = self._failures.get(key)
        if entries is None:
            return deque()
        while entries and entries[0] <= now - self.window:
            entries.popleft()
        if not entries:
            del self._failures[key]
        return entries

    def check(self, *keys: str) -> None:
        """Raise 429 with Retry-After when any key has used up its failures."""
        now = time.monotonic()
        for key in keys:
            entries = self._recent(key, now)
            if len(entries) >= self.limit:
                retry = max(1, int(entries[0] + self.window - now) + 1)
                raise ApiError("too many failed attempts; try again later", status=429,
                               code="rate_limited", details={"retry_after": retry},
                               headers={"Retry-After": str(retry)})

    def count(self, key: str) -> None:
        """Check, then record one attempt: for actions limited however they end."""
        self.check(key)
        self.fail(key)

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        if len(self._failures) >= MAX_TRACKED:
            self._failures.pop(next(iter(self._failures)))
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)
