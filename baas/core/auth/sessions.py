"""Sign-in sessions and their rotating refresh tokens.

A session is one sign-in on one device: ``sessions`` holds it with the hash of its
current refresh token. Refreshing spends the token: its hash moves to
``spent_refresh_tokens`` (keyed by the hash, so spending is a unique insert that only
one caller can win) and a new token is issued. Presenting a spent token again means
it was copied: the whole session (the token family) is revoked.

A session ends when unused for the idle lifetime or at its absolute lifetime,
whichever comes first; ``expires_at`` holds that moment and a TTL index sweeps it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from baas.core import clock
from baas.core.credentials import hash_secret, new_secret, new_sorted_id
from baas.core.errors import Unauthorized
from baas.store import And, Cmp, Collection, Database, DuplicateKeyError, IndexSpec, all_of, eq

REFRESH_PREFIX = "rt_"
MAX_REFRESH_CHARS = 200
MAX_SESSIONS_LISTED = 1000
log = logging.getLogger("baas.auth")


class RefreshError(Unauthorized):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def invalid_refresh() -> RefreshError:
    return RefreshError("invalid_refresh_token",
                        "the refresh token is not valid or has expired; sign in again")


async def create_indexes(db: Database) -> None:
    """Migration step (see ``baas.core.migrations``)."""
    records, spent = db.collection("sessions"), db.collection("spent_refresh_tokens")
    await records.ensure_index(IndexSpec((("refresh_hash", 1),), unique=True))
    await records.ensure_index(IndexSpec((("user_id", 1),)))
    await records.ensure_index(IndexSpec((("expires_at", 1),), ttl=True))
    await spent.ensure_index(IndexSpec((("session_id", 1),)))
    await spent.ensure_index(IndexSpec((("expires_at", 1),), ttl=True))


class Sessions:
    """The sessions of one project."""

    def __init__(self, db: Database, idle_seconds: int, absolute_seconds: int) -> None:
        self.records: Collection = db.collection("sessions")
        self.spent: Collection = db.collection("spent_refresh_tokens")
        self.idle = idle_seconds
        self.absolute = absolute_seconds

    def _lifetimes(self, created: str) -> dict[str, str]:
        now = clock.now()
        idle_end = clock.iso(now + timedelta(seconds=self.idle))
        absolute_end = clock.iso(clock.parse(created) + timedelta(seconds=self.absolute))
        return {"last_used_at": clock.iso(now), "idle_expires_at": idle_end,
                "absolute_expires_at": absolute_end, "expires_at": min(idle_end, absolute_end)}

    async def start(self, user_id: str, *, user_agent: str | None, ip: str | None
                    ) -> tuple[dict[str, Any], str]:
        """A new session for ``user_id`` and its first refresh token."""
        token = new_secret(REFRESH_PREFIX)
        created = clock.now_iso()
        record = {
            "id": new_sorted_id("ses_"),
            "user_id": user_id,
            "refresh_hash": hash_secret(token),
            "created_at": created,
            "user_agent": (user_agent or "")[:256] or None,
            "ip": ip,
            **self._lifetimes(created),
        }
        return await self.records.insert(record), token

    async def rotate(self, token: str) -> tuple[dict[str, Any], str]:
        """Spend ``token`` and return its session with a new refresh token."""
        if not token.startswith(REFRESH_PREFIX) or len(token) > MAX_REFRESH_CHARS:
            raise invalid_refresh()
        token_hash = hash_secret(token)
        session = await self.records.find_one(eq("refresh_hash", token_hash))
        if session is None:
            spent = await self.spent.get(token_hash)
            if spent is not None:
                raise await self._reused(spent["session_id"], spent.get("user_id"))
            raise invalid_refresh()
        if session["expires_at"] <= clock.now_iso():
            await self.revoke(session["id"])
            raise RefreshError("session_expired", "the session has expired; sign in again")
        try:
            # Only one caller can spend a given token: the insert is unique on its hash.
            await self.spent.insert({"id": token_hash, "session_id": session["id"],
                                     "user_id": session["user_id"],
                                     "expires_at": session["absolute_expires_at"]})
        except DuplicateKeyError:
            raise await self._reused(session["id"], session["user_id"]) from None
        new_token = new_secret(REFRESH_PREFIX)
        updated = await self.records.find_one_and_update(
            And((eq("id", session["id"]), eq("refresh_hash", token_hash))),
            {"refresh_hash": hash_secret(new_token), **self._lifetimes(session["created_at"])},
        )
        if updated is None:  # revoked meanwhile (logout, password reset)
            raise invalid_refresh()
        return updated, new_token

    async def _reused(self, session_id: str, user_id: str | None) -> RefreshError:
        """Revoke the family of a spent token presented again; the error to answer."""
        log.warning("refresh token reuse: session revoked",
                    extra={"session_id": session_id, "user_id": user_id})
        await self.revoke(session_id)
        return RefreshError("refresh_token_reused",
                           "this refresh token was already used, so the session has been "
                           "ended for safety; sign in again")

    async def get(self, session_id: str) -> dict[str, Any] | None:
        """The live session ``session_id``, or None when ended or expired."""
        if not isinstance(session_id, str) or len(session_id) > 64:
            return None
        found = await self.records.get(session_id)
        if found is None or found["expires_at"] <= clock.now_iso():
            return None
        return found

    async def list(self, user_id: str) -> list[dict[str, Any]]:
        page = await self.records.find(
            all_of(eq("user_id", user_id), Cmp(">", "expires_at", clock.now_iso())),
            sort=[("id", -1)], limit=MAX_SESSIONS_LISTED)  # ids sort by creation time
        return page.items

    async def revoke(self, session_id: str) -> bool:
        removed = await self.records.delete(session_id)
        await self.spent.delete_many(eq("session_id", session_id))
        return removed

    async def revoke_user(self, user_id: str, *, keep: str | None = None) -> int:
        """End every session of ``user_id`` (but ``keep``, when given)."""
        condition = all_of(eq("user_id", user_id),
                           Cmp("!=", "id", keep) if keep is not None else None)
        removed = await self.records.delete_many(condition)
        spent = all_of(eq("user_id", user_id),
                       Cmp("!=", "session_id", keep) if keep is not None else None)
        await self.spent.delete_many(spent)
        return removed


def public(record: dict[str, Any], current_sid: str | None = None) -> dict[str, Any]:
    return {
        "id": record["id"],
        "created_at": record["created_at"],
        "last_used_at": record["last_used_at"],
        "expires_at": record["expires_at"],
        "user_agent": record.get("user_agent"),
        "ip": record.get("ip"),
        "current": record["id"] == current_sid,
    }
