"""Access-token claims and the verified-token cache over the API (issue 12, items 6, 7),
on both engines: tokens signed with the project's real key but with bad claims are 401
on first use and on reuse, never 500; a token of a deleted project is 401 in the project
re-created under its id, and writes nothing."""

from __future__ import annotations

import time
from typing import Any

import httpx2
import jwt
import pytest

from baas.core.platform import Platform
from tests.api.collections_helpers import OWNER_RULES, OWNER_SCHEMA, C, define, user
from tests.api.test_admin_api import error_of
from tests.api.test_auth_api import sign_up
from tests.api.test_auth_attacks import claims_for, real_key

P = "/v1/projects/demo"


def bearer(pk: dict[str, str], token: str) -> dict[str, str]:
    return {**pk, "Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("name", "changes"), [
    ("string exp", {"exp": str(int(time.time()) + 600)}),
    ("string iat", {"iat": str(int(time.time()))}),
    ("boolean iat", {"iat": True}),
    ("string nbf", {"nbf": "0"}),
    ("aud as a list holding the project", {"aud": ["demo"]}),
    ("aud as a list of two", {"aud": ["demo", "other"]}),
    ("unknown role", {"role": "service_role"}),
    ("admin role", {"role": "admin"}),
    ("empty role", {"role": ""}),
])
async def test_bad_claims_are_401_on_first_use_and_reuse(
        client: httpx2.AsyncClient, pk: dict, platform: Platform, name: str,
        changes: dict[str, Any]) -> None:
    auth = await sign_up(client, pk)
    kid, private = await real_key(platform)
    good = jwt.encode(claims_for(auth), private, algorithm="ES256", headers={"kid": kid})
    bad = jwt.encode(claims_for(auth, **changes), private, algorithm="ES256",
                     headers={"kid": kid})
    for _ in range(2):  # the second use would be a cache hit
        error_of(await client.get(f"{P}/auth/me", headers=bearer(pk, bad)), 401,
                 "invalid_token")
        docs = await client.get(f"{C}/notes/documents", headers=bearer(pk, bad))
        assert docs.status_code == 401, (name, docs.text)
    # The same claims otherwise, correctly typed, pass: the refusal is for the claim.
    assert (await client.get(f"{P}/auth/me", headers=bearer(pk, good))).status_code == 200


async def test_anonymous_role_is_known(client: httpx2.AsyncClient, pk: dict) -> None:
    guest = (await client.post(f"{P}/auth/anonymous", headers=pk)).json()
    assert jwt.decode(guest["session"]["access_token"],
                      options={"verify_signature": False})["role"] == "anonymous"
    for _ in range(2):
        me = await client.get(f"{P}/auth/me", headers=bearer(
            pk, guest["session"]["access_token"]))
        assert me.status_code == 200 and me.json()["anonymous"]


async def test_a_deleted_projects_token_is_refused_by_its_successor(
        client: httpx2.AsyncClient, admin: dict, pk: dict, sk: dict) -> None:
    await define(client, sk, "notes", schema=OWNER_SCHEMA, rules=OWNER_RULES)
    ann = await user(client, pk, "ann@example.com")
    made = await client.post(f"{C}/notes/documents", headers=ann, json={"title": "before"})
    assert made.status_code == 201, made.text  # the token is verified, and cached
    assert (await client.delete("/v1/admin/projects/demo", headers=admin)).status_code == 204
    again = await client.post("/v1/admin/projects", json={"id": "demo"}, headers=admin)
    assert again.status_code == 201, again.text
    new_keys = {k["kind"]: k["secret"] for k in again.json()["keys"]}
    new_pk, new_sk = {"apikey": new_keys["publishable"]}, {"apikey": new_keys["secret"]}
    await define(client, new_sk, "notes", schema=OWNER_SCHEMA, rules=OWNER_RULES)
    old_token = ann["Authorization"].removeprefix("Bearer ")
    kid = jwt.get_unverified_header(old_token)["kid"]
    jwks = (await client.get(f"{P}/.well-known/jwks.json")).json()
    assert kid not in {k["kid"] for k in jwks["keys"]}
    for _ in range(2):
        refused = await client.post(f"{C}/notes/documents", headers=bearer(new_pk, old_token),
                                    json={"title": "after"})
        error_of(refused, 401, "invalid_token")
        error_of(await client.get(f"{P}/auth/me", headers=bearer(new_pk, old_token)), 401,
                 "invalid_token")
    listed = await client.get(f"{C}/notes/documents", headers=new_sk)
    assert listed.status_code == 200 and listed.json()["items"] == []
