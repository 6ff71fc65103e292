"""Per-project ES256 signing keys and access tokens, on both store engines."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from baas.core import migrations
from baas.core.auth.tokens import SigningKeys, TokenError
from baas.core.errors import Unavailable
from baas.core.secretbox import SecretBox, SecretBoxError
from baas.store import Engine

ISSUER = "http://baas.test"
MASTER = b"master-key-for-tests-0123456789abcdef"


@pytest.fixture(autouse=True)
async def migrated(engine: Engine) -> None:
    """The project database as a created project has it (the unique index on current)."""
    await migrations.migrate(engine.database("p_demo"), migrations.PROJECT)


def make(engine: Engine, **kwargs: Any) -> SigningKeys:
    return SigningKeys(engine.database("p_demo"), SecretBox(MASTER), ISSUER, **kwargs)


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def private_pem(keys: SigningKeys, kid: str) -> bytes:
    doc = await keys.keys.get(kid)
    assert doc is not None
    return keys.box.open(doc["private"], "signing-key:" + kid)


def claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": "p_demo", "sub": "usr_1", "sid": "ses_1",
            "role": "authenticated", "iat": now, "exp": now + 600}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


async def test_mint_and_verify(engine: Engine) -> None:
    keys = make(engine)
    token = await keys.mint("p_demo", "usr_1", "ses_1", "authenticated")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert header["kid"] == (await keys.current())["id"]
    got = await keys.verify(token, "p_demo")
    assert got["sub"] == "usr_1" and got["sid"] == "ses_1" and got["role"] == "authenticated"
    assert got["iss"] == ISSUER and got["aud"] == "p_demo"
    assert got["exp"] - got["iat"] == 900
    # A second instance (another node) verifies with what is in the store.
    assert (await make(engine).verify(token, "p_demo"))["sub"] == "usr_1"


async def test_verify_with_pyjwk_from_jwks(engine: Engine) -> None:
    keys = make(engine)
    token = await keys.mint("p_demo", "usr_1", "ses_1", "anonymous", ttl=60)
    jwks = await keys.jwks()
    assert len(jwks["keys"]) == 1
    jwk = jwks["keys"][0]
    assert jwk["alg"] == "ES256" and jwk["use"] == "sig" and jwk["kty"] == "EC"
    assert jwk["crv"] == "P-256" and "d" not in jwk
    client_jwks = jwt.PyJWKSet.from_dict(jwks)
    key = client_jwks[jwt.get_unverified_header(token)["kid"]]
    got = jwt.decode(token, key, algorithms=["ES256"], audience="p_demo", issuer=ISSUER)
    assert got["role"] == "anonymous"
    single = jwt.PyJWK(jwk)
    assert jwt.decode(token, single, algorithms=["ES256"], audience="p_demo")["sub"] == "usr_1"


async def test_private_key_is_sealed(engine: Engine) -> None:
    keys = make(engine)
    kid = (await keys.current())["id"]
    stored = await engine.database("p_demo").collection("signing_keys").get(kid)
    assert stored is not None
    dumped = json.dumps(stored)
    assert "PRIVATE KEY" not in dumped and "BEGIN" not in dumped
    assert stored["private"].startswith("v1.")
    assert stored["retired_at"] is None
    pem = await private_pem(keys, kid)
    assert b"PRIVATE KEY" in pem
    # A copied database without the master key cannot open it.
    with pytest.raises(SecretBoxError):
        SecretBox(b"another-master-key-0123456789abcdef").open(
            stored["private"], "signing-key:" + kid)
    thief = SigningKeys(engine.database("p_demo"), SecretBox(b"z" * 32), ISSUER)
    with pytest.raises(Unavailable):
        await thief.mint("p_demo", "usr_1", "ses_1", "authenticated")


async def test_adversarial_tokens_are_refused(engine: Engine) -> None:
    keys = make(engine)
    token = await keys.mint("p_demo", "usr_1", "ses_1", "authenticated")
    kid = jwt.get_unverified_header(token)["kid"]
    pem = await private_pem(keys, kid)
    public_pem = serialization.load_pem_private_key(pem, None).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    async def refused(bad: str, code: str = "invalid_token") -> None:
        with pytest.raises(TokenError) as info:
            await keys.verify(bad, "p_demo")
        assert info.value.code == code
        assert info.value.status == 401

    # alg: none, with and without a kid.
    await refused(f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(claims())}.")
    await refused(f"{b64({'alg': 'none'})}.{b64(claims())}.")
    # HS256 with the public key as the HMAC secret (algorithm confusion).
    header = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{b64(claims())}"
    import hashlib
    import hmac
    sig = hmac.new(public_pem, header.encode(), hashlib.sha256).digest()
    await refused(header + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode())
    # Unknown kid (well-formed and not).
    for other in ("sig_0000000000000000", "../../etc", ""):
        await refused(jwt.encode(claims(), pem, algorithm="ES256", headers={"kid": other}))
    await refused(jwt.encode(claims(), pem, algorithm="ES256"))  # no kid
    # Wrong audience: a token of another project.
    other_project = await keys.mint("p_other", "usr_1", "ses_1", "authenticated")
    await refused(other_project)
    assert (await keys.verify(other_project, "p_other"))["aud"] == "p_other"
    # Wrong issuer.
    await refused(jwt.encode(claims(iss="http://evil"), pem, algorithm="ES256",
                             headers={"kid": kid}))
    # Expired.
    now = int(time.time())
    await refused(jwt.encode(claims(iat=now - 1000, exp=now - 10), pem, algorithm="ES256",
                             headers={"kid": kid}), "token_expired")
    # Missing required claims, signed with the real key.
    for name in ("exp", "sub", "sid", "role", "iat", "iss", "aud"):
        await refused(jwt.encode(claims(**{name: None}), pem, algorithm="ES256",
                                 headers={"kid": kid}))
    # Empty or non-string subject.
    await refused(jwt.encode(claims(sub=""), pem, algorithm="ES256", headers={"kid": kid}))
    # Tampered payload: the original signature over another body.
    head, _, sig_part = token.split(".")
    await refused(f"{head}.{b64(claims(sub='usr_admin'))}.{sig_part}")
    # Garbage.
    for junk in ("", "abc", "a.b.c", "x" * 10000):
        await refused(junk)
    # The genuine token still passes.
    assert (await keys.verify(token, "p_demo"))["sub"] == "usr_1"


async def test_rotation_keeps_old_tokens_valid(engine: Engine) -> None:
    keys = make(engine)
    before = await keys.mint("p_demo", "usr_1", "ses_1", "authenticated")
    old_kid = (await keys.current())["id"]
    new_kid = await keys.rotate()
    assert new_kid != old_kid
    assert (await keys.current())["id"] == new_kid
    after = await keys.mint("p_demo", "usr_2", "ses_2", "authenticated")
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    assert (await keys.verify(before, "p_demo"))["sub"] == "usr_1"
    assert (await make(engine).verify(before, "p_demo"))["sub"] == "usr_1"
    assert (await keys.verify(after, "p_demo"))["sub"] == "usr_2"
    kids = [k["kid"] for k in (await keys.jwks())["keys"]]
    assert kids == [new_kid, old_kid]
    old = await keys.keys.get(old_kid)
    assert old is not None and old["retired_at"] is not None and "current" not in old
    client = jwt.PyJWKSet.from_dict(await keys.jwks())
    assert jwt.decode(before, client[old_kid], algorithms=["ES256"], audience="p_demo")


async def test_retired_key_stops_verifying_after_grace(engine: Engine) -> None:
    keys = make(engine, retired_grace=1)
    before = await keys.mint("p_demo", "usr_1", "ses_1", "authenticated", ttl=1)
    old_kid = (await keys.current())["id"]
    await keys.rotate()
    await asyncio.sleep(1.2)
    assert [k["kid"] for k in (await keys.jwks())["keys"]] != [old_kid]
    assert old_kid not in [k["kid"] for k in (await keys.jwks())["keys"]]
    with pytest.raises(TokenError):
        await keys.verify(before, "p_demo")
    # The next rotation forgets it entirely.
    await keys.rotate()
    assert await keys.keys.get(old_kid) is None
    with pytest.raises(ValueError):
        await keys.mint("p_demo", "usr_1", "ses_1", "authenticated", ttl=900)


async def test_concurrent_first_use_creates_one_key(engine: Engine) -> None:
    db = engine.database("p_demo")
    nodes = [SigningKeys(db, SecretBox(MASTER), ISSUER) for _ in range(8)]
    docs = await asyncio.gather(*(node.current() for node in nodes))
    assert len({doc["id"] for doc in docs}) == 1
    assert await db.collection("signing_keys").count() == 1
    tokens = await asyncio.gather(
        *(node.mint("p_demo", f"usr_{i}", "ses", "authenticated") for i, node in enumerate(nodes)))
    for token in tokens:
        await nodes[0].verify(token, "p_demo")


async def test_concurrent_rotations_leave_one_current_key(engine: Engine) -> None:
    db = engine.database("p_demo")
    nodes = [SigningKeys(db, SecretBox(MASTER), ISSUER) for _ in range(4)]
    first = (await nodes[0].current())["id"]
    await asyncio.gather(*(node.rotate() for node in nodes))
    from baas.store import eq
    current = (await db.collection("signing_keys").find(eq("current", True))).items
    assert len(current) == 1 and current[0]["id"] != first
    assert (await nodes[1].current())["id"] == current[0]["id"]


async def test_changed_master_key_answers_503_until_rotation(engine: Engine) -> None:
    old = make(engine)
    before = await old.mint("p_demo", "usr_1", "ses_1", "authenticated")
    changed = SigningKeys(engine.database("p_demo"), SecretBox(b"another-master-key-" * 3),
                          ISSUER)
    with pytest.raises(Unavailable) as caught:
        await changed.mint("p_demo", "usr_1", "ses_1", "authenticated")
    assert caught.value.code == "signing_key_unreadable"
    assert "rotate-signing" in caught.value.message
    # Verifying needs only the public key, so issued tokens keep working.
    assert (await changed.verify(before, "p_demo"))["sub"] == "usr_1"
    await changed.rotate()
    after = await changed.mint("p_demo", "usr_2", "ses_2", "authenticated")
    assert (await changed.verify(after, "p_demo"))["sub"] == "usr_2"


async def test_verified_tokens_are_remembered_until_they_expire(engine: Engine) -> None:
    keys = make(engine)
    short = await keys.mint("p_demo", "usr_1", "ses_1", "authenticated", ttl=1)
    assert (await keys.verify(short, "p_demo"))["sub"] == "usr_1"
    assert (await keys.verify(short, "p_demo"))["sub"] == "usr_1"
    await expect_code(keys.verify(short, "p_other"), "invalid_token")
    await asyncio.sleep(1.1)
    await expect_code(keys.verify(short, "p_demo"), "token_expired")
    token = await keys.mint("p_demo", "usr_2", "ses_2", "authenticated")
    assert (await keys.verify(token, "p_demo"))["sub"] == "usr_2"
    # The second check needs neither the store nor the signature: with the keys
    # collection gone, only the remembered answer can accept the token...
    await engine.database("p_demo").drop_collection("signing_keys")
    assert (await keys.verify(token, "p_demo"))["sub"] == "usr_2"
    # ...and only that exact token: one changed character is checked afresh.
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    await expect_code(keys.verify(forged, "p_demo"), "invalid_token")


async def expect_code(pending: Any, code: str) -> None:
    with pytest.raises(TokenError) as info:
        await pending
    assert info.value.code == code
