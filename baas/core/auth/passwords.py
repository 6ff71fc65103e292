"""argon2id password hashing on a bounded thread pool, never on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_BYTES = 1024


HASH_THREAD_NICENESS = 10


def _lower_priority() -> None:
    """Hashing threads yield the CPU to the event loop (Linux: niceness is per thread),
    so cheap requests stay fast while logins saturate the hasher."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_THREAD_NICENESS)


class Hasher:
    def __init__(self, time_cost: int, memory_kib: int, parallelism: int, threads: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2",
                                        initializer=_lower_priority)
        # Verified against when an account does not exist, so timing does not tell.
        self._dummy = self._hasher.hash("dummy password for timing")

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        def _verify() -> bool:
            try:
                return self._hasher.verify(stored or self._dummy, password) and stored is not None
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.get_running_loop().run_in_executor(self._pool, _verify)

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def too_long(password: str) -> bool:
    """Longer than any password we hash; checked first, so a huge one costs nothing."""
    return len(password.encode("utf-8", "surrogatepass")) > MAX_BYTES


def password_problem(password: str) -> str | None:
    """Why a password is refused, or None. Checked before any hashing."""
    if too_long(password):
        return f"password is longer than {MAX_BYTES} bytes"
    if len(password) < MIN_LENGTH:
        return f"password must have at least {MIN_LENGTH} characters"
    return None
