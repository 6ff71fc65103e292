"""Brute force in check without handing attackers a lockout (issue 12, items 4 and 5):
counts per (account, client address), an account-wide limit far higher with growing
delays, reset mail apart from logins, and PATCH auth/me counted like a login and no
oracle for taken addresses. On both engines; client addresses come through a trusted
proxy's X-Forwarded-For."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from baas.core.platform import Platform
from baas.settings import Settings
from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.api.test_admin_api import error_of
from tests.api.test_auth_attacks import outbox, settle, token_in
from tests.conftest import make_settings

P = "/v1/projects/demo"
PASSWORD = "correct horse battery"
LIMIT = 3  # per (account, address), and per account for reset mails and email changes
WIDE = 9  # per account from every address before the growing delays
ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


@pytest.fixture
def settings(engine_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    # The test client's peer (127.0.0.1) is a trusted proxy, so X-Forwarded-For names
    # the client address.
    return make_settings(engine_kind, tmp_path, request, auth_account_limit=LIMIT,
                         auth_account_wide_limit=WIDE, trusted_proxies="127.0.0.1/32",
                         public_url="https://app.example.com")


def at(address: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    return {**(headers or {}), "X-Forwarded-For": address}


async def sign_up(client: httpx2.AsyncClient, pk: dict[str, str], email: str
                  ) -> dict[str, Any]:
    made = await client.post(f"{P}/auth/signup", headers=at("192.0.2.200", pk),
                             json={"email": email, "password": PASSWORD})
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


async def login(client: httpx2.AsyncClient, pk: dict[str, str], address: str,
                password: str = PASSWORD, email: str = "ann@example.com") -> httpx2.Response:
    return await client.post(f"{P}/auth/login", headers=at(address, pk),
                             json={"email": email, "password": password})


async def forgot(client: httpx2.AsyncClient, pk: dict[str, str], address: str,
                 email: str = "ann@example.com") -> httpx2.Response:
    return await client.post(f"{P}/auth/password/forgot", headers=at(address, pk),
                             json={"email": email})


async def test_an_attacker_cannot_lock_the_owner_out(client: httpx2.AsyncClient, pk: dict,
                                                     platform: Platform,
                                                     settings: Settings) -> None:
    await sign_up(client, pk, "ann@example.com")
    # The attacker burns failed logins and reset requests for the victim from A.
    for _ in range(LIMIT):
        error_of(await login(client, pk, ATTACKER, "wrong password"), 401,
                 "invalid_credentials")
        assert (await forgot(client, pk, ATTACKER)).status_code == 202
    error_of(await login(client, pk, ATTACKER), 429, "rate_limited")  # even the right one
    error_of(await forgot(client, pk, ATTACKER), 429, "rate_limited")
    # The owner, from B, logs in and asks for a reset as if nothing happened.
    assert (await login(client, pk, OWNER)).status_code == 200
    assert (await forgot(client, pk, OWNER)).status_code == 202
    await settle(platform)
    mails = [m for m in outbox(settings) if m["To"] == "ann@example.com"]
    assert len(mails) == LIMIT + 1  # the attacker's three and the owner's
    _, token = token_in(mails[-1])
    # A stays locked out of this account (not of others).
    error_of(await login(client, pk, ATTACKER), 429, "rate_limited")
    await sign_up(client, pk, "bob@example.com")
    assert (await login(client, pk, ATTACKER, email="bob@example.com")).status_code == 200

    # Account-wide, only past WIDE failures from everywhere, delays start and grow.
    for n in range(WIDE - LIMIT):
        error_of(await login(client, pk, f"192.0.2.{n}", "wrong password"), 401,
                 "invalid_credentials")
    assert (await login(client, pk, OWNER)).status_code == 200  # resets the account's count
    for n in range(WIDE):
        error_of(await login(client, pk, f"192.0.2.{10 + n}", "wrong password"), 401,
                 "invalid_credentials")
    assert (await login(client, pk, OWNER)).status_code == 200  # still at WIDE: no delay
    for n in range(WIDE):
        error_of(await login(client, pk, f"192.0.2.{30 + n}", "wrong password"), 401,
                 "invalid_credentials")
    delays = []
    for n in range(3):  # each failure past WIDE doubles the delay: 1 s, 2 s, 4 s
        error_of(await login(client, pk, f"192.0.2.{50 + n}", "wrong password"), 401,
                 "invalid_credentials")
        delayed = error_of(await login(client, pk, OWNER), 429, "rate_limited")
        delays.append(delayed["details"]["retry_after"])
        if n < 2:
            await asyncio.sleep(2 ** n + 0.05)
    assert delays == [1, 2, 4]  # whole seconds, rounded up

    # A reset still works, and clears every count against the account.
    reset = await client.post(f"{P}/auth/password/reset",
                              json={"token": token, "password": "a brand new password"})
    assert reset.status_code == 204, reset.text
    assert (await login(client, pk, OWNER, "a brand new password")).status_code == 200
    assert (await login(client, pk, ATTACKER, "a brand new password")).status_code == 200
    assert (await forgot(client, pk, ATTACKER)).status_code == 202


async def test_reset_mails_to_one_account_are_spaced_out(client: httpx2.AsyncClient, pk: dict,
                                                         platform: Platform,
                                                         settings: Settings) -> None:
    """Many addresses asking for one account's reset get the same answer, but its inbox
    is not flooded: past LIMIT mails they are spaced out (and the last link works)."""
    await sign_up(client, pk, "ann@example.com")
    for n in range(LIMIT * 4):
        assert (await forgot(client, pk, f"192.0.2.{n}")).status_code == 202
        await settle(platform)
    mails = [m for m in outbox(settings) if m["To"] == "ann@example.com"]
    assert LIMIT < len(mails) < LIMIT * 2
    _, token = token_in(mails[-1])
    reset = await client.post(f"{P}/auth/password/reset",
                              json={"token": token, "password": "a brand new password"})
    assert reset.status_code == 204, reset.text


async def test_admin_login_locks_only_the_guessing_address(client: httpx2.AsyncClient,
                                                           admin_token: str) -> None:
    async def admin_login(address: str, password: str) -> httpx2.Response:
        return await client.post("/v1/admin/login", headers=at(address),
                                 json={"email": ADMIN_EMAIL, "password": password})

    for _ in range(10):
        error_of(await admin_login(ATTACKER, "wrong password"), 401, "invalid_credentials")
    error_of(await admin_login(ATTACKER, ADMIN_PASSWORD), 429, "rate_limited")
    assert (await admin_login(OWNER, ADMIN_PASSWORD)).status_code == 200
    error_of(await admin_login(ATTACKER, ADMIN_PASSWORD), 429, "rate_limited")


async def patch_me(client: httpx2.AsyncClient, pk: dict[str, str], auth: dict[str, Any],
                   address: str = OWNER, **body: Any) -> httpx2.Response:
    headers = at(address, {**pk, "Authorization": "Bearer " + auth["session"]["access_token"]})
    return await client.patch(f"{P}/auth/me", headers=headers, json=body)


async def test_a_taken_address_answers_like_a_free_one(client: httpx2.AsyncClient, pk: dict,
                                                       platform: Platform,
                                                       settings: Settings) -> None:
    ann = await sign_up(client, pk, "ann@example.com")
    carol = await sign_up(client, pk, "carol@example.com")
    await sign_up(client, pk, "bob@example.com")
    timings: dict[str, list[float]] = {"taken": [], "free": []}
    answers: dict[str, list[httpx2.Response]] = {"taken": [], "free": []}
    for n in range(LIMIT):
        for kind, auth, email in (("taken", ann, "Bob@Example.com"),
                                  ("free", carol, f"carol{n}@example.com")):
            started = time.perf_counter()
            answer = await patch_me(client, pk, auth, email=email, current_password=PASSWORD)
            timings[kind].append(time.perf_counter() - started)
            answers[kind].append(answer)
    for taken, free in zip(answers["taken"], answers["free"], strict=True):
        assert taken.status_code == free.status_code == 200
        assert taken.json().keys() == free.json().keys()
        assert taken.json()["email"] == "bob@example.com"
        assert (taken.json()["email_verified"], taken.json()["anonymous"]) == (
            free.json()["email_verified"], free.json()["anonymous"]) == (False, False)
        assert taken.json()["updated_at"] > ann["user"]["updated_at"]
    # Both hash the same and read the same: no lasting difference in time.
    taken_time, free_time = min(timings["taken"]), min(timings["free"])
    assert taken_time < 3 * free_time + 0.05 and free_time < 3 * taken_time + 0.05
    # The address was not taken over, and its owner was told.
    me = await client.get(f"{P}/auth/me", headers={
        **pk, "Authorization": "Bearer " + ann["session"]["access_token"]})
    assert me.json()["email"] == "ann@example.com"
    bob = await login(client, pk, OWNER, email="bob@example.com")
    assert bob.status_code == 200 and bob.json()["user"]["email"] == "bob@example.com"
    await settle(platform)
    notices = [m for m in outbox(settings) if m["To"] == "bob@example.com"]
    assert notices and len(notices) <= LIMIT
    assert "tried to use your email address" in notices[0]["Subject"]
    assert "Nothing was changed" in notices[0].get_body(preferencelist=("plain",)).get_content()
    # Email changes are counted per user: past LIMIT, 429, for a free address too.
    error_of(await patch_me(client, pk, ann, email="ann2@example.com",
                            current_password=PASSWORD), 429, "rate_limited")
    error_of(await patch_me(client, pk, carol, email="Bob@Example.com",
                            current_password=PASSWORD), 429, "rate_limited")
    # Profile data stays editable.
    assert (await patch_me(client, pk, ann, data={"x": 1})).status_code == 200


async def test_a_guest_cannot_probe_addresses_either(client: httpx2.AsyncClient,
                                                     pk: dict) -> None:
    await sign_up(client, pk, "bob@example.com")
    guest = (await client.post(f"{P}/auth/anonymous", headers=at(OWNER, pk))).json()
    upgraded = await patch_me(client, pk, guest, email="bob@example.com", password=PASSWORD)
    assert upgraded.status_code == 200
    assert (upgraded.json()["email"], upgraded.json()["anonymous"]) == ("bob@example.com",
                                                                        False)
    me = await client.get(f"{P}/auth/me", headers={
        **pk, "Authorization": "Bearer " + guest["session"]["access_token"]})
    assert me.json()["anonymous"] and me.json()["email"] is None
    # Bob's password and account are his own still.
    assert (await login(client, pk, OWNER, email="bob@example.com")).status_code == 200


async def test_wrong_current_passwords_count_like_failed_logins(client: httpx2.AsyncClient,
                                                                pk: dict) -> None:
    ann = await sign_up(client, pk, "ann@example.com")
    for n in range(LIMIT):
        body: dict[str, Any] = ({"email": f"new{n}@example.com"} if n % 2 else
                                {"password": "another password"})
        error_of(await patch_me(client, pk, ann, ATTACKER, current_password="wrong guess",
                                **body), 401, "invalid_credentials")
    # Locked for that address, even with the right password, and for logins there too.
    error_of(await patch_me(client, pk, ann, ATTACKER, password="another password",
                            current_password=PASSWORD), 429, "rate_limited")
    error_of(await login(client, pk, ATTACKER), 429, "rate_limited")
    # The owner elsewhere is not.
    assert (await patch_me(client, pk, ann, OWNER, password="another password",
                           current_password=PASSWORD)).status_code == 200


async def test_password_changes_are_counted_per_user(client: httpx2.AsyncClient,
                                                     pk: dict) -> None:
    """Each change costs a password check and a hash: a user cannot saturate the hasher."""
    ann = await sign_up(client, pk, "ann@example.com")
    current = PASSWORD
    for n in range(LIMIT):
        changed = await patch_me(client, pk, ann, password=f"password number {n}",
                                 current_password=current)
        assert changed.status_code == 200, changed.text
        current = f"password number {n}"
    error_of(await patch_me(client, pk, ann, password="one too many",
                            current_password=current), 429, "rate_limited")
    assert (await login(client, pk, OWNER, current)).status_code == 200
