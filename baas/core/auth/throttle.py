"""In-process throttling of password guessing, without handing attackers a lockout.

- ``Throttle``: a sliding window per key (a client address, a user): after ``limit``
  counted events in ``window`` seconds, 429 until the oldest leaves the window.
- ``PairThrottle``: the same per (account, client address) pair, so failures from one
  address lock only that address out of that account, never the owner elsewhere; an
  account's pairs can all be cleared at once (after a password reset).
- ``Backoff``: per account, across addresses: only past ``free`` failures, each further
  one doubles a delay (from 1 s up to ``cap``) during which the account refuses every
  attempt; forgotten ``window`` seconds after its last failure.
- ``Lockout``: the three together for one kind of password check (end-user login,
  platform admin login).

Per process: with several workers or nodes each keeps its own counts, which still
bounds guessing to (limit x nodes); a restart clears them. Every table is bounded
(``MAX_TRACKED`` keys, the oldest dropped first), so a flood of new keys cannot grow it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from baas.core.errors import ApiError

MAX_TRACKED = 100_000  # keys remembered at most per table
Clock = Callable[[], float]


def rate_limited(retry: float, message: str = "too many failed attempts; try again later"
                 ) -> ApiError:
    seconds = max(1, math.ceil(retry))
    return ApiError(message, status=429, code="rate_limited",
                    details={"retry_after": seconds}, headers={"Retry-After": str(seconds)})


def _recent(entries: deque[float], now: float, window: float) -> deque[float]:
    while entries and entries[0] <= now - window:
        entries.popleft()
    return entries


class Throttle:
    """A sliding window of ``limit`` events per ``window`` seconds, per key."""

    def __init__(self, limit: int, window_seconds: float, *, clock: Clock = time.monotonic,
                 max_tracked: int = MAX_TRACKED) -> None:
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self.max_tracked = max_tracked
        self._events: dict[str, deque[float]] = {}

    def __len__(self) -> int:
        return len(self._events)

    def retry_after(self, key: str) -> float | None:
        """Seconds until ``key`` may act again, or None when it may now."""
        entries = self._events.get(key)
        if entries is None:
            return None
        now = self.clock()
        if not _recent(entries, now, self.window):
            del self._events[key]
            return None
        if len(entries) < self.limit:
            return None
        return entries[0] + self.window - now

    def check(self, *keys: str) -> None:
        """Raise 429 with Retry-After when any key has used up its events."""
        for key in keys:
            retry = self.retry_after(key)
            if retry is not None:
                raise rate_limited(retry)

    def count(self, key: str) -> None:
        """Check, then record one event: for actions limited however they end."""
        self.check(key)
        self.fail(key)

    def fail(self, *keys: str) -> None:
        now = self.clock()
        for key in keys:
            entries = self._events.get(key)
            if entries is None:
                if len(self._events) >= self.max_tracked:
                    self._events.pop(next(iter(self._events)))
                entries = self._events[key] = deque()
            entries.append(now)

    def reset(self, key: str) -> None:
        self._events.pop(key, None)


class PairThrottle:
    """A sliding window per (account, client address), clearable per account."""

    def __init__(self, limit: int, window_seconds: float, *, clock: Clock = time.monotonic,
                 max_tracked: int = MAX_TRACKED) -> None:
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self.max_tracked = max_tracked
        self._accounts: dict[str, dict[str, deque[float]]] = {}
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def retry_after(self, account: str, address: str) -> float | None:
        pairs = self._accounts.get(account)
        entries = pairs.get(address) if pairs is not None else None
        if pairs is None or entries is None:
            return None
        now = self.clock()
        if not _recent(entries, now, self.window):
            del pairs[address]
            self._size -= 1
            if not pairs:
                del self._accounts[account]
            return None
        if len(entries) < self.limit:
            return None
        return entries[0] + self.window - now

    def check(self, account: str, address: str) -> None:
        retry = self.retry_after(account, address)
        if retry is not None:
            raise rate_limited(retry)

    def count(self, account: str, address: str) -> None:
        self.check(account, address)
        self.fail(account, address)

    def fail(self, account: str, address: str) -> None:
        pairs = self._accounts.get(account)
        if pairs is None:
            pairs = self._accounts[account] = {}
        entries = pairs.get(address)
        if entries is None:
            while self._size >= self.max_tracked and self._accounts:
                self._evict_oldest(keep=account)
            entries = pairs[address] = deque()
            self._size += 1
        entries.append(self.clock())

    def _evict_oldest(self, keep: str) -> None:
        """Drop the oldest account's counts (only the oldest address of ``keep``, the
        account being counted, when it is the only one left)."""
        oldest = next((account for account in self._accounts if account != keep), keep)
        pairs = self._accounts[oldest]
        if oldest != keep:
            del self._accounts[oldest]
            self._size -= len(pairs)
        elif pairs:
            pairs.pop(next(iter(pairs)))
            self._size -= 1

    def reset(self, account: str, address: str) -> None:
        pairs = self._accounts.get(account)
        if pairs is not None and pairs.pop(address, None) is not None:
            self._size -= 1
            if not pairs:
                del self._accounts[account]

    def clear(self, account: str) -> None:
        """Forget every address's count against ``account``."""
        pairs = self._accounts.pop(account, None)
        if pairs is not None:
            self._size -= len(pairs)


@dataclass
class _Delay:
    failures: int
    last: float
    until: float


class Backoff:
    """Per account: past ``free`` failures, growing delays (1 s, 2 s, 4 s ... ``cap``)
    during which the account refuses every attempt. An account forgets its failures
    ``window`` seconds after the last one (its delay over)."""

    def __init__(self, free: int, window_seconds: float, cap_seconds: float, *,
                 clock: Clock = time.monotonic, max_tracked: int = MAX_TRACKED) -> None:
        self.free = free
        self.window = window_seconds
        self.cap = cap_seconds
        self.clock = clock
        self.max_tracked = max_tracked
        self._accounts: dict[str, _Delay] = {}

    def __len__(self) -> int:
        return len(self._accounts)

    def _current(self, key: str, now: float) -> _Delay | None:
        entry = self._accounts.get(key)
        if entry is not None and now >= max(entry.until, entry.last + self.window):
            del self._accounts[key]
            return None
        return entry

    def failures(self, key: str) -> int:
        entry = self._current(key, self.clock())
        return entry.failures if entry is not None else 0

    def retry_after(self, key: str) -> float | None:
        now = self.clock()
        entry = self._current(key, now)
        if entry is None or now >= entry.until:
            return None
        return entry.until - now

    def check(self, key: str) -> None:
        retry = self.retry_after(key)
        if retry is not None:
            raise rate_limited(retry)

    def fail(self, key: str) -> None:
        now = self.clock()
        entry = self._current(key, now)
        if entry is None:
            if len(self._accounts) >= self.max_tracked:
                self._accounts.pop(next(iter(self._accounts)))
            entry = self._accounts[key] = _Delay(0, now, now)
        entry.failures += 1
        entry.last = now
        over = entry.failures - self.free
        if over > 0:
            entry.until = now + min(self.cap, 2.0 ** min(over - 1, 32))

    def reset(self, key: str) -> None:
        self._accounts.pop(key, None)


class Lockout:
    """Password checks against one kind of account: a lock per (account, address), a
    far higher account-wide limit with growing delays, and a limit per address."""

    def __init__(self, pair_limit: int, account_free: int, address: Throttle, *,
                 window_seconds: float, cap_seconds: float = 900,
                 clock: Clock = time.monotonic) -> None:
        self.pairs = PairThrottle(pair_limit, window_seconds, clock=clock)
        self.accounts = Backoff(account_free, window_seconds, cap_seconds, clock=clock)
        self.addresses = address

    def check(self, account: str, address: str) -> None:
        """Raise 429 before any password check when the pair, the account or the
        address is over its limit."""
        self.pairs.check(account, address)
        self.accounts.check(account)
        self.addresses.check("ip:" + address)

    def fail(self, account: str, address: str) -> None:
        self.pairs.fail(account, address)
        self.accounts.fail(account)
        self.addresses.fail("ip:" + address)

    def succeed(self, account: str, address: str) -> None:
        """The right password: that pair's and the account's failures are forgotten."""
        self.pairs.reset(account, address)
        self.accounts.reset(account)

    def clear(self, account: str) -> None:
        """A password reset: every count against the account is forgotten."""
        self.pairs.clear(account)
        self.accounts.reset(account)
