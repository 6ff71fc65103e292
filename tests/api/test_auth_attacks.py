"""Forged access tokens, and email verification / password reset through the outbox,
on both engines. Each attack answers 4xx and changes nothing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from baas.core.platform import Platform
from baas.settings import Settings
from tests.api.test_admin_api import error_of
from tests.api.test_auth_api import PASSWORD, as_user, log_in, sign_up
from tests.conftest import make_settings

P = "/v1/projects/demo"
PUBLIC_URL = "https://app.example.com"


@pytest.fixture
def settings(engine_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(engine_kind, tmp_path, request, public_url=PUBLIC_URL)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict[str, Any], claims: dict[str, Any], sign: Any = None) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{b64(signature)}"


async def real_key(platform: Platform) -> tuple[str, ec.EllipticCurvePrivateKey]:
    keys = platform.signing("demo")
    doc = await keys.current()
    return doc["id"], keys._private_key(doc)


def claims_for(auth: dict[str, Any], **changes: Any) -> dict[str, Any]:
    claims = jwt.decode(auth["session"]["access_token"], options={"verify_signature": False})
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def test_forged_access_tokens_are_refused(client: httpx2.AsyncClient, pk: dict,
                                                platform: Platform) -> None:
    auth = await sign_up(client, pk)
    kid, private = await real_key(platform)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    stranger = ec.generate_private_key(ec.SECP256R1())

    def es256(key: ec.EllipticCurvePrivateKey, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid, **header})

    forged = {
        "alg none": raw_token({"alg": "none", "typ": "JWT", "kid": kid}, claims_for(auth)),
        "alg none, no kid": raw_token({"alg": "none"}, claims_for(auth)),
        "HS256 with the public key": raw_token(
            {"alg": "HS256", "typ": "JWT", "kid": kid}, claims_for(auth),
            lambda data: hmac.new(public_pem, data, hashlib.sha256).digest()),
        "unknown kid": es256(stranger, claims_for(auth), kid="sig_0000000000000000"),
        "right kid, wrong key": es256(stranger, claims_for(auth)),
        "wrong aud": es256(private, claims_for(auth, aud="other")),
        "wrong iss": es256(private, claims_for(auth, iss="https://evil.example/v1/projects/demo")),
        "expired": es256(private, claims_for(auth, iat=now - 2000, exp=now - 1000)),
        "missing exp": es256(private, claims_for(auth, exp=None)),
        "missing sub": es256(private, claims_for(auth, sub=None)),
        "missing sid": es256(private, claims_for(auth, sid=None)),
        "non-string sub": es256(private, claims_for(auth, sub=123)),
        "tampered payload": auth["session"]["access_token"].split(".")[0] + "."
        + b64(json.dumps(claims_for(auth, sub="usr_someone_else")).encode()) + "."
        + auth["session"]["access_token"].split(".")[2],
        "garbage": "not.a.jwt",
        "huge": "a" * 9000,
    }
    for name, token in forged.items():
        response = await client.get(f"{P}/auth/me", headers={**pk,
                                                             "Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (name, response.text)
        code = response.json()["error"]["code"]
        assert code in ("invalid_token", "token_expired"), (name, code)
        assert "Traceback" not in response.text and "private" not in response.text
    expired = forged["expired"]
    error_of(await client.get(f"{P}/auth/me", headers={**pk, "Authorization": f"Bearer {expired}"}),
             401, "token_expired")
    # The genuine token still works, so nothing above changed state.
    assert (await client.get(f"{P}/auth/me", headers=as_user(pk, auth))).status_code == 200


async def test_rotated_signing_key_keeps_verifying(client: httpx2.AsyncClient, pk: dict,
                                                   admin: dict) -> None:
    before = await sign_up(client, pk)
    rotated = await client.post("/v1/admin/projects/demo/signing-keys:rotate", headers=admin)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    old_kid = jwt.get_unverified_header(before["session"]["access_token"])["kid"]
    assert body["current"] != old_kid and {k["id"] for k in body["items"]} == {
        body["current"], old_kid}
    assert (await client.get(f"{P}/auth/me", headers=as_user(pk, before))).status_code == 200
    after = (await log_in(client, pk)).json()
    assert jwt.get_unverified_header(after["session"]["access_token"])["kid"] == body["current"]
    jwks = (await client.get(f"{P}/.well-known/jwks.json")).json()
    assert {k["kid"] for k in jwks["keys"]} == {body["current"], old_kid}
    listed = await client.get("/v1/admin/projects/demo/signing-keys", headers=admin)
    assert [k["current"] for k in listed.json()["items"]] == [True, False]
    error_of(await client.post("/v1/admin/projects/demo/signing-keys:rotate", headers=pk),
             403, "admin_token_required")
    error_of(await client.post("/v1/admin/projects/nope/signing-keys:rotate", headers=admin),
             404, "project_not_found")


def outbox(settings: Settings) -> list[Any]:
    folder = settings.data_dir / "outbox"
    if not folder.exists():
        return []
    return [BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            for path in sorted(folder.glob("*.eml"))]


def token_in(message: Any) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = next(word for word in text.split() if word.startswith("http"))
    return link, parse_qs(urlparse(link).query)["token"][0]


async def settle(platform: Platform) -> None:
    await platform.recovery.drain()
    await platform.mailer.drain()


async def test_email_verification(client: httpx2.AsyncClient, pk: dict, platform: Platform,
                                  settings: Settings) -> None:
    auth = await sign_up(client, pk)
    headers = as_user(pk, auth)
    sent = await client.post(f"{P}/auth/verify/request", headers=headers)
    assert sent.status_code == 202 and sent.json() == {"sent": True}
    await settle(platform)
    [message] = outbox(settings)
    assert message["To"] == "ann@example.com"
    link, token = token_in(message)
    assert link.startswith(f"{PUBLIC_URL}{P}/auth/verify/confirm?token=")
    assert len(base64.urlsafe_b64decode(token + "==")) >= 16  # at least 128 bits
    # Opening the link shows a page and spends nothing (mail scanners prefetch links).
    for _ in range(2):
        page = await client.get(f"{P}/auth/verify/confirm", params={"token": token})
        assert page.status_code == 200 and "<form method=post>" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in page.headers["content-security-policy"]
    confirmed = await client.post(f"{P}/auth/verify/confirm", json={"token": token})
    assert confirmed.status_code == 200 and confirmed.json()["email_verified"]
    error_of(await client.post(f"{P}/auth/verify/confirm", json={"token": token}), 400,
             "invalid_token")
    error_of(await client.post(f"{P}/auth/verify/request", headers=headers), 409,
             "already_verified")
    guest = (await client.post(f"{P}/auth/anonymous", headers=pk)).json()
    error_of(await client.post(f"{P}/auth/verify/request", headers=as_user(pk, guest)), 400,
             "no_email")
    error_of(await client.post(f"{P}/auth/verify/confirm", json={"token": {"$ne": None}}), 422,
             "validation_failed")
    error_of(await client.post("/v1/projects/nope/auth/verify/confirm", json={"token": token}),
             404, "project_not_found")


async def test_verification_token_dies_when_the_email_changes(
        client: httpx2.AsyncClient, pk: dict, platform: Platform, settings: Settings) -> None:
    auth = await sign_up(client, pk)
    headers = as_user(pk, auth)
    await client.post(f"{P}/auth/verify/request", headers=headers)
    await settle(platform)
    _, token = token_in(outbox(settings)[0])
    moved = await client.patch(f"{P}/auth/me", headers=headers, json={
        "email": "ann@elsewhere.example", "current_password": PASSWORD})
    assert moved.status_code == 200
    error_of(await client.post(f"{P}/auth/verify/confirm", json={"token": token}), 400,
             "invalid_token")


async def test_password_reset(client: httpx2.AsyncClient, pk: dict, platform: Platform,
                              settings: Settings) -> None:
    auth = await sign_up(client, pk)
    other = (await log_in(client, pk)).json()
    known = await client.post(f"{P}/auth/password/forgot", headers={**pk,
                              "Host": "evil.example", "X-Forwarded-Host": "evil.example"},
                              json={"email": "ANN@example.com"})
    unknown = await client.post(f"{P}/auth/password/forgot", headers=pk,
                                json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json() == {"sent": True}
    await settle(platform)
    [message] = outbox(settings)  # nothing for the unknown address
    link, token = token_in(message)
    assert link.startswith(f"{PUBLIC_URL}{P}/auth/password/reset?token=")
    assert "evil" not in message.as_string()
    page = await client.get(f"{P}/auth/password/reset", params={"token": token})
    assert page.status_code == 200 and "type=password" in page.text
    # A weak password is refused before the token is spent.
    error_of(await client.post(f"{P}/auth/password/reset",
                               json={"token": token, "password": "short"}), 400, "weak_password")
    # 20 concurrent redemptions: exactly one wins.
    answers = await asyncio.gather(*[
        client.post(f"{P}/auth/password/reset",
                    json={"token": token, "password": f"new password {i}"}) for i in range(20)])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [204] + [400] * 19, statuses
    winner = next(i for i, a in enumerate(answers) if a.status_code == 204)
    # Every session ended; only the winning password works.
    for old in (auth, other):
        error_of(await client.post(f"{P}/auth/refresh", headers=pk,
                                   json={"refresh_token": old["session"]["refresh_token"]}),
                 401, "invalid_refresh_token")
    error_of(await log_in(client, pk), 401, "invalid_credentials")
    relogged = await log_in(client, pk, password=f"new password {winner}")
    assert relogged.status_code == 200 and relogged.json()["user"]["email_verified"]


async def test_password_reset_through_the_emailed_page(
        client: httpx2.AsyncClient, pk: dict, platform: Platform, settings: Settings) -> None:
    await sign_up(client, pk)
    await client.post(f"{P}/auth/password/forgot", headers=pk, json={"email": "ann@example.com"})
    await settle(platform)
    _, token = token_in(outbox(settings)[0])
    form = {"content-type": "application/x-www-form-urlencoded"}
    done = await client.post(f"{P}/auth/password/reset", headers=form,
                             content=f"token={token}&password=a+brand+new+one")
    assert done.status_code == 200 and "Password changed" in done.text
    again = await client.post(f"{P}/auth/password/reset", headers=form,
                              content=f"token={token}&password=another+one+here")
    assert again.status_code == 400 and "not valid" in again.text
    assert (await log_in(client, pk, password="a brand new one")).status_code == 200
    bad = await client.post(f"{P}/auth/password/reset", headers=form,
                            content="token=%3Cscript%3E&password=whatever123")
    assert bad.status_code == 400 and "<script>" not in bad.text


async def test_forgot_password_input_errors(client: httpx2.AsyncClient, pk: dict) -> None:
    error_of(await client.post(f"{P}/auth/password/forgot", headers=pk,
                               json={"email": ["a@example.com"]}), 422, "validation_failed")
    error_of(await client.post(f"{P}/auth/password/forgot", json={"email": "a@example.com"}),
             401, "missing_api_key")
    error_of(await client.post(f"{P}/auth/password/reset",
                               json={"token": "made-up", "password": "long enough pw"}),
             400, "invalid_token")
