"""Hostile bytes at the JSON boundary, on both engines: strings that are not valid Unicode
(lone surrogates written as escapes) and duplicate keys are refused in one place, as 400
``invalid_json`` naming where they are, wherever a body enters; text in query strings,
paths and headers never gives a 500; and a refused request never spends an emailed token."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from baas.core.platform import Platform
from baas.settings import Settings
from tests.api.collections_helpers import PASSWORD, C, P, define
from tests.api.test_admin_api import error_of
from tests.api.test_auth_api import as_user, log_in, sign_up
from tests.api.test_auth_attacks import outbox, settle, token_in

JSON = {"Content-Type": "application/json"}
HIGH = "\\ud800"  # a JSON escape of a lone high surrogate, as the client writes it
LOW = "\\udc00"


async def post_raw(client: httpx2.AsyncClient, url: str, headers: dict[str, str], raw: str,
                   method: str = "POST") -> httpx2.Response:
    """Send ``raw`` as the JSON body, byte for byte (no client-side encoding)."""
    return await client.request(method, url, headers={**headers, **JSON},
                                content=raw.encode())


def refused(response: httpx2.Response, path: str) -> dict[str, Any]:
    err = error_of(response, 400, "invalid_json")
    assert err["details"]["path"] == path, err
    return err


# -- lone surrogates ---------------------------------------------------------------------


async def test_lone_surrogate_in_sign_up_and_login_passwords(client: httpx2.AsyncClient,
                                                             pk: dict, sk: dict) -> None:
    signup = await post_raw(client, f"{P}/auth/signup", pk,
                            f'{{"email": "ann@example.com", "password": "pass{HIGH}word"}}')
    err = refused(signup, "password")
    assert "Unicode" in err["message"] and "password" in err["message"]
    listed = await client.get(f"{P}/users", headers=sk)
    assert listed.json()["items"] == []  # nothing was created
    await sign_up(client, pk)
    login = await post_raw(client, f"{P}/auth/login", pk,
                           f'{{"email": "ann@example.com", "password": "x{LOW}yyyyyyy"}}')
    refused(login, "password")
    assert (await log_in(client, pk)).status_code == 200


async def test_lone_surrogate_in_update_me(client: httpx2.AsyncClient, pk: dict) -> None:
    headers = as_user(pk, await sign_up(client, pk))
    url = f"{P}/auth/me"
    refused(await post_raw(client, url, headers, f'{{"password": "new {HIGH} password", '
                           f'"current_password": "{PASSWORD}"}}', "PATCH"), "password")
    refused(await post_raw(client, url, headers,
                           f'{{"data": {{"title": "a{HIGH}"}}}}', "PATCH"), "data.title")
    refused(await post_raw(client, url, headers,
                           f'{{"data": {{"t{LOW}": 1}}}}', "PATCH"), f"data.t{LOW}")
    me = await client.get(url, headers=headers)
    assert me.status_code == 200 and me.json()["data"] == {}
    assert (await log_in(client, pk)).status_code == 200  # the password did not change


async def test_lone_surrogates_in_documents(client: httpx2.AsyncClient, sk: dict) -> None:
    await define(client, sk, "notes")
    url = f"{C}/notes/documents"
    refused(await post_raw(client, url, sk, f'{{"title": "x{HIGH}y"}}'), "title")
    refused(await post_raw(client, url, sk, f'{{"ti{HIGH}tle": "x"}}'), f"ti{HIGH}tle")
    refused(await post_raw(client, url, sk,
                           f'{{"tags": ["ok", "{LOW}"], "n": 1}}'), "tags.1")
    refused(await post_raw(client, url, sk,
                           f'{{"a": {{"b": [{{"c": "{HIGH}\\u0041"}}]}}}}'), "a.b.0.c")
    refused(await post_raw(client, url, sk, f'"{HIGH}"'), "")  # the whole body
    # A proper pair is one character, kept as sent.
    made = await post_raw(client, url, sk, '{"title": "\\ud83d\\ude00 ok"}')
    assert made.status_code == 201 and made.json()["title"] == "\U0001F600 ok"
    doc = made.json()["id"]
    refused(await post_raw(client, f"{url}/{doc}", sk, f'{{"title": "{HIGH}"}}', "PATCH"),
            "title")
    refused(await post_raw(client, f"{url}/{doc}", sk, f'{{"title": "{HIGH}"}}', "PUT"),
            "title")
    batch = (f'{{"operations": [{{"op": "create", "data": {{"title": "ok"}}}}, '
             f'{{"op": "create", "data": {{"title": "{LOW}"}}}}]}}')
    refused(await post_raw(client, f"{url}:batch", sk, batch), "operations.1.data.title")
    listed = await client.get(url, headers=sk)
    assert [d["title"] for d in listed.json()["items"]] == ["\U0001F600 ok"]


async def test_lone_surrogates_in_collection_definitions_and_rule_checks(
        client: httpx2.AsyncClient, sk: dict) -> None:
    enum = (f'{{"name": "things", "schema": {{"fields": {{"kind": {{"type": "string", '
            f'"enum": ["a", "b{HIGH}"]}}}}}}}}')
    refused(await post_raw(client, C, sk, enum), "schema.fields.kind.enum.1")
    pattern = (f'{{"name": "things", "schema": {{"fields": {{"kind": {{"type": "string", '
               f'"pattern": "^{LOW}$"}}}}}}}}')
    refused(await post_raw(client, C, sk, pattern), "schema.fields.kind.pattern")
    assert (await client.get(f"{C}/things", headers=sk)).status_code == 404
    await define(client, sk, "things")
    check = (f'{{"collection": "things", "operation": "create", "auth": null, '
             f'"data": {{"title": "{HIGH}"}}}}')
    refused(await post_raw(client, f"{P}/rules:check", sk, check), "data.title")
    # The rule language's own escapes are refused there, as a rule error.
    rule = '{"rules": {"list": "title = \\"\\\\ud800\\""}}'
    error_of(await post_raw(client, f"{C}/things", sk, rule, "PATCH"), 400, "invalid_rule")


async def test_text_outside_the_body_never_gives_a_500(client: httpx2.AsyncClient,
                                                       sk: dict, pk: dict) -> None:
    await define(client, sk, "notes")
    url = f"{C}/notes/documents"
    for params in ({"filter": 'title = "\\ud800"'}, {"filter": "t\ud800 = 1"},
                   {"sort": "\ud800"}, {"fields": "ti\ud800"}, {"cursor": "\ud800"},
                   {"filter": "title = \"\udc00\""}):
        # httpx2 encodes lone surrogates as the bytes a client would send: %ED%A0%80.
        query = "&".join(f"{k}=" + "".join(
            f"%{b:02X}" for b in v.encode("utf-8", "surrogatepass")) for k, v in params.items())
        response = await client.get(f"{url}?{query}", headers=sk)
        assert response.status_code < 500, (params, response.text)
    for raw_path in ("/v1/projects/demo/collections/n%ED%A0%80/documents",
                     "/v1/projects/demo/collections/notes/documents/%ED%A0%80",
                     "/v1/projects/d%ED%A0%80mo/collections",
                     "/v1/projects/demo/collections/notes/documents/%FF%FE"):
        response = await client.get(raw_path, headers=sk)
        assert response.status_code in (400, 401, 404), (raw_path, response.text)
    for header, value in (("Idempotency-Key", b"key-\xed\xa0\x80-\xff"),
                          ("apikey", b"\xed\xa0\x80"), ("Authorization", b"Bearer \xff\xfe"),
                          ("If-Match", b'"\xed\xa0\x80"'), ("X-Request-Id", b"\xff" * 10)):
        headers = {**sk, **JSON}
        headers[header] = value  # type: ignore[assignment]
        response = await client.post(url, headers=headers, content=b'{"title": "x"}')
        assert response.status_code < 500, (header, response.text)


# -- duplicate keys ----------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "path"), [
    ('{"title": "a", "title": "b"}', "title"),
    ('{"title": "a", "n": 1, "\\u0074itle": "b"}', "title"),  # the same key, escaped
    ('{"a": {"x": 1, "y": {"z": 1, "z": 2}}}', "a.y.z"),
    ('{"list": [{"k": 1}, {"k": "t:1", "k": "t:2"}]}', "list.1.k"),
    ('{"u": "http://x", "u" : "\\u003a"}', "u"),
    ('{"a": 1, "b": "\\u003a", "a": 1}', "a"),
])
async def test_duplicate_keys_are_refused_at_any_depth(client: httpx2.AsyncClient, sk: dict,
                                                       raw: str, path: str) -> None:
    await define(client, sk, "notes")
    err = refused(await post_raw(client, f"{C}/notes/documents", sk, raw), path)
    assert "twice" in err["message"]
    listed = await client.get(f"{C}/notes/documents", headers=sk)
    assert listed.json()["items"] == []


async def test_duplicate_keys_in_auth_and_definitions(client: httpx2.AsyncClient,
                                                      pk: dict, sk: dict) -> None:
    refused(await post_raw(client, f"{P}/auth/signup", pk, '{"email": "a@example.com", '
                           '"password": "first password", "password": "other password"}'),
            "password")
    refused(await post_raw(client, C, sk, '{"name": "a", "name": "b"}'), "name")
    refused(await post_raw(client, "/v1/admin/login", {},
                           '{"email": "x@example.com", "email": "y@example.com", '
                           '"password": "p"}'), "email")


async def test_colons_escapes_and_big_numbers_keep_working(client: httpx2.AsyncClient,
                                                           sk: dict) -> None:
    """What the fast parse hands to the careful one: text with colons and escaped colons,
    non-ASCII escapes, numbers orjson does not read; NaN and depth keep their answers."""
    await define(client, sk, "notes")
    url = f"{C}/notes/documents"
    body = {"at": "2026-01-01T10:00:00Z", "url": "https://x.example:8443/a:b",
            "esc": "a:b", "name": "Ren\u00e9e \u2603", "nested": {"k": "v:w"}}
    for raw in (json.dumps(body), json.dumps(body, ensure_ascii=False),
                json.dumps(body).replace(":b", "\\u003Ab")):
        made = await post_raw(client, url, sk, raw)
        assert made.status_code == 201, made.text
        assert {k: made.json()[k] for k in body} == body
    error_of(await post_raw(client, url, sk, '{"n": 100000000000000000000000000000}'), 400,
             "invalid_number")
    error_of(await post_raw(client, url, sk, '{"n": 1e400}'), 400, "invalid_number")
    error_of(await post_raw(client, url, sk, '{"n": -9223372036854775809}'), 400,
             "invalid_number")
    made = await post_raw(client, url, sk, '{"n": 9223372036854775807, "s": "%s"}' % ("7" * 40))
    assert made.status_code == 201 and made.json()["n"] == 2**63 - 1, made.text
    error_of(await post_raw(client, url, sk, '{"n": NaN}'), 400, "invalid_json")
    error_of(await post_raw(client, url, sk, '{"n": [1, 2'), 400, "invalid_json")
    error_of(await post_raw(client, url, sk, "[" * 5000 + "]" * 5000), 400,
             "document_too_deep")
    # Deeper than orjson writes back (254 levels) but within what Python reads.
    error_of(await post_raw(client, url, sk, '{"d": ' + "[" * 300 + "]" * 300 + "}"), 400,
             "document_too_deep")
    bad_utf8 = await client.post(url, headers={**sk, **JSON}, content=b'{"t": "\xff"}')
    error_of(bad_utf8, 400, "invalid_json")


# -- emailed tokens are spent only by a request that succeeds ----------------------------


async def test_a_refused_reset_keeps_its_token(client: httpx2.AsyncClient, pk: dict,
                                               platform: Platform, settings: Settings) -> None:
    await sign_up(client, pk)
    await client.post(f"{P}/auth/password/forgot", headers=pk, json={"email": "ann@example.com"})
    await settle(platform)
    _, token = token_in(outbox(settings)[0])
    url = f"{P}/auth/password/reset"
    refused(await post_raw(client, url, {}, f'{{"token": "{token}", '
                           f'"password": "new {HIGH} password"}}'), "password")
    refused(await post_raw(client, url, {}, f'{{"token": "{token}", "token": "{token}", '
                           '"password": "long enough pw"}'), "token")
    error_of(await client.post(url, json={"token": token, "password": "short"}), 400,
             "weak_password")
    error_of(await client.post(url, json={"token": token, "password": "x" * 5000}), 400,
             "password_too_long")
    error_of(await client.post(url, json={"token": token + "\u00e9", "password": "new one 12"}),
             400, "invalid_token")
    done = await client.post(url, json={"token": token, "password": "the new password"})
    assert done.status_code == 204, done.text
    assert (await log_in(client, pk, password="the new password")).status_code == 200
    error_of(await client.post(url, json={"token": token, "password": "a third password"}), 400,
             "invalid_token")


async def test_a_refused_verification_keeps_its_token(
        client: httpx2.AsyncClient, pk: dict, platform: Platform, settings: Settings) -> None:
    headers = as_user(pk, await sign_up(client, pk))
    await client.post(f"{P}/auth/verify/request", headers=headers)
    await settle(platform)
    _, token = token_in(outbox(settings)[0])
    url = f"{P}/auth/verify/confirm"
    refused(await post_raw(client, url, {}, f'{{"token": "{token}{HIGH}"}}'), "token")
    refused(await post_raw(client, url, {}, f'{{"token": "{token}", "token": "x"}}'), "token")
    error_of(await client.post("/v1/projects/nope/auth/verify/confirm", json={"token": token}),
             404, "project_not_found")
    confirmed = await client.post(url, json={"token": token})
    assert confirmed.status_code == 200 and confirmed.json()["email_verified"]

