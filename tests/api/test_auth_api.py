"""End-user auth over the API, on both engines: sign-up, login, refresh rotation and
reuse, anonymous upgrade, the account routes, sessions and user management."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest

from baas.core.platform import Platform
from tests.api.test_admin_api import error_of

PASSWORD = "correct horse battery"
P = "/v1/projects/demo"


def as_user(pk: dict[str, str], auth: dict[str, Any]) -> dict[str, str]:
    return {**pk, "Authorization": "Bearer " + auth["session"]["access_token"]}


async def sign_up(client: httpx2.AsyncClient, pk: dict[str, str], email: str = "ann@example.com",
                  password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    response = await client.post(f"{P}/auth/signup", headers=pk,
                                 json={"email": email, "password": password, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def log_in(client: httpx2.AsyncClient, pk: dict[str, str], email: str = "ann@example.com",
                 password: str = PASSWORD) -> httpx2.Response:
    return await client.post(f"{P}/auth/login", headers=pk,
                             json={"email": email, "password": password})


async def user_count(client: httpx2.AsyncClient, sk: dict[str, str]) -> int:
    response = await client.get(f"{P}/users", headers=sk)
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


async def test_sign_up_normalizes_email_and_refuses_duplicates(
        client: httpx2.AsyncClient, pk: dict, sk: dict) -> None:
    auth = await sign_up(client, pk, email="  Ann@Example.COM ", data={"name": "Ann"})
    user, session = auth["user"], auth["session"]
    assert user["email"] == "ann@example.com" and user["data"] == {"name": "Ann"}
    assert not user["email_verified"] and not user["anonymous"] and user["last_sign_in_at"]
    assert session["token_type"] == "bearer" and session["expires_in"] == 900
    assert session["refresh_token"].startswith("rt_") and len(session["refresh_token"]) >= 46
    me = await client.get(f"{P}/auth/me", headers=as_user(pk, auth))
    assert me.status_code == 200 and me.json()["id"] == user["id"]
    assert "password_hash" not in me.json()
    duplicate = await client.post(f"{P}/auth/signup", headers=pk,
                                  json={"email": "ANN@example.com", "password": PASSWORD})
    error_of(duplicate, 409, "email_taken")
    assert await user_count(client, sk) == 1


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"email": "a@example.com", "password": "short"}, 400, "weak_password"),
    ({"email": "a@example.com", "password": "x" * 1_000_000}, 400, "password_too_long"),
    ({"email": "not an email", "password": PASSWORD}, 400, "invalid_email"),
    ({"email": "a@example.com", "password": {"$ne": None}}, 422, "validation_failed"),
    ({"email": {"$gt": ""}, "password": PASSWORD}, 422, "validation_failed"),
    ({"email": ["a@example.com"], "password": PASSWORD}, 422, "validation_failed"),
    ({"email": "a@example.com", "password": 12345678}, 422, "validation_failed"),
    ({"email": "a@example.com", "password": PASSWORD, "role": "admin"}, 422,
     "validation_failed"),
    ({"email": "a@example.com", "password": PASSWORD, "data": {"$where": 1}}, 400,
     "invalid_data"),
    ({"email": "a@example.com", "password": PASSWORD, "data": {"a.b": 1}}, 400,
     "invalid_data"),
    ({"email": "a@example.com", "password": PASSWORD, "data": {"big": "x" * 20_000}}, 400,
     "invalid_data"),
    ({"email": "a@example.com", "password": PASSWORD, "data": "text"}, 422,
     "validation_failed"),
])
async def test_bad_sign_ups_answer_4xx_and_create_nothing(
        client: httpx2.AsyncClient, pk: dict, sk: dict, body: dict, status: int,
        code: str) -> None:
    error_of(await client.post(f"{P}/auth/signup", headers=pk, json=body), status, code)
    assert await user_count(client, sk) == 0


async def test_login_failures_look_the_same_for_unknown_and_known_emails(
        client: httpx2.AsyncClient, pk: dict) -> None:
    await sign_up(client, pk)
    wrong = await log_in(client, pk, password="wrong password!")
    unknown = await log_in(client, pk, email="nobody@example.com")
    malformed = await log_in(client, pk, email="nobody")
    for response in (wrong, unknown, malformed):
        error_of(response, 401, "invalid_credentials")
    assert wrong.json() == unknown.json() == malformed.json()
    error_of(await log_in(client, pk, password="y" * 1_000_000), 400, "password_too_long")
    error_of(await client.post(f"{P}/auth/login", headers=pk,
                               json={"email": "ann@example.com", "password": {"$ne": None}}),
             422, "validation_failed")
    good = await log_in(client, pk, email=" ANN@example.com")
    assert good.status_code == 200 and good.json()["user"]["email"] == "ann@example.com"


async def test_auth_routes_need_the_projects_key(client: httpx2.AsyncClient, pk: dict) -> None:
    error_of(await client.post(f"{P}/auth/signup",
                               json={"email": "a@example.com", "password": PASSWORD}),
             401, "missing_api_key")
    error_of(await client.post(f"{P}/auth/signup", headers={"apikey": "pk_wrong"},
                               json={"email": "a@example.com", "password": PASSWORD}),
             401, "invalid_key")
    auth = await sign_up(client, pk)
    no_key = {"Authorization": "Bearer " + auth["session"]["access_token"]}
    error_of(await client.get(f"{P}/auth/me", headers=no_key), 401, "missing_api_key")
    error_of(await client.get(f"{P}/auth/me", headers=pk), 401, "missing_credentials")


async def test_refresh_rotates_and_reuse_revokes_the_family(
        client: httpx2.AsyncClient, pk: dict) -> None:
    auth = await sign_up(client, pk)
    first = auth["session"]["refresh_token"]
    rotated = await client.post(f"{P}/auth/refresh", headers=pk, json={"refresh_token": first})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["session"]
    assert second["refresh_token"] != first
    assert second["session_id"] == auth["session"]["session_id"]
    me = await client.get(f"{P}/auth/me", headers=as_user(pk, rotated.json()))
    assert me.status_code == 200
    # The spent token again: the whole family goes, including the newest token.
    reused = await client.post(f"{P}/auth/refresh", headers=pk, json={"refresh_token": first})
    error_of(reused, 401, "refresh_token_reused")
    error_of(await client.post(f"{P}/auth/refresh", headers=pk,
                               json={"refresh_token": second["refresh_token"]}),
             401, "invalid_refresh_token")
    error_of(await client.get(f"{P}/auth/me", headers=as_user(pk, rotated.json())),
             401, "invalid_token")
    for junk in ("", "rt_" + "A" * 43, "x" * 600, second["access_token"]):
        response = await client.post(f"{P}/auth/refresh", headers=pk,
                                     json={"refresh_token": junk})
        assert response.status_code in (401, 422)


async def test_concurrent_refreshes_spend_a_token_once(client: httpx2.AsyncClient,
                                                       pk: dict) -> None:
    auth = await sign_up(client, pk)
    token = auth["session"]["refresh_token"]
    answers = await asyncio.gather(*[
        client.post(f"{P}/auth/refresh", headers=pk, json={"refresh_token": token})
        for _ in range(10)])
    assert sum(a.status_code == 200 for a in answers) <= 1
    assert all(a.status_code in (200, 401) for a in answers)


async def test_refresh_token_is_not_an_access_token(client: httpx2.AsyncClient,
                                                    pk: dict) -> None:
    auth = await sign_up(client, pk)
    refresh = auth["session"]["refresh_token"]
    error_of(await client.get(f"{P}/auth/me", headers={**pk, "Authorization": f"Bearer {refresh}"}),
             401, "invalid_token")


async def test_anonymous_user_upgrades_and_keeps_its_id(client: httpx2.AsyncClient,
                                                        pk: dict) -> None:
    guest = await client.post(f"{P}/auth/anonymous", headers=pk)
    assert guest.status_code == 201, guest.text
    user = guest.json()["user"]
    assert user["anonymous"] and user["email"] is None
    import jwt

    assert jwt.decode(guest.json()["session"]["access_token"],
                      options={"verify_signature": False})["role"] == "anonymous"
    headers = as_user(pk, guest.json())
    error_of(await client.patch(f"{P}/auth/me", headers=headers,
                                json={"email": "guest@example.com"}),
             400, "email_and_password_required")
    upgraded = await client.patch(f"{P}/auth/me", headers=headers, json={
        "email": "Guest@Example.com", "password": PASSWORD, "data": {"plan": "free"}})
    assert upgraded.status_code == 200, upgraded.text
    assert upgraded.json()["id"] == user["id"] and not upgraded.json()["anonymous"]
    login = await log_in(client, pk, "guest@example.com")
    assert login.status_code == 200 and login.json()["user"]["id"] == user["id"]
    assert jwt.decode(login.json()["session"]["access_token"],
                      options={"verify_signature": False})["role"] == "authenticated"
    with_data = await client.post(f"{P}/auth/anonymous", headers=pk,
                                  json={"data": {"theme": "dark"}})
    assert with_data.json()["user"]["data"] == {"theme": "dark"}


async def test_update_me_data_email_and_password(client: httpx2.AsyncClient, pk: dict) -> None:
    auth = await sign_up(client, pk, data={"name": "Ann", "age": 30})
    other = (await log_in(client, pk)).json()
    headers = as_user(pk, auth)
    merged = await client.patch(f"{P}/auth/me", headers=headers,
                                json={"data": {"age": None, "city": "Oslo"}})
    assert merged.json()["data"] == {"name": "Ann", "city": "Oslo"}
    error_of(await client.patch(f"{P}/auth/me", headers=headers,
                                json={"password": "new password 1"}),
             400, "current_password_required")
    error_of(await client.patch(f"{P}/auth/me", headers=headers, json={
        "password": "new password 1", "current_password": "wrong"}), 401, "invalid_credentials")
    error_of(await client.patch(f"{P}/auth/me", headers=headers, json={"version": 3}),
             422, "validation_failed")
    changed = await client.patch(f"{P}/auth/me", headers=headers, json={
        "password": "new password 1", "current_password": PASSWORD})
    assert changed.status_code == 200
    # The other session ended; this one goes on.
    error_of(await client.post(f"{P}/auth/refresh", headers=pk,
                               json={"refresh_token": other["session"]["refresh_token"]}),
             401, "invalid_refresh_token")
    assert (await client.get(f"{P}/auth/me", headers=headers)).status_code == 200
    error_of(await log_in(client, pk), 401, "invalid_credentials")
    assert (await log_in(client, pk, password="new password 1")).status_code == 200
    await sign_up(client, pk, email="bob@example.com")
    # A taken address answers as a free one would (issue 12), but is never taken over.
    taken = await client.patch(f"{P}/auth/me", headers=headers, json={
        "email": "bob@example.com", "current_password": "new password 1"})
    assert taken.status_code == 200 and taken.json()["email"] == "bob@example.com"
    assert (await client.get(f"{P}/auth/me", headers=headers)).json()["email"] == (
        "ann@example.com")
    moved = await client.patch(f"{P}/auth/me", headers=headers, json={
        "email": "ann@new.example", "current_password": "new password 1"})
    assert moved.json()["email"] == "ann@new.example" and not moved.json()["email_verified"]


async def test_logout_sessions_and_revocation(client: httpx2.AsyncClient, pk: dict) -> None:
    first = await sign_up(client, pk)
    second = (await log_in(client, pk)).json()
    third = (await log_in(client, pk)).json()
    listed = await client.get(f"{P}/auth/sessions", headers=as_user(pk, first))
    items = listed.json()["items"]
    assert len(items) == 3 and sum(item["current"] for item in items) == 1
    assert next(i for i in items if i["current"])["id"] == first["session"]["session_id"]
    # Revoke the second session from the first.
    gone = await client.delete(f"{P}/auth/sessions/{second['session']['session_id']}",
                               headers=as_user(pk, first))
    assert gone.status_code == 204
    error_of(await client.get(f"{P}/auth/me", headers=as_user(pk, second)), 401, "invalid_token")
    other_user = await sign_up(client, pk, email="eve@example.com")
    error_of(await client.delete(f"{P}/auth/sessions/{first['session']['session_id']}",
                                 headers=as_user(pk, other_user)), 404, "session_not_found")
    # Local logout ends only this session; global ends them all.
    assert (await client.post(f"{P}/auth/logout", headers=as_user(pk, third))).status_code == 204
    error_of(await client.post(f"{P}/auth/refresh", headers=pk,
                               json={"refresh_token": third["session"]["refresh_token"]}),
             401, "invalid_refresh_token")
    assert (await client.get(f"{P}/auth/me", headers=as_user(pk, first))).status_code == 200
    out = await client.post(f"{P}/auth/logout", headers=as_user(pk, first),
                            json={"scope": "global"})
    assert out.status_code == 204
    error_of(await client.post(f"{P}/auth/logout", headers=as_user(pk, first),
                               json={"scope": "galaxy"}), 401, "invalid_token")
    assert (await client.get(f"{P}/auth/me", headers=as_user(pk, other_user))).status_code == 200


async def test_delete_me_removes_the_account(client: httpx2.AsyncClient, pk: dict,
                                             sk: dict) -> None:
    auth = await sign_up(client, pk)
    assert (await client.delete(f"{P}/auth/me", headers=as_user(pk, auth))).status_code == 204
    error_of(await log_in(client, pk), 401, "invalid_credentials")
    error_of(await client.post(f"{P}/auth/refresh", headers=pk,
                               json={"refresh_token": auth["session"]["refresh_token"]}),
             401, "invalid_refresh_token")
    assert await user_count(client, sk) == 0


async def test_user_management_with_secret_key_or_admin(
        client: httpx2.AsyncClient, pk: dict, sk: dict, admin: dict) -> None:
    error_of(await client.get(f"{P}/users", headers=pk), 403, "secret_key_required")
    error_of(await client.get(f"{P}/users"), 401, "missing_api_key")
    made = await client.post(f"{P}/users", headers=sk, json={
        "email": "Zed@Example.com", "password": PASSWORD, "email_verified": True})
    assert made.status_code == 201, made.text
    zed = made.json()
    assert zed["email"] == "zed@example.com" and zed["email_verified"]
    await sign_up(client, pk, email="amy@example.com")
    await client.post(f"{P}/auth/anonymous", headers=pk)
    listed = await client.get(f"{P}/users", headers=admin, params={"email": "Z"})
    assert [u["email"] for u in listed.json()["items"]] == ["zed@example.com"]
    guests = await client.get(f"{P}/users", headers=sk, params={"anonymous": "true"})
    assert len(guests.json()["items"]) == 1
    error_of(await client.get(f"{P}/users", headers=sk, params={"disabled": "yes"}),
             400, "invalid_query")
    page = await client.get(f"{P}/users", headers=sk, params={"limit": 2})
    rest = await client.get(f"{P}/users", headers=sk,
                            params={"limit": 2, "cursor": page.json()["next_cursor"]})
    assert len(page.json()["items"]) == 2 and len(rest.json()["items"]) == 1
    assert [u["email"] for u in page.json()["items"]] == ["zed@example.com", "amy@example.com"]
    # Disabling ends sessions and blocks login and refresh.
    session = (await log_in(client, pk, "zed@example.com")).json()
    disabled = await client.patch(f"{P}/users/{zed['id']}", headers=sk,
                                  json={"disabled": True, "data": {"note": "spam"}})
    assert disabled.json()["disabled"] and disabled.json()["data"] == {"note": "spam"}
    error_of(await log_in(client, pk, "zed@example.com"), 403, "user_disabled")
    error_of(await log_in(client, pk, "zed@example.com", "wrong password"), 401,
             "invalid_credentials")
    error_of(await client.post(f"{P}/auth/refresh", headers=pk,
                               json={"refresh_token": session["session"]["refresh_token"]}),
             401, "invalid_refresh_token")
    error_of(await client.get(f"{P}/auth/me", headers=as_user(pk, session)), 401,
             "invalid_token")
    enabled = await client.patch(f"{P}/users/{zed['id']}", headers=admin,
                                 json={"disabled": False})
    assert not enabled.json()["disabled"]
    assert (await log_in(client, pk, "zed@example.com")).status_code == 200
    error_of(await client.post(f"{P}/users", headers=sk, json={"email": "zed@example.com"}),
             409, "email_taken")
    error_of(await client.get(f"{P}/users/usr_missing", headers=sk), 404, "user_not_found")
    assert (await client.delete(f"{P}/users/{zed['id']}", headers=sk)).status_code == 204
    error_of(await client.get(f"{P}/users/{zed['id']}", headers=sk), 404, "user_not_found")
    error_of(await client.delete(f"{P}/users/{zed['id']}", headers=admin), 404,
             "user_not_found")


async def test_project_isolation(client: httpx2.AsyncClient, admin: dict, pk: dict,
                                 platform: Platform) -> None:
    other = await client.post("/v1/admin/projects", json={"id": "other"}, headers=admin)
    other_pk = {"apikey": next(k["secret"] for k in other.json()["keys"]
                               if k["kind"] == "publishable")}
    auth = await sign_up(client, pk)
    # demo's token with other's key, and with demo's key on other's routes.
    error_of(await client.get("/v1/projects/other/auth/me", headers=as_user(other_pk, auth)),
             401, "invalid_token")
    error_of(await client.get("/v1/projects/other/auth/me", headers=as_user(pk, auth)), 401,
             "invalid_key")
    error_of(await client.post("/v1/projects/other/auth/login", headers=other_pk,
                               json={"email": "ann@example.com", "password": PASSWORD}),
             401, "invalid_credentials")


async def test_login_rehashes_passwords_with_old_parameters(
        client: httpx2.AsyncClient, pk: dict, platform: Platform) -> None:
    from argon2 import PasswordHasher

    auth = await sign_up(client, pk)
    users = (await platform.accounts.project("demo")).users
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    await users.update(auth["user"]["id"], {"password_hash": weak})
    assert (await log_in(client, pk)).status_code == 200
    stored = (await users.get(auth["user"]["id"]))["password_hash"]
    assert stored != weak and "m=19456" in stored and not platform.hasher.needs_rehash(stored)
    assert (await log_in(client, pk)).status_code == 200
