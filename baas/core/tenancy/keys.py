"""Project API keys: shown once, stored as SHA-256 hashes, looked up by that hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cachetools import TTLCache

from baas.core import clock
from baas.core.credentials import hash_secret, new_id, new_secret, same
from baas.core.errors import BadRequest, NotFound, Unauthorized
from baas.store import Database, IndexSpec, eq

KeyKind = Literal["publishable", "secret"]
PREFIXES: dict[str, str] = {"publishable": "pk_", "secret": "sk_"}
KEY_FIELDS = ("id", "project", "kind", "name", "prefix", "created_at", "expires_at",
              "revoked_at")
MAX_KEYS_PER_PROJECT = 100
CACHED_KEYS = 10_000


def looks_like_key(value: str) -> bool:
    return value.startswith(("pk_", "sk_"))


@dataclass(frozen=True)
class ProjectKey:
    id: str
    project: str
    kind: KeyKind


async def create_indexes(platform_db: Database) -> None:
    """Migration step (see ``baas.core.migrations``)."""
    records = platform_db.collection("keys")
    await records.ensure_index(IndexSpec((("hash", 1),), unique=True))
    await records.ensure_index(IndexSpec((("project", 1), ("created_at", 1))))


class Keys:
    def __init__(self, platform_db: Database, cache_seconds: float = 0) -> None:
        self.records = platform_db.collection("keys")
        # Key records by hash, reused for cache_seconds: every request presents a key, and
        # a read per request is most of what a cheap request costs. A revocation here
        # applies at once; one through another process within cache_seconds.
        self._known: TTLCache[str, dict[str, Any]] | None = (
            TTLCache(CACHED_KEYS, cache_seconds) if cache_seconds > 0 else None)

    async def create(
        self, project: str, kind: str, name: str | None, expires_at: str | None
    ) -> dict[str, Any]:
        if kind not in PREFIXES:
            raise BadRequest("kind must be 'publishable' or 'secret'", code="invalid_key_kind")
        if expires_at is not None:
            try:
                moment = clock.parse(expires_at)
            except ValueError:
                raise BadRequest("expires_at must be an RFC 3339 timestamp",
                                 code="invalid_expires_at") from None
            if moment <= clock.now():
                raise BadRequest("expires_at must be in the future", code="invalid_expires_at")
            expires_at = clock.iso(moment)
        if await self.records.count(eq("project", project)) >= MAX_KEYS_PER_PROJECT:
            raise BadRequest(f"a project has at most {MAX_KEYS_PER_PROJECT} keys; revoke some",
                             code="too_many_keys")
        secret = new_secret(PREFIXES[kind])
        record = {
            "id": new_id("key_"),
            "project": project,
            "kind": kind,
            "name": name or f"{kind} key",
            "prefix": secret[:10],
            "hash": hash_secret(secret),
            "created_at": clock.now_iso(),
            "expires_at": expires_at,
            "revoked_at": None,
        }
        await self.records.insert(record)
        return {**public(record), "secret": secret}

    async def list(self, project: str) -> list[dict[str, Any]]:
        page = await self.records.find(eq("project", project), sort=[("created_at", 1)])
        return [public(r) for r in page.items]

    async def revoke(self, project: str, key_id: str) -> dict[str, Any]:
        record = await self.records.get(key_id)
        if record is None or record["project"] != project:
            raise NotFound(f"key '{key_id}' not found in project '{project}'",
                           code="key_not_found")
        if record["revoked_at"] is None:
            record = await self.records.update(key_id, {"revoked_at": clock.now_iso()}) or record
        self.forget()
        return public(record)

    async def delete_all(self, project: str) -> None:
        await self.records.delete_many(eq("project", project))
        self.forget()

    def forget(self) -> None:
        """Drop the reused records (after a revocation or a deleted project)."""
        if self._known is not None:
            self._known.clear()

    async def authenticate(self, project: str, secret: str) -> ProjectKey:
        """The key for ``secret`` if it is live and belongs to ``project``."""
        digest = hash_secret(secret)
        record = self._known.get(digest) if self._known is not None else None
        if record is None:
            record = await self.records.find_one(eq("hash", digest))
            if record is not None and self._known is not None:
                self._known[digest] = record
        # The lookup is by hash; the comparison re-checks in constant time.
        if record is None or not same(record["hash"], digest) or record["project"] != project:
            raise Unauthorized("the API key is not valid for this project", code="invalid_key")
        if record["revoked_at"] is not None:
            raise Unauthorized("the API key has been revoked", code="key_revoked")
        if record["expires_at"] is not None and record["expires_at"] <= clock.now_iso():
            raise Unauthorized("the API key has expired", code="key_expired")
        return ProjectKey(record["id"], record["project"], record["kind"])


def public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in KEY_FIELDS}
