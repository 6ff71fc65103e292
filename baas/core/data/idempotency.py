"""``Idempotency-Key`` on writes: a replay with the same body gets the first answer.

Each key is scoped to the route and the caller, stored as a SHA-256 of both, and
kept for 24 hours (a TTL index sweeps it). The key is claimed with a unique insert
and a short lease before the write runs, and completed *in the write's own commit*
(``Claim.completion`` is one more operation of the unit of work, see
``baas.core.data.writes``): a crash at any moment leaves the key either claimed by a
lease that lapses within ``LEASE_SECONDS``, or done with the answer of the write that
committed, never "document written, key pending". A request meeting a live lease
waits for it (polling) and then replays the answer, or takes the key over once the
lease lapsed; the first holder's commit then fails on the key's version and keeps
nothing, so the write happens once. A write that fails releases the key, so a
corrected retry can reuse it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from baas.core import clock
from baas.core.data.writes import BindingLost
from baas.core.errors import BadRequest, Conflict, Unprocessable
from baas.store import BatchOp, Database, DuplicateKeyError, IndexSpec, Update

COLLECTION = "idempotency_keys"
TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255
LEASE_SECONDS = 10.0  # a claim not completed by then may be taken over by a retry
POLL_SECONDS = 0.1  # how often a request waiting on a live lease looks again

Outcome = tuple[int, dict[str, Any]]


def body_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
                         code="invalid_idempotency_key")
    return key


async def create_indexes(db: Database) -> None:
    """Migration step (see ``baas.core.migrations``): expired keys are swept."""
    await db.collection(COLLECTION).ensure_index(IndexSpec((("expires_at", 1),), ttl=True))


@dataclass
class Claim:
    """A key held by this request until ``lease_until``, at record ``version``."""

    record_id: str
    version: int
    bound: bool = False

    def completion(self, status: int) -> Callable[[Any], BatchOp]:
        """The operation that marks the key done with ``(status, response)``: part of
        the write's own commit, and conditional on this claim still holding the key."""
        def done(response: Any) -> BatchOp:
            self.bound = True
            return Update(COLLECTION, self.record_id,
                          {"state": "done", "status": status, "response": response},
                          expected_version=self.version)
        return done


class Idempotency:
    def __init__(self, database: Callable[[str], Database],
                 lease_seconds: float = LEASE_SECONDS) -> None:
        self._database = database
        self.lease_seconds = lease_seconds

    async def run(self, project: str, scope: str, key: str, body: Any,
                  action: Callable[[Claim], Awaitable[Outcome]]) -> Outcome:
        """Run ``action`` once for this key, or answer what its first run answered.
        ``action`` binds the claim into its write (``Claim.completion``)."""
        records = self._database(project).collection(COLLECTION)
        record_id = hashlib.sha256(f"{scope}\0{check_key(key)}".encode()).hexdigest()
        request = body_hash(body)
        # Bounded: a live lease ends within lease_seconds, then the key is taken over.
        deadline = time.monotonic() + self.lease_seconds + 5
        while time.monotonic() < deadline:
            claim, outcome = await self._claim(records, record_id, request)
            if outcome is not None:
                return outcome
            if claim is None:
                await asyncio.sleep(POLL_SECONDS)
                continue
            try:
                status, response = await action(claim)
            except BindingLost:
                continue  # a retry took the key over and wrote: answer what it answered
            except BaseException:
                await records.delete(record_id, expected_version=claim.version)
                raise
            if not claim.bound:  # an action that wrote nothing through the unit of work
                await records.update(record_id, {"state": "done", "status": status,
                                                 "response": response},
                                     expected_version=claim.version)
            return status, response
        raise Conflict("a request with this Idempotency-Key is still running; retry in a "
                       "moment", code="idempotency_key_in_use", headers={"Retry-After": "1"})

    async def _claim(self, records: Any, record_id: str, request: str
                     ) -> tuple[Claim | None, Outcome | None]:
        """Claim the key (a new one, or one whose lease lapsed), or the stored answer;
        (None, None) while another request holds a live lease or the key just moved."""
        lease_until = clock.later_iso(self.lease_seconds)
        try:
            stored = await records.insert({"id": record_id, "request": request,
                                           "state": "pending", "lease_until": lease_until,
                                           "expires_at": clock.later_iso(TTL_SECONDS)})
            return Claim(record_id, int(stored["version"])), None
        except DuplicateKeyError:
            pass
        found = await records.get(record_id)
        if found is None:
            return None, None
        now = clock.now_iso()
        if found["expires_at"] < now:
            await records.delete(record_id, expected_version=found["version"])
            return None, None
        if found["request"] != request:
            raise Unprocessable("this Idempotency-Key was used with a different body; use a "
                                "new key for a new request", code="idempotency_key_reused")
        if found["state"] == "done":
            return None, (int(found["status"]), found["response"])
        # Records written before leases existed have none: theirs has lapsed.
        if found.get("lease_until", "") > now:
            return None, None
        taken = await records.update(record_id, {"lease_until": lease_until},
                                     expected_version=found["version"])
        if taken is None:
            return None, None
        return Claim(record_id, int(taken["version"])), None
