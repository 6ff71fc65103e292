"""Random credentials, their stored hashes and constant-time comparison.

API keys and tokens are 256-bit random values, so a fast SHA-256 of them is safe
to store and to index; passwords go through argon2id in ``passwords``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

SECRET_BYTES = 32


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(SECRET_BYTES)


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)


_last_id = [0, 0]  # (milliseconds, 48-bit tail) of the last sorted id made here
_id_lock = threading.Lock()


def new_sorted_id(prefix: str) -> str:
    """An id that sorts by creation time: milliseconds, then 48 bits that start random
    and count up within one millisecond, so ids made here are strictly increasing
    (documents created by one batch list in their batch order)."""
    now = time.time_ns() // 1_000_000
    with _id_lock:
        ms, tail = _last_id
        if now > ms:
            ms, tail = now, secrets.randbits(47)
        else:
            tail += 1 + secrets.randbits(8)
            if tail >= 1 << 48:
                ms, tail = ms + 1, secrets.randbits(47)
        _last_id[:] = [ms, tail]
    return f"{prefix}{ms:012x}{tail:012x}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
