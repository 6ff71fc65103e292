"""Rules and attacks on documents, on both engines: other users' documents, filter
escapes, operator smuggling, forged fields, hostile numbers and sizes, batches that
fail halfway. Every refusal is a 4xx that changes nothing and leaks nothing."""

from __future__ import annotations

import json

import httpx2
import pytest

from tests.api.collections_helpers import (
    OWNER_RULES,
    OWNER_SCHEMA,
    PUBLIC_READ_RULES,
    C,
    create,
    define,
    list_all,
    uid,
    user,
)
from tests.api.test_admin_api import error_of

T = C + "/todos/documents"


@pytest.fixture
async def two_users(client: httpx2.AsyncClient, sk: dict, pk: dict) -> tuple[dict, dict]:
    await define(client, sk, "todos", schema=OWNER_SCHEMA, rules=OWNER_RULES)
    return (await user(client, pk, "ann@example.com"), await user(client, pk, "bob@example.com"))


async def test_users_see_only_their_own_documents(client: httpx2.AsyncClient, sk: dict,
                                                  two_users: tuple[dict, dict]) -> None:
    ann, bob = two_users
    mine = await create(client, ann, "todos", {"title": "ann's"})
    assert mine["owner"] == uid(ann) and mine["done"] is False
    theirs = await create(client, bob, "todos", {"title": "bob's"})
    assert [d["id"] for d in await list_all(client, ann, "todos")] == [mine["id"]]
    assert [d["id"] for d in await list_all(client, bob, "todos")] == [theirs["id"]]
    url = f"{T}/{mine['id']}"
    missing = error_of(await client.get(f"{T}/does-not-exist", headers=bob), 404,
                       "document_not_found")
    hidden = error_of(await client.get(url, headers=bob), 404, "document_not_found")
    assert hidden["message"].replace(mine["id"], "X") == missing["message"].replace(
        "does-not-exist", "X")  # a hidden document reads exactly like a missing one
    error_of(await client.patch(url, headers=bob, json={"title": "mine now"}), 404,
             "document_not_found")
    error_of(await client.put(url, headers=bob, json={"title": "mine now"}), 404,
             "document_not_found")
    error_of(await client.delete(url, headers=bob), 404, "document_not_found")
    error_of(await client.patch(url, headers={**bob, "If-Match": "1"}, json={}), 404,
             "document_not_found")
    assert (await client.get(url, headers=ann)).json() == mine
    assert (await client.get(url, headers=sk)).json() == mine  # secret keys bypass rules
    assert len(await list_all(client, sk, "todos")) == 2


async def test_client_filters_cannot_widen_the_list_rule(client: httpx2.AsyncClient,
                                                         two_users: tuple[dict, dict]) -> None:
    ann, bob = two_users
    await create(client, ann, "todos", {"title": "secret"})
    await create(client, bob, "todos", {"title": "public"})
    escapes = [f'owner = "{uid(ann)}"', f'owner = "{uid(ann)}" || 1 = 1',
               f'1 = 1 || owner = "{uid(ann)}"', "owner != null || title != null",
               '!(title = "nothing")', f'owner != "{uid(bob)}"', "true = true"]
    for escape in escapes:
        found = await list_all(client, bob, "todos", filter=escape)
        assert all(d["owner"] == uid(bob) for d in found), escape
    counted = (await client.get(T, headers=bob, params={"filter": "1 = 1", "count": "true"})
               ).json()
    assert counted["total"] == 1


async def test_forged_owner_id_and_version(client: httpx2.AsyncClient, sk: dict,
                                           two_users: tuple[dict, dict]) -> None:
    ann, bob = two_users
    err = error_of(await client.post(T, headers=bob, json={"title": "x", "owner": uid(ann)}),
                   400, "server_owned_field")
    assert err["details"]["field"] == "owner"
    mine = await create(client, ann, "todos", {"title": "a"})
    url = f"{T}/{mine['id']}"
    for body in ({"owner": uid(bob)}, {"owner": uid(ann)}):
        error_of(await client.patch(url, headers=ann, json=body), 400, "server_owned_field")
    error_of(await client.put(url, headers=ann, json={"title": "b", "owner": uid(bob)}), 400,
             "server_owned_field")
    error_of(await client.patch(url, headers=ann, json={"version": 7}), 400, "system_field")
    error_of(await client.post(T, headers=ann, json={"title": "x", "id": mine["id"]}), 400,
             "system_field")
    replaced = (await client.put(url, headers=ann, json={"title": "kept owner"})).json()
    assert replaced["owner"] == uid(ann)
    # A secret key (a trusted server) may set a server-owned field.
    moved = await client.patch(url, headers=sk, json={"owner": uid(bob)})
    assert moved.status_code == 200 and moved.json()["owner"] == uid(bob)


async def test_operator_smuggling_is_refused(client: httpx2.AsyncClient, sk: dict,
                                             two_users: tuple[dict, dict]) -> None:
    ann, _ = two_users
    bodies = [{"title": "x", "$where": "1"}, {"title": {"$gt": ""}},
              {"title": "x", "a.b": 1}, {"title": "x", "__proto__": {"admin": True}},
              {"title": "x", "ref": {"$oid": "5f1d7f9c2b3e4a5d6c7b8a90"}},
              {"title": "x", "when": {"$date": "2020-01-01"}},
              {"title": "x", "bin": {"_bsontype": "ObjectID", "id": "x"}},
              {"title": "x", "list": [{"$ne": None}]}]
    for body in bodies:
        err = error_of(await client.post(T, headers=ann, json=body), 400, "invalid_field_name")
        assert err["details"]["field"]
    assert await list_all(client, sk, "todos") == []
    # Strings that look like operators or BSON are plain data on both engines.
    plain = await create(client, ann, "todos", {
        "title": "$where", "note": '{"$oid": "5f1d7f9c2b3e4a5d6c7b8a90"}',
        "tags": ["$gt", "ObjectId('x')", "__proto__"]})
    got = (await client.get(f"{T}/{plain['id']}", headers=ann)).json()
    assert got["note"] == '{"$oid": "5f1d7f9c2b3e4a5d6c7b8a90"}' and got["title"] == "$where"
    found = await list_all(client, ann, "todos", filter='tags has "$gt" && title = "$where"')
    assert [d["id"] for d in found] == [plain["id"]]
    for hostile in ('title = {"$ne": null}', "$where = 1", "title.$gt = 1", "__proto__ = 1",
                    'title ~ ".*"'):
        response = await client.get(T, headers=ann, params={"filter": hostile})
        if hostile == 'title ~ ".*"':  # a substring, never a pattern
            assert response.status_code == 200 and response.json()["items"] == []
        else:
            error_of(response, 400, "invalid_filter")


async def test_hostile_numbers_sizes_and_depth(client: httpx2.AsyncClient, sk: dict) -> None:
    await define(client, sk, "notes")
    url = f"{C}/notes/documents"
    headers = {**sk, "Content-Type": "application/json"}
    for raw in ('{"n": NaN}', '{"n": Infinity}', '{"n": -Infinity}'):
        error_of(await client.post(url, headers=headers, content=raw), 400, "invalid_json")
    for number in (2**63, -(2**63) - 1, 10**30):
        error_of(await client.post(url, headers=headers, content=f'{{"n": {number}}}'), 400,
                 "invalid_number")
    assert (await client.post(url, headers=sk, json={"n": 2**63 - 1})).status_code == 201
    big = {"blob": "x" * (2 * 1024 * 1024)}
    error_of(await client.post(url, headers=sk, json=big), 413, "payload_too_large")
    deep: object = 1
    for _ in range(100):
        deep = {"a": deep}
    error_of(await client.post(url, headers=sk, json={"d": deep}), 400, "document_too_deep")
    error_of(await client.post(url, headers=headers, content='{"d": ' + "[" * 100000 +
                               "]" * 100000 + "}"), 400, "document_too_deep")
    error_of(await client.post(url, headers=sk, json={"a": list(range(10_001))}), 400,
             "array_too_long")
    error_of(await client.post(url, headers=sk, json=[1, 2]), 400, "invalid_document")
    error_of(await client.post(url, headers={**sk, "Content-Type": "text/plain"},
                               content="{}"), 415, "unsupported_media_type")
    assert len(await list_all(client, sk, "notes")) == 1


async def test_public_read_owner_write(client: httpx2.AsyncClient, sk: dict, pk: dict) -> None:
    await define(client, sk, "posts", schema=OWNER_SCHEMA, rules=PUBLIC_READ_RULES)
    ann, bob = await user(client, pk, "ann@example.com"), await user(client, pk, "bob@example.com")
    post = await create(client, ann, "posts", {"title": "hello"})
    url = f"{C}/posts/documents/{post['id']}"
    for reader in (ann, bob, pk):
        assert [d["id"] for d in await list_all(client, reader, "posts")] == [post["id"]]
        assert (await client.get(url, headers=reader)).status_code == 200
    error_of(await client.patch(url, headers=bob, json={"title": "defaced"}), 403, "forbidden")
    error_of(await client.delete(url, headers=bob), 403, "forbidden")
    error_of(await client.delete(url, headers=pk), 403, "forbidden")
    error_of(await client.post(f"{C}/posts/documents", headers=pk, json={"title": "anon"}),
             403, "forbidden")
    assert (await client.patch(url, headers=ann, json={"title": "edited"})).status_code == 200
    assert (await client.get(url, headers=pk)).json()["title"] == "edited"
    assert len(await list_all(client, sk, "posts")) == 1


async def test_collections_without_rules_are_closed(client: httpx2.AsyncClient, sk: dict,
                                                    pk: dict) -> None:
    await define(client, sk, "internal")
    doc = await create(client, sk, "internal", {"secret": 1})
    ann = await user(client, pk, "ann@example.com")
    url = f"{C}/internal/documents"
    for caller in (pk, ann):
        error_of(await client.get(url, headers=caller), 403, "forbidden")
        error_of(await client.get(f"{url}/{doc['id']}", headers=caller), 404,
                 "document_not_found")
        error_of(await client.post(url, headers=caller, json={"x": 1}), 403, "forbidden")
        error_of(await client.delete(f"{url}/{doc['id']}", headers=caller), 404,
                 "document_not_found")
    error_of(await client.get(url), 401, "missing_api_key")
    error_of(await client.get(url, headers={"apikey": "pk_forged"}), 401, "invalid_key")
    assert len(await list_all(client, sk, "internal")) == 1


async def test_update_rules_see_incoming_data(client: httpx2.AsyncClient, sk: dict, pk: dict
                                              ) -> None:
    rules = {**OWNER_RULES, "create": '@auth.id != null && @data.status = "draft"',
             "update": 'owner = @auth.id && status != "locked" && @data.status != "locked"'}
    await define(client, sk, "todos", schema=OWNER_SCHEMA, rules=rules)
    ann = await user(client, pk, "ann@example.com")
    error_of(await client.post(T, headers=ann, json={"title": "x", "status": "done"}), 403,
             "forbidden")
    doc = await create(client, ann, "todos", {"title": "x", "status": "draft"})
    url = f"{T}/{doc['id']}"
    error_of(await client.patch(url, headers=ann, json={"status": "locked"}), 403, "forbidden")
    assert (await client.patch(url, headers=ann, json={"title": "y"})).status_code == 200
    await client.patch(url, headers=sk, json={"status": "locked"})
    error_of(await client.patch(url, headers=ann, json={"title": "z"}), 403, "forbidden")
    assert (await client.get(url, headers=ann)).json()["title"] == "y"


async def test_batch_is_all_or_nothing(client: httpx2.AsyncClient, sk: dict,
                                       two_users: tuple[dict, dict]) -> None:
    ann, bob = two_users
    url = T + ":batch"
    ops = [{"op": "create", "data": {"title": f"t{i}"}} for i in range(49)]
    err = error_of(await client.post(url, headers=ann, json={"operations": [
        *ops, {"op": "create", "data": {"title": "x" * 201}}]}), 400, "invalid_document")
    assert err["details"]["index"] == 49 and err["message"].startswith("operation 49:")
    bobs = await create(client, bob, "todos", {"title": "bob's"})
    err = error_of(await client.post(url, headers=ann, json={"operations": [
        *ops, {"op": "delete", "id": bobs["id"]}]}), 404, "document_not_found")
    assert err["details"]["index"] == 49
    assert len(await list_all(client, sk, "todos")) == 1
    done = await client.post(url, headers=ann, json={"operations": ops[:3]})
    assert done.status_code == 200, done.text
    created = [r["document"] for r in done.json()["results"]]
    mixed = [{"op": "update", "id": created[0]["id"], "data": {"done": True}, "if_match": 1},
             {"op": "replace", "id": created[1]["id"], "data": {"title": "new"}},
             {"op": "delete", "id": created[2]["id"]},
             {"op": "create", "data": {"title": "fourth"}}]
    results = (await client.post(url, headers=ann, json={"operations": mixed})).json()["results"]
    assert [r["op"] for r in results] == ["update", "replace", "delete", "create"]
    assert results[0]["document"]["done"] is True and results[2]["document"] is None
    assert results[1]["document"]["owner"] == uid(ann)
    error_of(await client.post(url, headers=ann, json={"operations": [
        {"op": "update", "id": created[0]["id"], "data": {"done": False}, "if_match": 1}]}),
        412, "version_mismatch")
    for bad in ({"operations": []}, {"operations": ops * 3}, {"ops": ops},
                {"operations": [{"op": "upsert", "data": {}}]},
                {"operations": [{"op": "delete"}]},
                {"operations": [{"op": "delete", "id": created[0]["id"]},
                                {"op": "delete", "id": created[0]["id"]}]}):
        response = await client.post(url, headers=ann, json=bad)
        assert response.status_code == 400, (json.dumps(bad)[:80], response.text)
    assert len(await list_all(client, ann, "todos")) == 3


async def test_batch_fails_in_the_store_and_keeps_nothing(client: httpx2.AsyncClient, sk: dict
                                                          ) -> None:
    schema = {"fields": {"slug": {"type": "string", "unique": True}}}
    await define(client, sk, "tags", schema=schema)
    await create(client, sk, "tags", {"slug": "taken"})
    ops = [{"op": "create", "data": {"slug": f"s{i}"}} for i in range(49)]
    err = error_of(await client.post(f"{C}/tags/documents:batch", headers=sk, json={
        "operations": [*ops, {"op": "create", "data": {"slug": "taken"}}]}), 409,
        "duplicate_value")
    assert err["details"]["index"] == 49
    assert len(await list_all(client, sk, "tags")) == 1
