"""Collection definitions over the API, on both engines: create, read, change, drop,
validation of names, rules, schemas and indexes, who may manage them, rules:check."""

from __future__ import annotations

import httpx2

from baas.core.platform import Platform
from tests.api.collections_helpers import (
    OWNER_RULES,
    OWNER_SCHEMA,
    C,
    P,
    create,
    define,
    list_all,
    uid,
    user,
)
from tests.api.test_admin_api import error_of


async def test_define_read_list_and_drop(client: httpx2.AsyncClient, sk: dict,
                                         platform: Platform) -> None:
    made = await define(client, sk, "todos", schema=OWNER_SCHEMA, rules=OWNER_RULES,
                        indexes=[{"fields": ["owner", "-created_at"]}])
    assert made["name"] == "todos" and made["version"] == 1
    assert made["rules"] == OWNER_RULES
    assert made["schema"]["fields"]["owner"]["server_owned"] is True
    [index] = made["indexes"]
    assert index["fields"] == ["owner", "-created_at"] and index["unique"] is False
    assert index["status"] in ("building", "ready")
    await platform.collections.drain()
    shown = (await client.get(f"{C}/todos", headers=sk)).json()
    assert shown["indexes"][0]["status"] == "ready"
    await define(client, sk, "notes")
    listed = (await client.get(C, headers=sk)).json()
    assert [c["name"] for c in listed["items"]] == ["notes", "todos"]
    assert listed["items"][0]["rules"] == dict.fromkeys(OWNER_RULES)  # no rules: all closed
    await create(client, sk, "notes", {"text": "kept?"})
    assert (await client.delete(f"{C}/notes", headers=sk)).status_code == 204
    error_of(await client.get(f"{C}/notes", headers=sk), 404, "collection_not_found")
    await define(client, sk, "notes")
    assert await list_all(client, sk, "notes") == []  # the documents went with it


async def test_duplicate_and_invalid_definitions(client: httpx2.AsyncClient, sk: dict) -> None:
    await define(client, sk, "todos")
    error_of(await client.post(C, headers=sk, json={"name": "todos"}), 409, "collection_exists")
    for name in ("1abc", "a-b", "x" * 61, "", "$where", None):
        error_of(await client.post(C, headers=sk, json={"name": name}), 400,
                 "invalid_collection_name")
    err = error_of(await client.post(C, headers=sk, json={
        "name": "bad", "rules": {"list": "owner = @auth.id && & x"}}), 400, "invalid_rule")
    assert err["message"] == "rules.list: unexpected '&' at column 21"
    assert err["details"]["column"] == 21
    err = error_of(await client.post(C, headers=sk, json={
        "name": "bad", "rules": {"get": "@data.owner = @auth.id"}}), 400, "invalid_rule")
    assert "@data" in err["message"]
    error_of(await client.post(C, headers=sk, json={"name": "bad", "rules": {"read": ""}}),
             400, "invalid_rule")
    err = error_of(await client.post(C, headers=sk, json={
        "name": "bad", "rules": {"list": "owner = editor"}}), 400, "invalid_rule")
    assert "two fields" in err["message"] or "field" in err["message"]
    error_of(await client.post(C, headers=sk, json={
        "name": "bad", "schema": {"fields": {"x": {"type": "color"}}}}), 400, "invalid_schema")
    for index in ({"fields": []}, {"fields": ["$where"]}, {"fields": ["a"], "ttl": 1},
                  {"fields": ["a", "b"], "ttl": True}, {"keys": ["a"]}):
        error_of(await client.post(C, headers=sk, json={"name": "bad", "indexes": [index]}),
                 400, "invalid_index")
    error_of(await client.post(C, headers=sk, json={"name": "bad", "owner": "x"}), 400,
             "invalid_collection")
    assert (await client.get(f"{C}/bad", headers=sk)).status_code == 404  # nothing half-made


async def test_only_secret_keys_and_admins_manage_collections(
        client: httpx2.AsyncClient, sk: dict, pk: dict, admin: dict) -> None:
    assert (await client.post(C, headers=admin, json={"name": "by_admin"})).status_code == 201
    ann = await user(client, pk, "ann@example.com")
    for headers in (pk, ann):
        error_of(await client.post(C, headers=headers, json={"name": "x"}), 403,
                 "secret_key_required")
        error_of(await client.get(C, headers=headers), 403, "secret_key_required")
        error_of(await client.patch(f"{C}/by_admin", headers=headers, json={"rules": {}}), 403,
                 "secret_key_required")
        error_of(await client.delete(f"{C}/by_admin", headers=headers), 403,
                 "secret_key_required")
    error_of(await client.get(C), 401, "missing_api_key")
    assert (await client.get(f"{C}/by_admin", headers=sk)).status_code == 200


async def test_patch_merges_rules_and_replaces_indexes(client: httpx2.AsyncClient, sk: dict,
                                                       platform: Platform) -> None:
    await define(client, sk, "posts", rules={"list": "", "get": ""},
                 indexes=[{"fields": ["title"]}, {"fields": ["slug"], "unique": True}])
    response = await client.patch(f"{C}/posts", headers=sk,
                                  json={"rules": {"get": None, "create": "@auth.id != null"}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rules"] == {"list": "", "get": None, "create": "@auth.id != null",
                             "update": None, "delete": None}
    assert body["version"] == 2
    response = await client.patch(f"{C}/posts", headers=sk,
                                  json={"indexes": [{"fields": ["slug"], "unique": True}]})
    assert [i["fields"] for i in response.json()["indexes"]] == [["slug"]]
    version = response.json()["version"]
    await platform.collections.drain()
    db = platform.documents.db("demo")
    names = {spec.name for spec in await db.collection("d_posts").indexes()}
    assert "uniq_slug_a" in names and "ix_title_a" not in names
    error_of(await client.patch(f"{C}/posts", headers=sk, json={"name": "other"}), 400,
             "invalid_collection")
    error_of(await client.patch(f"{C}/posts", headers=sk, json={"rules": {"list": "a ="}}),
             400, "invalid_rule")
    assert (await client.get(f"{C}/posts", headers=sk)).json()["version"] == version
    error_of(await client.patch(f"{C}/nope", headers=sk, json={}), 404, "collection_not_found")


async def test_unique_index_on_existing_duplicates_reports_failed(
        client: httpx2.AsyncClient, sk: dict, platform: Platform) -> None:
    await define(client, sk, "tags")
    for _ in range(2):
        await create(client, sk, "tags", {"slug": "same"})
    await client.patch(f"{C}/tags", headers=sk,
                       json={"indexes": [{"fields": ["slug"], "unique": True}]})
    await platform.collections.drain()
    [index] = (await client.get(f"{C}/tags", headers=sk)).json()["indexes"]
    assert index["status"] == "failed" and "duplicate" in index["error"]


async def test_rules_check_explains_decisions(client: httpx2.AsyncClient, sk: dict, pk: dict
                                              ) -> None:
    await define(client, sk, "todos", schema=OWNER_SCHEMA, rules=OWNER_RULES)
    ann = await user(client, pk, "ann@example.com")
    todo = await create(client, ann, "todos", {"title": "milk"})
    check = f"{P}/rules:check"
    mine = {"collection": "todos", "operation": "get", "id": todo["id"],
            "auth": {"id": uid(ann), "role": "authenticated"}}
    response = await client.post(check, headers=sk, json=mine)
    assert response.status_code == 200, response.text
    assert response.json() == {"allowed": True, "operation": "get", "rule": "owner = @auth.id",
                               "reason": "the get rule is true for this caller and document"}
    theirs = {**mine, "auth": {"id": "usr_someone_else"}}
    assert (await client.post(check, headers=sk, json=theirs)).json()["allowed"] is False
    anonymous = {"collection": "todos", "operation": "create", "auth": None,
                 "data": {"title": "x"}}
    decision = (await client.post(check, headers=sk, json=anonymous)).json()
    assert decision["allowed"] is False and decision["rule"] == "@auth.id != null"
    inline = {"collection": "todos", "operation": "delete", "document": {"owner": "usr_1"},
              "auth": {"id": "usr_1"}}
    assert (await client.post(check, headers=sk, json=inline)).json()["allowed"] is True
    await define(client, sk, "closed")
    closed = (await client.post(check, headers=sk, json={"collection": "closed",
                                                         "operation": "list"})).json()
    assert closed["allowed"] is False and closed["rule"] is None
    assert "secret key" in closed["reason"]
    error_of(await client.post(check, headers=pk, json=mine), 403, "secret_key_required")
    error_of(await client.post(check, headers=sk, json={**mine, "operation": "read"}), 422,
             "validation_failed")
    error_of(await client.post(check, headers=sk, json={**mine, "id": "missing"}), 404,
             "document_not_found")
    error_of(await client.post(check, headers=sk, json={**mine, "collection": "nope"}), 404,
             "collection_not_found")
