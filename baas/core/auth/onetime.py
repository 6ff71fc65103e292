"""Single-use tokens sent by email: email verification and password reset.

A token is 192 random bits, stored only as its SHA-256 (the record's id). Spending
is one atomic find-and-update on "this hash, this purpose, unused, unexpired", so
of any number of concurrent attempts exactly one succeeds. A flow first ``find``s the
record, checks the request (and hashes a new password), and only then ``spend``s it, so a
request that fails for what it sent never uses up the token.
"""

from __future__ import annotations

import secrets
from typing import Any, Literal

from baas.core import clock
from baas.core.credentials import hash_secret
from baas.store import And, Cmp, Collection, Database, IndexSpec, all_of, eq

Purpose = Literal["verify_email", "reset_password"]
TOKEN_BYTES = 24
MAX_TOKEN_CHARS = 200


async def create_indexes(db: Database) -> None:
    """Migration step (see ``baas.core.migrations``)."""
    records = db.collection("email_tokens")
    await records.ensure_index(IndexSpec((("user_id", 1),)))
    await records.ensure_index(IndexSpec((("expires_at", 1),), ttl=True))


class OneTimeTokens:
    """The ``email_tokens`` collection of one project."""

    def __init__(self, db: Database) -> None:
        self.records: Collection = db.collection("email_tokens")

    async def issue(self, purpose: Purpose, user_id: str, email: str, ttl: int) -> str:
        """A new token; earlier unused ones of the same purpose stop working."""
        await self.discard(user_id, purpose)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        await self.records.insert({
            "id": hash_secret(token),
            "purpose": purpose,
            "user_id": user_id,
            "email": email,
            "used": False,
            "created_at": clock.now_iso(),
            "expires_at": clock.later_iso(ttl),
        })
        return token

    async def find(self, purpose: Purpose, token: str) -> dict[str, Any] | None:
        """The token's record when it could be spent now, without spending it: a request
        checks everything it can (the user, the new password) before ``spend``."""
        if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
            return None  # tokens are URL-safe base64
        return await self.records.find_one(self._usable(purpose, hash_secret(token)))

    async def spend(self, record: dict[str, Any]) -> bool:
        """Mark a record from ``find`` used; False when it was spent (or expired) since."""
        spent = await self.records.find_one_and_update(
            self._usable(record["purpose"], record["id"]),
            {"used": True, "used_at": clock.now_iso()},
        )
        return spent is not None

    @staticmethod
    def _usable(purpose: str, record_id: str) -> And:
        return And((eq("id", record_id), eq("purpose", purpose), eq("used", False),
                    Cmp(">", "expires_at", clock.now_iso())))

    async def discard(self, user_id: str, purpose: Purpose | None = None) -> int:
        return await self.records.delete_many(
            all_of(eq("user_id", user_id), eq("purpose", purpose) if purpose else None))
