"""Random credentials, their stored hashes and constant-time comparison.

API keys and tokens are 256-bit random values, so a fast SHA-256 of them is safe
to store and to index; passwords go through argon2id in ``passwords``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SECRET_BYTES = 32


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(SECRET_BYTES)


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)


def new_sorted_id(prefix: str) -> str:
    """An id that sorts by creation time (milliseconds, then 48 random bits)."""
    return f"{prefix}{time.time_ns() // 1_000_000:012x}{secrets.token_hex(6)}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
