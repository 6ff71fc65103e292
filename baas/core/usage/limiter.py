"""The limits of each request: a key's rate and daily quota, a client address's rate.

Decided in process (a dict lookup and some arithmetic per request); the counts are shared
through ``counters`` every ``flush_seconds`` by a background task (see ``rates`` for the
bound on what several processes together may overshoot).

Who is counted (the safer choice where it matters): a publishable key (alone or with a
user token) per key, per client address and against the key's daily quota; a secret key
per key and daily quota only (servers behind one address are the secret key's normal
use); an admin token not at all (the operator must be able to raise limits during an
attack); a request whose credentials are refused, against its client address, so
guessing keys or tokens is limited too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time

from baas.core.errors import ApiError
from baas.core.usage.counters import Counters
from baas.core.usage.plans import Plan, Plans
from baas.core.usage.quotas import DailyCount, day_of, seconds_to_next_day
from baas.core.usage.rates import TokenBucket

log = logging.getLogger("baas.usage")
IDLE_SECONDS = 300  # a bucket unused this long is dropped (it has refilled by then)
RECENT_SECONDS = 60  # buckets used this recently read the shared total at each flush
MAX_TRACKED = 100_000  # buckets kept at most, so the table cannot grow without bound
NO_PROJECT = "-"  # the scope of refused requests on platform routes


class RateLimited(ApiError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, limit: str, allowed: int, retry_after: float) -> None:
        retry = max(1, math.ceil(retry_after))
        super().__init__(
            message, details={"limit": limit, "retry_after": retry},
            headers={"Retry-After": str(retry), "RateLimit-Limit": str(allowed),
                     "RateLimit-Remaining": "0", "RateLimit-Reset": str(retry)})


class Limiter:
    def __init__(self, plans: Plans, counters: Counters, *, enabled: bool = True,
                 flush_seconds: float = 0.5) -> None:
        self.plans = plans
        self.counters = counters
        self.enabled = enabled
        self.flush_seconds = flush_seconds
        self._buckets: dict[str, TokenBucket] = {}
        self._days: dict[str, DailyCount] = {}
        self._task: asyncio.Task[None] | None = None

    # -- the hot path -----------------------------------------------------------

    async def spend(self, project: str, key_id: str, address: str | None,
                    cost: int = 1) -> None:
        """Count a request (``cost`` operations) of ``key_id`` from ``address`` (None: not
        counted per address), or raise 429 without counting it."""
        if not self.enabled:
            return
        plan = self.plans.cached(project, key_id) or await self.plans.plan(project, key_id)
        now = time.monotonic()
        key_bucket = address_bucket = None
        if plan.key_rate > 0:
            key_bucket = self._bucket("key:" + key_id, plan.key_burst, now)
            wait = key_bucket.wait(cost, plan.key_rate, plan.key_burst, now)
            if wait:
                raise RateLimited(f"this key may send {plan.key_rate:g} requests per second "
                                  f"(bursts of {plan.key_burst}); slow down",
                                  "key_rate", plan.key_burst, wait)
        if address is not None and plan.address_rate > 0:
            address_bucket = self._address_bucket(project, address, plan, now)
            wait = address_bucket.wait(cost, plan.address_rate, plan.address_burst, now)
            if wait:
                raise self._address_refusal(plan, wait)
        day = None
        if plan.daily_quota > 0:
            wall = time.time()
            day = self._day(key_id, day_of(wall))
            if not day.allows(cost, plan.daily_quota):
                raise RateLimited(f"this key has used its {plan.daily_quota} requests for "
                                  "today (UTC)", "daily_quota", plan.daily_quota,
                                  seconds_to_next_day(wall))
        if key_bucket is not None:
            key_bucket.take(cost)
        if address_bucket is not None:
            address_bucket.take(cost)
        if day is not None:
            day.take(cost)

    def refund(self, project: str, key_id: str, address: str | None, cost: int = 1) -> None:
        """Give back what ``spend`` took for a request refused later (a batch whose
        operations are more than the tokens left): a refused request spends nothing."""
        if not self.enabled:
            return
        names = ["key:" + key_id, f"day:{key_id}:{day_of(time.time())}"]
        if address is not None:
            names.append(f"addr:{project}:{address}")
        for name in names:
            bucket = self._buckets.get(name)
            if bucket is not None:
                bucket.level += cost
                bucket.pending -= cost
            day = self._days.get(name)
            if day is not None:
                day.pending -= cost

    async def spend_refused(self, project: str | None, address: str) -> None:
        """Count a request whose credentials were refused against its address; raise 429
        (instead of the refusal) once the address has no tokens left."""
        if not self.enabled:
            return
        scope = project or NO_PROJECT
        plan = (self.plans.defaults if project is None else
                self.plans.cached(project, None) or await self.plans.plan(project, None))
        if plan.address_rate <= 0:
            return
        now = time.monotonic()
        bucket = self._address_bucket(scope, address, plan, now)
        wait = bucket.wait(1, plan.address_rate, plan.address_burst, now)
        if wait:
            raise self._address_refusal(plan, wait)
        bucket.take(1)

    def _address_bucket(self, scope: str, address: str, plan: Plan, now: float
                        ) -> TokenBucket:
        return self._bucket(f"addr:{scope}:{address}", plan.address_burst, now)

    @staticmethod
    def _address_refusal(plan: Plan, wait: float) -> RateLimited:
        return RateLimited(f"this client address may send {plan.address_rate:g} requests "
                           f"per second (bursts of {plan.address_burst}); slow down",
                           "address_rate", plan.address_burst, wait)

    def _bucket(self, name: str, burst: int, now: float) -> TokenBucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED:
                self._buckets.pop(next(iter(self._buckets)))
            bucket = self._buckets[name] = TokenBucket(burst, now)
        return bucket

    def _day(self, key_id: str, day: int) -> DailyCount:
        name = f"day:{key_id}:{day}"
        count = self._days.get(name)
        if count is None:
            count = self._days[name] = DailyCount(day)
        return count

    # -- sharing the counts -----------------------------------------------------

    async def flush(self) -> None:
        """Add what this process spent to the shared totals and learn the others'."""
        now = time.monotonic()
        deltas: dict[str, int] = {}
        for name, bucket in self._buckets.items():
            if bucket.pending or now - bucket.stamp < RECENT_SECONDS:
                deltas[name] = bucket.pending
                bucket.pending = 0
        for name, count in self._days.items():
            deltas[name] = count.pending
            count.pending = 0
        if not deltas:
            return
        try:
            totals = await self.counters.add(deltas)
        except Exception as exc:  # the store is down or closing: keep counting here
            self._unflush(deltas)
            log.warning("usage counts not shared", extra={"error": str(exc)})
            return
        for name, flushed in deltas.items():
            total = totals.get(name)
            if total is None:
                continue
            shared = self._buckets.get(name)
            if shared is not None:
                shared.learn(total, flushed)
            daily = self._days.get(name)
            if daily is not None:
                daily.learn(total)
        self._prune(now)

    def _unflush(self, deltas: dict[str, int]) -> None:
        for name, flushed in deltas.items():
            bucket = self._buckets.get(name)
            if bucket is not None:
                bucket.pending += flushed
            day = self._days.get(name)
            if day is not None:
                day.pending += flushed

    def _prune(self, now: float) -> None:
        idle = [name for name, b in self._buckets.items()
                if not b.pending and now - b.stamp > IDLE_SECONDS]
        for name in idle:
            del self._buckets[name]
        today = day_of(time.time())
        for name in [n for n, c in self._days.items() if c.day < today and not c.pending]:
            del self._days[name]

    async def used_today(self, key_id: str) -> int:
        """Requests of the key today (UTC) on every process, as of their last flush."""
        name = f"day:{key_id}:{day_of(time.time())}"
        local = self._days.get(name)
        return await self.counters.total(name) + (local.pending if local else 0)

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._flush_forever(), name="usage-flush")

    async def stop(self) -> None:
        """Stop sharing. What was spent since the last flush is not shared: a stopping
        process forgets at most one flush interval of counts (and writes nothing while the
        platform closes, perhaps after its databases were dropped)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            await self.flush()
