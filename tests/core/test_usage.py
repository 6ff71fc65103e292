"""Rate limits and daily quotas in core: token buckets, daily counts, usage plans, and
limiters sharing their counts through the store (both engines)."""

from __future__ import annotations

import time

import pytest

from baas.core.errors import BadRequest
from baas.core.usage.counters import Counters
from baas.core.usage.limiter import Limiter, RateLimited
from baas.core.usage.plans import Plan, Plans, check_changes
from baas.core.usage.quotas import DAY, DailyCount, day_of, seconds_to_next_day
from baas.core.usage.rates import TokenBucket
from baas.settings import Settings
from baas.store import create_engine
from tests.core.conftest import opened_platform

PLAN = Plan(key_rate=10, key_burst=5, address_rate=10, address_burst=3, daily_quota=0)


# -- token buckets ---------------------------------------------------------------


def test_bucket_allows_its_burst_then_waits_for_refill() -> None:
    bucket = TokenBucket(5, now=100.0)
    for _ in range(5):
        assert bucket.wait(1, rate=10, burst=5, now=100.0) == 0
        bucket.take(1)
    assert bucket.wait(1, rate=10, burst=5, now=100.0) == pytest.approx(0.1)
    assert bucket.wait(1, rate=10, burst=5, now=100.11) == 0  # a token back after 0.1 s
    assert bucket.pending == 5


def test_bucket_refills_no_higher_than_its_burst() -> None:
    bucket = TokenBucket(5, now=0.0)
    bucket.take(5)
    assert bucket.wait(1, rate=10, burst=5, now=3600.0) == 0
    assert bucket.remaining() == 5


def test_a_cost_above_the_burst_needs_a_full_bucket_and_leaves_a_debt() -> None:
    bucket = TokenBucket(5, now=0.0)
    assert bucket.wait(8, rate=1, burst=5, now=0.0) == 0
    bucket.take(8)
    assert bucket.level == -3
    assert bucket.wait(1, rate=1, burst=5, now=0.0) == pytest.approx(4.0)


def test_bucket_takes_out_what_other_processes_spent() -> None:
    bucket = TokenBucket(10, now=0.0)
    bucket.take(2)
    bucket.learn(total=2, flushed=2)  # the first total only sets the mark
    assert bucket.level == 8
    bucket.take(1)
    bucket.learn(total=10, flushed=1)  # 7 more were spent elsewhere meanwhile
    assert bucket.level == 0
    bucket.learn(total=4, flushed=0)  # the shared record was swept and began again
    assert bucket.level == 0
    assert bucket.seen == 4


# -- daily counts ----------------------------------------------------------------


def test_daily_count_refuses_past_the_quota() -> None:
    count = DailyCount(day=1)
    count.learn(8)
    assert count.allows(2, quota=10)
    count.take(2)
    assert not count.allows(1, quota=10)


def test_days_are_utc_and_reset_at_midnight() -> None:
    assert day_of(DAY * 3 + 5) == 3
    assert seconds_to_next_day(DAY * 3 + 5) == DAY - 5
    assert seconds_to_next_day(DAY * 4 - 0.2) == 1


# -- plans -----------------------------------------------------------------------


def test_plan_changes_are_checked() -> None:
    assert check_changes({"key_rate": 5, "daily_quota": None}) == {"key_rate": 5.0,
                                                                   "daily_quota": None}
    for bad in ({}, {"nope": 1}, {"key_burst": 0}, {"key_burst": 1.5}, {"key_rate": "1"},
                {"address_rate": True}, {"daily_quota": -1}):
        with pytest.raises(BadRequest) as caught:
            check_changes(bad)
        assert caught.value.code == "invalid_limit"


async def test_plans_layer_key_over_project_over_defaults(settings: Settings) -> None:
    async with opened_platform(settings, cache_seconds=0) as platform:
        await platform.create_project("demo", None)
        plans = platform.plans
        defaults = Plan.defaults(settings)
        assert await plans.plan("demo", "key_1") == defaults
        await plans.change("demo", "project", "demo", {"key_rate": 50, "daily_quota": 1000})
        await plans.change("demo", "key", "key_1", {"daily_quota": 10})
        keyed = await plans.plan("demo", "key_1")
        assert (keyed.key_rate, keyed.daily_quota) == (50, 10)
        assert (await plans.plan("demo", "key_2")).daily_quota == 1000
        assert await plans.change("demo", "key", "key_1", {"daily_quota": None}) == {}
        assert (await plans.plan("demo", "key_1")).daily_quota == 1000
        await platform.delete_project("demo")
        assert await plans.plan("demo", "key_1") == defaults


async def test_a_change_through_this_process_applies_at_once(settings: Settings) -> None:
    async with opened_platform(settings, cache_seconds=60) as platform:
        assert (await platform.plans.plan("demo", "k")).key_burst == settings.key_burst
        await platform.plans.change("demo", "key", "k", {"key_burst": 7})
        assert (await platform.plans.plan("demo", "k")).key_burst == 7


# -- limiters sharing counts ---------------------------------------------------------


def limiter_on(platform_db: object, plan: Plan) -> Limiter:
    return Limiter(Plans(platform_db, plan), Counters(platform_db))  # type: ignore[arg-type]


async def spend_until_refused(limiter: Limiter, address: str | None = None,
                              attempts: int = 100) -> tuple[int, RateLimited]:
    for admitted in range(attempts):
        try:
            await limiter.spend("demo", "key_1", address)
        except RateLimited as refusal:
            return admitted, refusal
    raise AssertionError(f"{attempts} requests were all admitted")


async def test_limiter_refuses_with_the_headers_of_the_limit(settings: Settings) -> None:
    async with opened_platform(settings) as platform:
        db = platform.engine.database("platform")
        admitted, refusal = await spend_until_refused(limiter_on(db, PLAN))
        assert admitted == PLAN.key_burst
        assert (refusal.status, refusal.code) == (429, "rate_limited")
        assert refusal.details == {"limit": "key_rate", "retry_after": 1}
        assert refusal.headers == {"Retry-After": "1", "RateLimit-Limit": "5",
                                   "RateLimit-Remaining": "0", "RateLimit-Reset": "1"}


async def test_address_limits_are_per_address_and_refusals_spend_nothing(
        settings: Settings) -> None:
    async with opened_platform(settings) as platform:
        limiter = limiter_on(platform.engine.database("platform"), PLAN)
        admitted, refusal = await spend_until_refused(limiter, "10.0.0.1")
        assert admitted == PLAN.address_burst
        assert refusal.details["limit"] == "address_rate"
        # Another address still gets in, and the key kept the tokens of refused requests.
        admitted, refusal = await spend_until_refused(limiter, "10.0.0.2")
        assert (admitted, refusal.details["limit"]) == (2, "key_rate")


async def test_two_limiters_share_one_burst_through_the_store(settings: Settings) -> None:
    """Two processes (here two limiters on one store) spend one key's burst together: each
    flush tells each what the other spent since its own last flush."""
    plan = Plan(key_rate=0.001, key_burst=10, address_rate=0, address_burst=1, daily_quota=0)
    async with opened_platform(settings) as platform:
        db = platform.engine.database("platform")
        one, two = limiter_on(db, plan), limiter_on(db, plan)
        for limiter in (one, two):  # both know the key: their first totals set the marks
            await limiter.spend("demo", "key_1", None)
            await limiter.flush()
        await one.flush()
        for _ in range(3):
            await one.spend("demo", "key_1", None)
        await one.flush()
        await two.flush()  # two learns one's 3 (one's first came before two's mark)
        admitted, _ = await spend_until_refused(two)
        assert admitted == 10 - 1 - 3
        await two.flush()
        await one.flush()
        admitted, _ = await spend_until_refused(one)
        assert admitted == 0
        assert await Counters(db).total("key:key_1") == 11  # one over: one's first


async def test_a_limiter_new_to_a_key_may_add_one_burst(settings: Settings) -> None:
    """The documented allowance: what others spent before this process first counted the
    key is not known as recent, so a newcomer may spend at most one more burst."""
    plan = Plan(key_rate=0.001, key_burst=4, address_rate=0, address_burst=1, daily_quota=0)
    async with opened_platform(settings) as platform:
        db = platform.engine.database("platform")
        one, two = limiter_on(db, plan), limiter_on(db, plan)
        assert (await spend_until_refused(one))[0] == 4
        await one.flush()
        assert (await spend_until_refused(two))[0] == 4
        await two.flush()
        await one.flush()  # one learns two's burst: now in debt of 4 tokens
        admitted, refusal = await spend_until_refused(one)
        assert admitted == 0
        assert refusal.details["retry_after"] == pytest.approx(5 / 0.001, rel=0.01)


async def test_daily_quota_counts_every_process_and_batches(settings: Settings) -> None:
    plan = Plan(key_rate=0, key_burst=1, address_rate=0, address_burst=1, daily_quota=12)
    async with opened_platform(settings) as platform:
        db = platform.engine.database("platform")
        one, two = limiter_on(db, plan), limiter_on(db, plan)
        await one.spend("demo", "key_1", None, cost=10)  # a batch of 10 operations
        await one.flush()
        await two.spend("demo", "key_1", None)
        await two.flush()  # two learns the day's 11
        with pytest.raises(RateLimited) as caught:
            await two.spend("demo", "key_1", None, cost=2)
        assert caught.value.details["limit"] == "daily_quota"
        assert caught.value.headers["RateLimit-Limit"] == "12"
        assert int(caught.value.headers["Retry-After"]) == seconds_to_next_day(time.time())
        await two.spend("demo", "key_1", None)
        assert await two.used_today("key_1") == 12


async def test_a_failed_flush_keeps_the_counts_for_the_next(settings: Settings) -> None:
    async with opened_platform(settings) as platform:
        closed = create_engine(settings)
        await closed.open()
        await closed.close()
        platform_db = platform.engine.database("platform")
        limiter = Limiter(Plans(platform_db, PLAN), Counters(closed.database("platform")))
        await limiter.spend("demo", "key_1", None)
        await limiter.flush()  # logged, not raised, and kept
        limiter.counters = Counters(platform_db)  # the store is back
        await limiter.flush()
        assert await limiter.counters.total("key:key_1") == 1


async def test_refused_credentials_count_against_the_address(settings: Settings) -> None:
    async with opened_platform(settings) as platform:
        limiter = limiter_on(platform.engine.database("platform"), PLAN)
        for _ in range(PLAN.address_burst):
            await limiter.spend_refused(None, "10.0.0.9")
        with pytest.raises(RateLimited):
            await limiter.spend_refused(None, "10.0.0.9")
        await limiter.spend_refused(None, "10.0.0.10")


async def test_limits_can_be_turned_off(settings: Settings) -> None:
    async with opened_platform(settings, rate_limits=False, key_burst=1) as platform:
        for _ in range(5):
            await platform.limiter.spend("demo", "key_1", "10.0.0.1")
            await platform.limiter.spend_refused("demo", "10.0.0.1")


async def test_a_refund_gives_back_what_a_refused_request_took(settings: Settings) -> None:
    plan = Plan(key_rate=0.001, key_burst=5, address_rate=0.001, address_burst=3,
                daily_quota=4)
    async with opened_platform(settings) as platform:
        db = platform.engine.database("platform")
        limiter = limiter_on(db, plan)
        await limiter.spend("demo", "key_1", "10.0.0.1")
        limiter.refund("demo", "key_1", "10.0.0.1")
        admitted, refusal = await spend_until_refused(limiter, "10.0.0.1")
        assert (admitted, refusal.details["limit"]) == (3, "address_rate")
        await limiter.flush()
        assert await Counters(db).total("key:key_1") == 3
        assert await limiter.used_today("key_1") == 3
