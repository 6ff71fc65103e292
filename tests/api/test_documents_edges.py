"""Edge cases found in review, on both engines: definitions re-created under another
worker's cache, documents left behind by a drop, index builds racing, hostile
numbers in query strings and cursors, JSON-typed change detection, rules:check
building @data like a real write, Idempotency-Key scopes, @auth.email."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx2
import pytest

from baas.core.data.documents import ListQuery
from baas.core.data.rules import Access
from baas.core.errors import Forbidden
from baas.core.platform import Platform
from baas.settings import Settings
from tests.api.collections_helpers import (
    OWNER_SCHEMA,
    PASSWORD,
    C,
    P,
    create,
    define,
    list_all,
    uid,
    user,
)
from tests.api.test_admin_api import error_of


async def test_recreated_collection_is_not_served_from_another_workers_cache(
        client: httpx2.AsyncClient, sk: dict, settings: Settings) -> None:
    # A second worker on the same data, reusing what it reads for cache_seconds.
    other = Platform(settings.model_copy(update={"cache_seconds": 0.5}))
    await other.open(background=False)
    try:
        await define(client, sk, "notes", rules={"list": "", "get": ""})
        await create(client, sk, "notes", {"public": True})
        anyone = Access(trusted=False, key_id="key_x")
        assert len((await other.documents.list("demo", "notes", anyone, ListQuery()))["items"]) == 1
        assert (await client.delete(f"{C}/notes", headers=sk)).status_code == 204
        await define(client, sk, "notes")  # closed this time, same version 1
        await create(client, sk, "notes", {"secret": "payroll"})
        await asyncio.sleep(0.6)  # the other worker's copy is due for a read
        with pytest.raises(Forbidden):
            await other.documents.list("demo", "notes", anyone, ListQuery())
    finally:
        await other.close()


async def test_documents_left_by_a_racing_write_do_not_reappear(
        client: httpx2.AsyncClient, sk: dict, platform: Platform) -> None:
    await define(client, sk, "notes")
    assert (await client.delete(f"{C}/notes", headers=sk)).status_code == 204
    # A create that read the definition before the drop lands afterwards.
    await platform.documents.db("demo").collection("d_notes").insert({"id": "stray", "x": 1})
    await define(client, sk, "notes", rules={"list": ""})
    assert await list_all(client, sk, "notes") == []


async def test_index_builds_converge_on_the_latest_definition(
        client: httpx2.AsyncClient, sk: dict, platform: Platform) -> None:
    await define(client, sk, "items")
    many = [{"fields": [f"f{i}"]} for i in range(8)] + [{"fields": ["k"], "unique": True}]
    await client.patch(f"{C}/items", headers=sk, json={"indexes": many})
    await client.patch(f"{C}/items", headers=sk, json={"indexes": [{"fields": ["f3"]}]})
    await platform.collections.drain()
    names = {s.name for s in await platform.documents.db("demo").collection("d_items").indexes()}
    assert names == {"ix_f3_a"}
    for _ in range(2):  # no unique index left behind
        await create(client, sk, "items", {"k": 5})


async def test_hostile_query_numbers_and_cursors(client: httpx2.AsyncClient, sk: dict) -> None:
    await define(client, sk, "items")
    doc = await create(client, sk, "items", {"n": 1})
    url = f"{C}/items/documents"
    for params in ({"offset": "²"}, {"limit": "²"}, {"limit": "9" * 40}):
        assert (await client.get(url, headers=sk, params=params)).status_code == 400, params
    for values in ([10**30, "x"], [2**64, "x"], [[[[]]], "x"]):
        cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode()
        response = await client.get(url, headers=sk, params={"sort": "n", "cursor": cursor})
        error_of(response, 400, "invalid_cursor")
    deep = base64.urlsafe_b64encode(b"[" * 1500).decode()[:2000]
    error_of(await client.get(url, headers=sk, params={"cursor": deep}), 400, "invalid_cursor")
    headers = {**sk, "If-Match": "²".encode("latin-1")}
    error_of(await client.patch(f"{url}/{doc['id']}", headers=headers, json={}), 400,
             "invalid_if_match")


async def test_patch_changes_values_python_thinks_equal(client: httpx2.AsyncClient, sk: dict
                                                       ) -> None:
    await define(client, sk, "items")
    doc = await create(client, sk, "items", {"done": 1, "zero": 0, "f": 1.5, "nested": {"a": 1}})
    url = f"{C}/items/documents/{doc['id']}"
    patched = (await client.patch(url, headers=sk, json={
        "done": True, "zero": False, "nested": {"a": True}})).json()
    assert patched["done"] is True and patched["zero"] is False
    assert patched["nested"] == {"a": True} and patched["nested"]["a"] is True
    stored = (await client.get(url, headers=sk)).json()
    assert stored["done"] is True and stored["zero"] is False and stored["f"] == 1.5


async def test_rules_check_builds_data_like_a_real_write(client: httpx2.AsyncClient, sk: dict,
                                                         pk: dict) -> None:
    rules = {"create": "@data.owner = @auth.id && @data.done = false", "get": "",
             "update": "@data.owner = @auth.id"}
    await define(client, sk, "todos", schema=OWNER_SCHEMA, rules=rules)
    ann = await user(client, pk, "ann@example.com")
    check = {"collection": "todos", "operation": "create", "auth": {"id": uid(ann)},
             "data": {"title": "x"}}
    decision = (await client.post(f"{P}/rules:check", headers=sk, json=check)).json()
    assert decision["allowed"] is True  # owner is set from @auth.id, done defaults to false
    created = await client.post(f"{C}/todos/documents", headers=ann, json={"title": "x"})
    assert created.status_code == 201
    update = {"collection": "todos", "operation": "update", "auth": {"id": uid(ann)},
              "id": created.json()["id"], "data": {"title": "y"}}
    assert (await client.post(f"{P}/rules:check", headers=sk, json=update)).json()["allowed"]
    deep: object = 1
    for _ in range(700):
        deep = [deep]
    error_of(await client.post(f"{P}/rules:check", headers=sk, json={**update, "data": {
        "x": deep}}), 400, "document_too_deep")


async def test_idempotency_keys_need_an_identity_and_cover_batches(
        client: httpx2.AsyncClient, sk: dict, pk: dict) -> None:
    await define(client, sk, "notes", rules={"create": "", "list": "", "get": ""})
    url = f"{C}/notes/documents"
    error_of(await client.post(url, headers={**pk, "Idempotency-Key": "k1"}, json={"a": 1}),
             400, "invalid_idempotency_key")
    ann = await user(client, pk, "ann@example.com")
    bob = await user(client, pk, "bob@example.com")
    first = await client.post(url, headers={**ann, "Idempotency-Key": "k1"}, json={"a": 1})
    theirs = await client.post(url, headers={**bob, "Idempotency-Key": "k1"}, json={"a": 1})
    assert first.json()["id"] != theirs.json()["id"]  # one scope per user
    batch = {"operations": [{"op": "create", "data": {"b": i}} for i in range(3)]}
    headers = {**sk, "Idempotency-Key": "batch-1"}
    once = await client.post(url + ":batch", headers=headers, json=batch)
    again = await client.post(url + ":batch", headers=headers, json=batch)
    assert once.status_code == again.status_code == 200 and once.json() == again.json()
    assert len(await list_all(client, sk, "notes")) == 5


async def test_auth_email_is_bound_only_once_verified(client: httpx2.AsyncClient, sk: dict,
                                                      pk: dict) -> None:
    await define(client, sk, "ops", rules={"create": '@auth.email = "ops@example.com"'})
    eve = await user(client, pk, "ops@example.com")  # signed up with an address she may not own
    error_of(await client.post(f"{C}/ops/documents", headers=eve, json={"x": 1}), 403,
             "forbidden")
    await client.patch(f"{P}/users/{uid(eve)}", headers=sk, json={"email_verified": True})
    assert (await client.post(f"{C}/ops/documents", headers=eve, json={"x": 1})
            ).status_code == 201
    assert PASSWORD  # the helper's password signs users up
