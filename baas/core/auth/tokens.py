"""Per-project ES256 signing keys and the access tokens (JWTs) they sign.

Keys live in the project database, collection ``signing_keys``, one document each:
``{"id": kid, "private": <sealed PEM>, "public_jwk": {...}, "created_at",
"retired_at": None | iso, "current": True}`` (``current`` only on the active key; a
unique index on it keeps one active key even when nodes race). The private PEM is
sealed with the master key (context ``signing-key:<kid>``), never stored in clear.

Rotation makes a new key current and retires the old one, which keeps verifying
(and stays in the JWKS) for ``retired_grace`` seconds, longer than any token it signed.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from cachetools import LRUCache
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from baas.core import clock
from baas.core.credentials import new_id
from baas.core.errors import Unauthorized, Unavailable
from baas.core.secretbox import SecretBox, SecretBoxError
from baas.store import Database, DuplicateKeyError, IndexSpec, eq

log = logging.getLogger("baas.auth")
ALGORITHM = "ES256"
COLLECTION = "signing_keys"
KID_PREFIX = "sig_"
KID_RE = re.compile(r"^sig_[0-9a-f]{16}$")
REQUIRED_CLAIMS = ["iss", "aud", "sub", "sid", "role", "exp", "iat"]
DEFAULT_TTL = 900
DEFAULT_GRACE = 900 + 60
MAX_TOKEN_CHARS = 8192
ROLES = frozenset({"authenticated", "anonymous"})
NUMERIC_CLAIMS = ("exp", "iat", "nbf")
# token -> (the signing keys that verified it, its kid, its claims), for the whole process
# (every project): about 1 KB each. A token's signature, issuer and audience never
# change, so a second check could only repeat the first (an ES256 verification and a
# key read per request, saved) as long as its key is still there. An entry counts
# only for the SigningKeys object that made it and while that object still knows the
# key (kid): forgetting a project (deleted, re-created under the same id) or a key
# (pruned) drops its entries. Other processes reuse an entry for at most
# ``cache_seconds``, like the API-key cache, since they hear of deletions only then.
VERIFIED_CACHE = 10_000


@dataclass(frozen=True)
class Verified:
    owner: SigningKeys
    kid: str
    claims: dict[str, Any]
    until: float  # reused until then (monotonic), at most cache_seconds


_verified: LRUCache[str, Verified] = LRUCache(VERIFIED_CACHE)


def forget_verified(project: str | None = None, kid: str | None = None) -> int:
    """Drop cached verifications of ``project``'s tokens (or of one key's); the number
    dropped. Attached to ``hooks.project_deleted``; a key's prune calls it too."""
    stale = [token for token, entry in list(_verified.items())
             if (project is None or entry.claims.get("aud") == project)
             and (kid is None or entry.kid == kid)]
    for token in stale:
        _verified.pop(token, None)
    return len(stale)


class TokenError(Unauthorized):
    """An access token that cannot be accepted; ``code`` says why (401)."""

    def __init__(self, code: str = "invalid_token", message: str | None = None) -> None:
        super().__init__(message or MESSAGES.get(code, "the access token is not valid"),
                         code=code)


MESSAGES = {
    "invalid_token": "the access token is not valid",
    "token_expired": "the access token has expired; refresh the session",
}


def _context(kid: str) -> str:
    return "signing-key:" + kid


async def create_indexes(db: Database) -> None:
    """Migration step (see ``baas.core.migrations``): the unique index on ``current``
    keeps one active key even when nodes race."""
    await db.collection(COLLECTION).ensure_index(IndexSpec((("current", 1),), unique=True))


class SigningKeys:
    """One project's signing keys: create, rotate, publish (JWKS), mint and verify."""

    def __init__(self, db: Database, box: SecretBox, issuer: str, *,
                 retired_grace: float = DEFAULT_GRACE, leeway: float = 0,
                 cache_seconds: float = 5.0) -> None:
        self.keys = db.collection(COLLECTION)
        self.db = db
        self.box = box
        self.issuer = issuer
        self.retired_grace = retired_grace
        self.leeway = leeway
        self.cache_seconds = cache_seconds
        self._private: dict[str, ec.EllipticCurvePrivateKey] = {}
        self._public: dict[str, ec.EllipticCurvePublicKey] = {}

    def _new_key(self) -> dict[str, Any]:
        kid = new_id(KID_PREFIX)
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
        jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
        self._private[kid] = private
        return {
            "id": kid,
            "private": self.box.seal(pem, _context(kid)),
            "public_jwk": jwk,
            "created_at": clock.now_iso(),
            "retired_at": None,
            "current": True,
        }

    async def current(self) -> dict[str, Any]:
        """The active key document, created on first use (one, even under races)."""
        found = await self.keys.find_one(eq("current", True))
        if found is not None:
            return found
        record = self._new_key()
        try:
            return await self.keys.insert(record)
        except DuplicateKeyError:
            self._private.pop(record["id"], None)
        found = await self.keys.find_one(eq("current", True))
        if found is None:  # pragma: no cover - the winner was rotated away meanwhile
            return await self.current()
        return found

    async def rotate(self) -> str:
        """Make a new key current; the old one is retired but keeps verifying.

        Two conditional writes, no transaction: retire the current key (only if it is
        still the version read), then insert the new one as current. The unique index
        on ``current`` keeps exactly one active key whatever races in between: a
        concurrent rotation or first use that wins simply leaves its key current.
        """
        old = await self.current()
        now = clock.now()
        retired = await self.keys.update(
            old["id"], {"retired_at": clock.iso(now)}, unset=("current",),
            expected_version=old["version"],
        )
        if retired is None:
            # Another node rotated at the same moment; its new key is current.
            return str((await self.current())["id"])
        record = self._new_key()
        try:
            await self.keys.insert(record)
        except DuplicateKeyError:
            self._private.pop(record["id"], None)
            return str((await self.current())["id"])
        await self._prune(clock.iso(now - timedelta(seconds=self.retired_grace)))
        return str(record["id"])

    async def _prune(self, cutoff: str) -> None:
        """Forget keys retired before ``cutoff``: every token they signed has expired."""
        page = await self.keys.find(limit=1000)
        for doc in page.items:
            retired = doc.get("retired_at")
            if retired and retired < cutoff:
                await self.keys.delete(doc["id"])
                self._private.pop(doc["id"], None)
                self._public.pop(doc["id"], None)
                forget_verified(kid=doc["id"])

    def _usable(self, doc: dict[str, Any], cutoff: str) -> bool:
        retired = doc.get("retired_at")
        return not retired or retired >= cutoff

    def _cutoff(self) -> str:
        return clock.iso(clock.now() - timedelta(seconds=self.retired_grace))

    async def describe(self) -> list[dict[str, Any]]:
        """Every key still kept, newest first: id, created_at, retired_at, current."""
        await self.current()
        page = await self.keys.find(sort=(("created_at", -1),), limit=1000)
        return [{"id": doc["id"], "created_at": doc["created_at"],
                 "retired_at": doc.get("retired_at"), "current": bool(doc.get("current"))}
                for doc in page.items]

    async def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """Public keys of the current key and recently retired ones, newest first."""
        await self.current()
        cutoff = self._cutoff()
        page = await self.keys.find(sort=(("created_at", -1),), limit=1000)
        return {"keys": [dict(doc["public_jwk"]) for doc in page.items
                         if self._usable(doc, cutoff)]}

    def _private_key(self, doc: dict[str, Any]) -> ec.EllipticCurvePrivateKey:
        kid = doc["id"]
        found = self._private.get(kid)
        if found is None:
            try:
                pem = self.box.open(doc["private"], _context(kid))
            except SecretBoxError:
                log.error("signing key cannot be decrypted", extra={"kid": kid})
                raise Unavailable(
                    "this project's signing key cannot be decrypted with the current "
                    "BAAS_SECRET_KEY; restore the previous key, or run "
                    "`baas keys rotate-signing` to make a new one",
                    code="signing_key_unreadable") from None
            loaded = serialization.load_pem_private_key(pem, password=None)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise TypeError(f"signing key {kid} is not an EC key")
            found = self._private[kid] = loaded
        return found

    def _public_key(self, doc: dict[str, Any]) -> ec.EllipticCurvePublicKey:
        kid = doc["id"]
        found = self._public.get(kid)
        if found is None:
            loaded = ECAlgorithm.from_jwk(doc["public_jwk"])
            if not isinstance(loaded, ec.EllipticCurvePublicKey):
                raise TypeError(f"signing key {kid} has no EC public key")
            found = self._public[kid] = loaded
        return found

    async def mint(self, project: str, sub: str, sid: str, role: str,
                   ttl: int = DEFAULT_TTL) -> str:
        """A signed access token for ``sub`` in ``project``, valid ``ttl`` seconds."""
        if not 0 < ttl <= self.retired_grace:
            raise ValueError(f"ttl must be between 1 and {self.retired_grace} seconds")
        doc = await self.current()
        issued = int(clock.now().timestamp())
        claims = {"iss": self.issuer, "aud": project, "sub": sub, "sid": sid,
                  "role": role, "iat": issued, "exp": issued + int(ttl)}
        return jwt.encode(claims, self._private_key(doc), algorithm=ALGORITHM,
                          headers={"kid": doc["id"]})

    async def verify(self, token: str, project: str) -> dict[str, Any]:
        """The claims of a valid token for ``project``; TokenError for anything else."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise TokenError("invalid_token")
        known = _verified.get(token)
        if (known is not None and known.owner is self and known.kid in self._public
                and time.monotonic() < known.until and known.claims["aud"] == project
                and time.time() < known.claims["exp"] + self.leeway):
            return known.claims
        kid, claims = await self._verify(token, project)  # expired ones fail here
        if self.cache_seconds > 0:
            _verified[token] = Verified(self, kid, claims,
                                        time.monotonic() + self.cache_seconds)
        return claims

    async def _verify(self, token: str, project: str) -> tuple[str, dict[str, Any]]:
        """The signing key id and the checked claims of ``token``."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenError("invalid_token") from None
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not KID_RE.match(kid):
            raise TokenError("invalid_token")
        doc = await self.keys.get(kid)
        if doc is None or not self._usable(doc, self._cutoff()):
            raise TokenError("invalid_token", "the access token was signed by an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._public_key(doc), algorithms=[ALGORITHM], audience=project,
                issuer=self.issuer, leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS, "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token_expired") from None
        except jwt.InvalidAudienceError:
            raise TokenError("invalid_token",
                             "the access token belongs to another project") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenError("invalid_token",
                             f"the access token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError:
            raise TokenError("invalid_token") from None
        check_claims(claims, project)
        return kid, claims


def check_claims(claims: dict[str, Any], project: str) -> None:
    """What PyJWT lets through: numeric strings as times, a list as audience, any role."""
    for name in NUMERIC_CLAIMS:
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)
                               or not math.isfinite(value)):
            raise TokenError("invalid_token", f"the access token's {name!r} claim is not a "
                             "number of seconds")
    if claims.get("aud") != project:  # also refuses a list, even one holding the project
        raise TokenError("invalid_token", "the access token belongs to another project")
    for name in ("sub", "sid", "role"):
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise TokenError("invalid_token", f"the access token has a bad {name!r} claim")
    if claims["role"] not in ROLES:
        raise TokenError("invalid_token", "the access token has an unknown 'role'")
