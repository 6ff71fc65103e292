"""``Idempotency-Key`` on writes: a replay with the same body gets the first answer.

Each key is scoped to the route and the caller, stored as a SHA-256 of both, and
kept for 24 hours (a TTL index sweeps it). The key is claimed with a unique insert
before the write runs, so two concurrent requests with one key cannot both write:
the second is told to retry. A write that fails releases the key, so a corrected
retry can reuse it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from baas.core import clock
from baas.core.errors import BadRequest, Conflict, Unprocessable
from baas.store import Database, DuplicateKeyError, IndexSpec

COLLECTION = "idempotency_keys"
TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255

Outcome = tuple[int, dict[str, Any]]


def body_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
                         code="invalid_idempotency_key")
    return key


class Idempotency:
    def __init__(self, database: Callable[[str], Database]) -> None:
        self._database = database
        self._ready: set[str] = set()

    async def setup(self, project: str) -> None:
        collection = self._database(project).collection(COLLECTION)
        await collection.ensure_index(IndexSpec((("expires_at", 1),), ttl=True))
        self._ready.add(project)

    async def _collection(self, project: str) -> Any:
        if project not in self._ready:
            await self.setup(project)
        return self._database(project).collection(COLLECTION)

    async def run(self, project: str, scope: str, key: str, body: Any,
                  action: Callable[[], Awaitable[Outcome]]) -> Outcome:
        records = await self._collection(project)
        record_id = hashlib.sha256(f"{scope}\0{check_key(key)}".encode()).hexdigest()
        request = body_hash(body)
        for _ in range(2):
            try:
                await records.insert({"id": record_id, "request": request, "state": "pending",
                                      "expires_at": clock.later_iso(TTL_SECONDS)})
                break
            except DuplicateKeyError:
                found = await records.get(record_id)
                if found is None:
                    continue
                if found["expires_at"] < clock.now_iso():
                    await records.delete(record_id, expected_version=found["version"])
                    continue
                if found["request"] != request:
                    raise Unprocessable(
                        "this Idempotency-Key was used with a different body; use a new key "
                        "for a new request", code="idempotency_key_reused") from None
                if found["state"] != "done":
                    raise Conflict("a request with this Idempotency-Key is still running; "
                                   "retry in a moment", code="idempotency_key_in_use",
                                   headers={"Retry-After": "1"}) from None
                return int(found["status"]), found["response"]
        else:
            raise Conflict("this Idempotency-Key is busy; retry in a moment",
                           code="idempotency_key_in_use")
        try:
            status, response = await action()
        except BaseException:
            await records.delete(record_id)
            raise
        await records.update(record_id, {"state": "done", "status": status,
                                          "response": response})
        return status, response
