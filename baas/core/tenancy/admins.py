"""Platform admins and their expiring, revocable tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baas.core import clock
from baas.core.auth.passwords import Hasher
from baas.core.auth.throttle import Lockout, Throttle
from baas.core.auth.users import check_password, normalize_email
from baas.core.credentials import hash_secret, new_id, new_secret
from baas.core.errors import BadRequest, Conflict, Unauthorized
from baas.store import Database, DuplicateKeyError, IndexSpec, eq

ADMIN_TOKEN_PREFIX = "adm_"  # noqa: S105


@dataclass(frozen=True)
class AdminSession:
    admin_id: str
    email: str
    token_id: str
    expires_at: str


async def create_indexes(platform_db: Database) -> None:
    """Migration step (see ``baas.core.migrations``)."""
    await platform_db.collection("admins").ensure_index(
        IndexSpec((("email", 1),), unique=True))
    tokens = platform_db.collection("admin_tokens")
    await tokens.ensure_index(IndexSpec((("token_hash", 1),), unique=True))
    await tokens.ensure_index(IndexSpec((("expires_at", 1),), ttl=True))


class Admins:
    def __init__(self, platform_db: Database, hasher: Hasher, token_ttl: int) -> None:
        self.accounts = platform_db.collection("admins")
        self.tokens = platform_db.collection("admin_tokens")
        self.hasher = hasher
        self.token_ttl = token_ttl
        # 10 failures per (account, address) or 50 per address in 15 minutes, then 429
        # for that pair or address; past 100 per account from everywhere, growing delays.
        # So failures from elsewhere never lock an admin out from their own address.
        self.address_throttle = Throttle(50, 900)
        self.lockout = Lockout(10, 100, self.address_throttle, window_seconds=900)

    async def create(self, email: str, password: str) -> dict[str, Any]:
        email = normalize_email(email)
        check_password(password)
        now = clock.now_iso()
        record = {
            "id": new_id("adm_"),
            "email": email,
            "password_hash": await self.hasher.hash(password),
            "created_at": now,
            "updated_at": now,
        }
        try:
            await self.accounts.insert(record)
        except DuplicateKeyError:
            raise Conflict(f"an admin with email {email} already exists",
                           code="admin_exists") from None
        return public(record)

    async def login(self, email: str, password: str, address: str = "local"
                    ) -> tuple[str, dict[str, Any]]:
        """A new admin token for valid credentials; the same error for every failure."""
        try:
            email = normalize_email(email)
        except BadRequest:
            email = ""
        self.lockout.check("email:" + email, address)
        account = await self.accounts.find_one(eq("email", email)) if email else None
        stored = account["password_hash"] if account else None
        ok = await self.hasher.verify(stored, password)
        if not ok or account is None:
            self.lockout.fail("email:" + email, address)
            raise Unauthorized("wrong email or password", code="invalid_credentials")
        self.lockout.succeed("email:" + email, address)
        if self.hasher.needs_rehash(account["password_hash"]):
            await self.accounts.update(
                account["id"], {"password_hash": await self.hasher.hash(password)}
            )
        token = new_secret(ADMIN_TOKEN_PREFIX)
        expires_at = clock.later_iso(self.token_ttl)
        await self.tokens.insert({
            "id": new_id("tok_"),
            "token_hash": hash_secret(token),
            "admin_id": account["id"],
            "created_at": clock.now_iso(),
            "expires_at": expires_at,
        })
        return token, {"expires_at": expires_at, "admin": public(account)}

    async def authenticate(self, token: str) -> AdminSession:
        record = await self.tokens.find_one(eq("token_hash", hash_secret(token)))
        if record is None:
            raise Unauthorized("the admin token is not valid; log in again",
                               code="invalid_token")
        if record["expires_at"] <= clock.now_iso():
            raise Unauthorized("the admin token has expired; log in again", code="token_expired")
        account = await self.accounts.get(record["admin_id"])
        if account is None:
            raise Unauthorized("the admin account no longer exists", code="invalid_token")
        return AdminSession(account["id"], account["email"], record["id"], record["expires_at"])

    async def logout(self, session: AdminSession) -> None:
        await self.tokens.delete(session.token_id)


def public(account: dict[str, Any]) -> dict[str, Any]:
    return {"id": account["id"], "email": account["email"], "created_at": account["created_at"]}
