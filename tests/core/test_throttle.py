"""The throttles against password guessing: windows, pairs, growing delays, bounds."""

from __future__ import annotations

import pytest

from baas.core.auth.throttle import Backoff, Lockout, PairThrottle, Throttle
from baas.core.errors import ApiError


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def retry_of(check: object, *args: str) -> int:
    with pytest.raises(ApiError) as caught:
        check(*args)  # type: ignore[operator]
    assert caught.value.status == 429 and caught.value.code == "rate_limited"
    return int(caught.value.headers["Retry-After"])


def test_sliding_window_frees_one_event_at_a_time() -> None:
    clock = Clock()
    throttle = Throttle(2, 60, clock=clock)
    throttle.fail("k")
    clock.now += 10
    throttle.fail("k")
    assert retry_of(throttle.check, "k") == 50
    clock.now += 50  # the first event leaves the window
    throttle.check("k")
    throttle.fail("k")
    retry_of(throttle.check, "k")
    throttle.reset("k")
    throttle.check("k")


def test_pair_throttle_locks_only_the_pair_and_clears_per_account() -> None:
    clock = Clock()
    pairs = PairThrottle(3, 900, clock=clock)
    for _ in range(3):
        pairs.fail("p:ann", "203.0.113.1")
    retry_of(pairs.check, "p:ann", "203.0.113.1")
    pairs.check("p:ann", "198.51.100.2")  # the owner elsewhere
    pairs.check("p:bob", "203.0.113.1")  # another account from the attacker's address
    pairs.fail("p:ann", "198.51.100.2")
    assert len(pairs) == 2
    pairs.clear("p:ann")
    assert len(pairs) == 0
    pairs.check("p:ann", "203.0.113.1")


def test_backoff_starts_only_past_the_free_failures_and_doubles() -> None:
    clock = Clock()
    backoff = Backoff(5, 900, 60, clock=clock)
    for _ in range(5):
        backoff.check("a")
        backoff.fail("a")
    backoff.check("a")  # still no delay
    delays = []
    for _ in range(8):
        backoff.fail("a")
        delays.append(retry_of(backoff.check, "a"))
        clock.now += backoff.retry_after("a") or 0
        backoff.check("a")  # the delay is over
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]  # doubling, capped
    clock.now += 900  # quiet for the window: forgotten
    assert backoff.failures("a") == 0


def test_lockout_keeps_the_owner_in_while_the_attacker_is_out() -> None:
    clock = Clock()
    addresses = Throttle(1000, 900, clock=clock)
    lockout = Lockout(3, 30, addresses, window_seconds=900, clock=clock)
    attacker, owner = "203.0.113.9", "198.51.100.7"
    for _ in range(3):
        lockout.check("p:ann", attacker)
        lockout.fail("p:ann", attacker)
    retry_of(lockout.check, "p:ann", attacker)
    lockout.check("p:ann", owner)
    # Ten attacker addresses, three failures each: 30, the account-wide free failures.
    for n in range(9):
        for _ in range(3):
            lockout.fail("p:ann", f"192.0.2.{n}")
    lockout.check("p:ann", owner)
    lockout.fail("p:ann", "192.0.2.99")  # one more: the first growing delay (1 s)
    retry_of(lockout.check, "p:ann", owner)
    clock.now += 1.5
    lockout.check("p:ann", owner)
    lockout.succeed("p:ann", owner)  # the owner's right password
    assert lockout.accounts.failures("p:ann") == 0
    retry_of(lockout.check, "p:ann", attacker)  # still out
    lockout.clear("p:ann")  # a password reset
    lockout.check("p:ann", attacker)


@pytest.mark.parametrize("kind", ["throttle", "pairs", "backoff"])
def test_tables_stay_bounded(kind: str) -> None:
    clock = Clock()
    table: Throttle | PairThrottle | Backoff
    if kind == "throttle":
        table = Throttle(5, 900, clock=clock, max_tracked=100)
    elif kind == "pairs":
        table = PairThrottle(5, 900, clock=clock, max_tracked=100)
    else:
        table = Backoff(5, 900, 60, clock=clock, max_tracked=100)
    for n in range(1000):
        if isinstance(table, PairThrottle):
            table.fail(f"acct{n % 7}", f"10.0.{n // 256}.{n % 256}")
        else:
            table.fail(f"key{n}")
        assert len(table) <= 100
    if isinstance(table, PairThrottle):
        # Whole accounts go, oldest first; the pair just counted keeps its count.
        assert len(table) > 50
        for _ in range(4):
            table.fail("acct5", "10.0.3.231")
        retry_of(table.check, "acct5", "10.0.3.231")
    else:
        assert len(table) == 100
        for _ in range(5):  # the newest key kept its count: five more lock it
            table.fail("key999")
        retry_of(table.check, "key999")


def test_a_locked_pair_is_not_refreshed_by_refused_attempts() -> None:
    """Refused attempts are not failures: the lock ends a window after the last real one."""
    clock = Clock()
    lockout = Lockout(2, 100, Throttle(100, 900, clock=clock), window_seconds=900, clock=clock)
    lockout.fail("p:ann", "a")
    lockout.fail("p:ann", "a")
    for _ in range(50):
        clock.now += 10
        retry_of(lockout.check, "p:ann", "a")
    clock.now += 400
    lockout.check("p:ann", "a")
