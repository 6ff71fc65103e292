"""Baseline H: argon2id verifications per second with the server's parameters.

Measures the bare hasher: argon2-cffi's ``PasswordHasher`` built exactly as
``baas.core.auth.passwords.Hasher`` builds it, verifying one stored hash on ``threads`` OS
threads (the server's ``hash_threads``), with no event loop, HTTP, store or niceness
around it. It is the ceiling for logins per second on this machine: a login scenario
that reaches it is limited by argon2 alone, not by the server.

    python -m bench.hasher [--time-cost T] [--memory-kib M] [--parallelism P]
                           [--threads N] [--duration S] [--max-ops K]

Prints one JSON line ``{"name": "H", "ops", "seconds", "rate", "extra"}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher

from baas.settings import Settings
from bench.args import Parser, positive_int, seconds

PASSWORD = "correct horse battery staple"  # noqa: S105 - a benchmark input, not a secret
DEFAULT_MAX_OPS = 1_000_000
JOIN_GRACE_SECONDS = 30.0  # one verification never takes this long with sane parameters


def _default(name: str) -> int:
    value = Settings.model_fields[name].default
    assert isinstance(value, int)
    return value


@dataclass
class _Tally:
    """Shared between the worker threads; every field is guarded by ``lock``."""

    max_ops: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: int = 0
    done: int = 0
    last_done: float = 0.0
    errors: list[str] = field(default_factory=list)

    def claim(self) -> bool:
        """Reserve one verification; False once ``max_ops`` have been claimed."""
        with self.lock:
            if self.started >= self.max_ops:
                return False
            self.started += 1
            return True


def _worker(hasher: PasswordHasher, stored: str, tally: _Tally, start: threading.Barrier,
            deadline_box: list[float]) -> None:
    try:
        start.wait()
        deadline = deadline_box[0]
        while time.monotonic() < deadline and tally.claim():
            ok = hasher.verify(stored, PASSWORD)
            now = time.monotonic()
            if not ok:
                raise RuntimeError("verify returned False")
            if now >= deadline:  # finished after the deadline: not counted
                return
            with tally.lock:
                tally.done += 1
                tally.last_done = max(tally.last_done, now)
    except Exception as exc:  # reported by the main thread
        with tally.lock:
            tally.errors.append(f"{type(exc).__name__}: {exc}")


def measure(time_cost: int, memory_kib: int, parallelism: int, threads: int,
            duration: float, max_ops: int) -> dict[str, Any]:
    """Run the measurement and return the result object (raises on failure)."""
    # Same construction as baas/core/auth/passwords.py (other PasswordHasher options default).
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    stored = hasher.hash(PASSWORD)
    tally = _Tally(max_ops=max_ops)
    deadline_box = [0.0]
    start = threading.Barrier(threads + 1)
    workers = [
        threading.Thread(target=_worker, args=(hasher, stored, tally, start, deadline_box),
                         name=f"argon2-bench-{i}", daemon=True)
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    began = time.monotonic()
    deadline_box[0] = began + duration  # written before the barrier releases the workers
    start.wait(timeout=JOIN_GRACE_SECONDS)
    for worker in workers:
        worker.join(timeout=max(0.0, deadline_box[0] + JOIN_GRACE_SECONDS - time.monotonic()))
    if any(worker.is_alive() for worker in workers):
        raise RuntimeError("a hashing thread did not stop in time")
    if tally.errors:
        raise RuntimeError(tally.errors[0])
    if tally.done == 0:
        raise RuntimeError(f"no verification finished within {duration}s")
    # Stopped by the count: up to the last completion; otherwise the whole window.
    end = tally.last_done if tally.done >= max_ops else began + duration
    seconds = end - began
    return {
        "name": "H",
        "ops": tally.done,
        "seconds": round(seconds, 6),
        "rate": round(tally.done / seconds, 3),
        "extra": {
            "time_cost": time_cost,
            "memory_kib": memory_kib,
            "parallelism": parallelism,
            "threads": threads,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m bench.hasher", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-cost", type=positive_int, default=_default("argon2_time_cost"))
    parser.add_argument("--memory-kib", type=positive_int,
                        default=_default("argon2_memory_kib"))
    parser.add_argument("--parallelism", type=positive_int,
                        default=_default("argon2_parallelism"))
    parser.add_argument("--threads", type=positive_int, default=_default("hash_threads"))
    parser.add_argument("--duration", type=seconds, default=5.0,
                        help="seconds (default 5)")
    parser.add_argument("--max-ops", type=positive_int, default=DEFAULT_MAX_OPS,
                        help=f"stop after this many verifications (default {DEFAULT_MAX_OPS})")
    args = parser.parse_args(argv)
    try:
        result = measure(args.time_cost, args.memory_kib, args.parallelism, args.threads,
                         args.duration, args.max_ops)
    except Exception as exc:
        print(f"bench.hasher: {type(exc).__name__}: {exc}".replace("\n", " "), file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
