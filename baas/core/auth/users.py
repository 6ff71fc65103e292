"""End users of a project: their records, profile data and the checks on them.

Users live in the project database, collection ``users``. An anonymous user has no
``email`` field at all (not ``null``), so the unique index on ``email`` behaves the
same on both engines.
"""

from __future__ import annotations

import json
import re
from typing import Any

from baas.core import clock
from baas.core.auth.passwords import MAX_BYTES, password_problem, too_long
from baas.core.credentials import new_sorted_id
from baas.core.errors import BadRequest, Conflict, NotFound
from baas.store import Cmp, Collection, Database, DuplicateKeyError, Filter, IndexSpec, all_of, eq

COLLECTION = "users"
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s.][^@\s]{0,253}$")
FIELD_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
MAX_DATA_BYTES = 16 * 1024
MAX_DATA_DEPTH = 16
PUBLIC_FIELDS = ("id", "email", "email_verified", "anonymous", "disabled", "data",
                 "created_at", "updated_at", "last_sign_in_at")


def normalize_email(email: str) -> str:
    """Trimmed and lower-cased, so ``A@X.org `` and ``a@x.org`` are one account."""
    normalized = email.strip().lower()
    if not EMAIL_RE.match(normalized) or len(normalized) > 320:
        raise BadRequest(f"{email.strip()[:80]!r} is not an email address",
                         code="invalid_email", details={"field": "email"})
    return normalized


def check_password(password: str) -> None:
    """The password policy, checked before any hashing (so a huge one costs nothing)."""
    problem = password_problem(password)
    if problem is None:
        return
    code = "password_too_long" if too_long(password) else "weak_password"
    raise BadRequest(problem, code=code, details={"field": "password", "max_bytes": MAX_BYTES})


def check_data(data: dict[str, Any]) -> None:
    """Profile data: a JSON object with plain field names, at most 16 KiB."""

    def walk(value: Any, depth: int, where: str) -> None:
        if depth > MAX_DATA_DEPTH:
            raise BadRequest(f"data is nested deeper than {MAX_DATA_DEPTH} levels",
                             code="invalid_data", details={"field": where})
        if isinstance(value, dict):
            for key, item in value.items():
                if not FIELD_RE.fullmatch(key):
                    raise BadRequest(
                        f"data field name {key[:64]!r} is not allowed: use letters, digits "
                        "and '_', starting with a letter",
                        code="invalid_data", details={"field": f"{where}.{key}"[:200]})
                walk(item, depth + 1, f"{where}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, depth + 1, f"{where}.{index}")
        elif isinstance(value, int) and not -(2**63) <= value < 2**63:
            # The stores hold 64-bit integers; a larger one was a 500 (as in documents).
            raise BadRequest("data integers must fit in 64 bits (-2**63 to 2**63-1)",
                             code="invalid_data", details={"field": where[:200]})

    walk(data, 0, "data")
    try:
        size = len(json.dumps(data, allow_nan=False, separators=(",", ":")).encode())
    except ValueError:
        raise BadRequest("data cannot hold NaN or Infinity", code="invalid_data") from None
    if size > MAX_DATA_BYTES:
        raise BadRequest(f"data is larger than {MAX_DATA_BYTES} bytes", code="invalid_data",
                         details={"field": "data", "max_bytes": MAX_DATA_BYTES})


def merge_data(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Top-level merge: each key replaces, ``null`` removes."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def public(record: dict[str, Any]) -> dict[str, Any]:
    view = {name: record.get(name) for name in PUBLIC_FIELDS}
    view["data"] = record.get("data") or {}
    for flag in ("email_verified", "anonymous", "disabled"):
        view[flag] = bool(record.get(flag))
    return view


def not_found(user_id: str) -> NotFound:
    return NotFound(f"user {user_id[:64]!r} not found", code="user_not_found")


async def create_indexes(db: Database) -> None:
    """Migration step (see ``baas.core.migrations``): one account per email."""
    await db.collection(COLLECTION).ensure_index(IndexSpec((("email", 1),), unique=True))


class Users:
    """The ``users`` collection of one project."""

    def __init__(self, db: Database) -> None:
        self.records: Collection = db.collection(COLLECTION)

    async def create(self, *, email: str | None, password_hash: str | None,
                     data: dict[str, Any] | None = None, email_verified: bool = False,
                     disabled: bool = False) -> dict[str, Any]:
        now = clock.now_iso()
        record: dict[str, Any] = {
            "id": new_sorted_id("usr_"),
            "email_verified": email_verified and email is not None,
            "anonymous": email is None,
            "disabled": disabled,
            "data": data or {},
            "created_at": now,
            "updated_at": now,
            "last_sign_in_at": None,
        }
        if email is not None:
            record["email"] = email
        if password_hash is not None:
            record["password_hash"] = password_hash
        try:
            return await self.records.insert(record)
        except DuplicateKeyError:
            raise email_taken() from None

    async def get(self, user_id: str) -> dict[str, Any] | None:
        if not isinstance(user_id, str) or len(user_id) > 64:
            return None
        return await self.records.get(user_id)

    async def require(self, user_id: str) -> dict[str, Any]:
        found = await self.get(user_id)
        if found is None:
            raise not_found(user_id)
        return found

    async def by_email(self, email: str) -> dict[str, Any] | None:
        return await self.records.find_one(eq("email", email))

    async def update(self, user_id: str, set: dict[str, Any], unset: tuple[str, ...] = ()
                     ) -> dict[str, Any]:
        try:
            updated = await self.records.update(
                user_id, {**set, "updated_at": clock.now_iso()}, unset=unset)
        except DuplicateKeyError:
            raise email_taken() from None
        if updated is None:
            raise not_found(user_id)
        return updated

    async def delete(self, user_id: str) -> bool:
        return await self.records.delete(user_id)

    async def list(self, *, limit: int, cursor: str | None, email_prefix: str | None = None,
                   disabled: bool | None = None, anonymous: bool | None = None
                   ) -> tuple[list[dict[str, Any]], str | None]:
        conditions: list[Filter | None] = []
        if email_prefix:
            prefix = email_prefix.strip().lower()
            conditions += [Cmp(">=", "email", prefix), Cmp("<", "email", prefix + "\U0010ffff")]
        if disabled is not None:
            conditions.append(eq("disabled", disabled))
        if anonymous is not None:
            conditions.append(eq("anonymous", anonymous))
        # Ids sort by creation time, so the id order is the sign-up order.
        page = await self.records.find(all_of(*conditions), limit=limit, cursor=cursor)
        return page.items, page.next_cursor


def email_taken() -> Conflict:
    return Conflict("an account with this email already exists",
                    code="email_taken", details={"field": "email"})
