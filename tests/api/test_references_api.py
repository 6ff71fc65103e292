"""Reference fields over HTTP on both engines, as a shopping list app uses them: items
must name a list that exists in this project and that the caller may read; deleting a
list restricts, cascades or unlinks per field, within BAAS_MAX_CASCADE."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from baas.settings import Settings
from tests.api.collections_helpers import C, create, define, list_all, user
from tests.conftest import make_settings

LIST_RULES = {"list": "owner = @auth.id || public = true",
              "get": "owner = @auth.id || public = true",
              "create": "@auth.id != null", "update": "owner = @auth.id",
              "delete": "owner = @auth.id"}
LIST_SCHEMA = {"fields": {"title": {"type": "string"}, "public": {"type": "boolean"},
                          "owner": {"type": "string", "server_owned": True,
                                    "value": "@auth.id"}}}
OPEN_RULES = {op: "" for op in ("list", "get", "create", "update", "delete")}


@pytest.fixture
def settings(engine_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(engine_kind, tmp_path, request, max_cascade=3)


def item_schema(on_delete: str, **more: Any) -> dict[str, Any]:
    return {"fields": {"list_id": {"type": "reference", "collection": "lists",
                                   "on_delete": on_delete, "required": True},
                       "also": {"type": "array", "items": {"type": "reference",
                                                           "collection": "lists"}},
                       **more}}


async def shopping(client: httpx2.AsyncClient, sk: dict[str, str], on_delete: str) -> None:
    await define(client, sk, "lists", schema=LIST_SCHEMA, rules=LIST_RULES)
    await define(client, sk, "items", schema=item_schema(on_delete), rules=OPEN_RULES)


def problems(response: httpx2.Response) -> list[tuple[str, str]]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "reference_not_found"
    return [(e["field"], e["code"]) for e in error["details"]["errors"]]


async def test_bad_references_are_refused_with_their_paths(
        client: httpx2.AsyncClient, sk: dict[str, str], pk: dict[str, str],
        admin: dict[str, str]) -> None:
    await shopping(client, sk, "restrict")
    alice = await user(client, pk, "alice@example.com")
    mine = await create(client, alice, "lists", {"title": "mine"})
    url = f"{C}/items/documents"
    assert problems(await client.post(url, headers=alice, json={"list_id": "missing"})) == [
        ("list_id", "reference_not_found")]
    response = await client.post(url, headers=alice, json={
        "list_id": mine["id"], "also": [mine["id"], "missing"]})
    assert problems(response) == [("also[1]", "reference_not_found")]
    response = await client.post(url, headers=alice, json={"list_id": 12})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_document")
    # An id of another project's list is not found here.
    made = await client.post("/v1/admin/projects", headers=admin,
                             json={"id": "elsewhere", "name": "Elsewhere"})
    other_sk = {"apikey": next(k["secret"] for k in made.json()["keys"]
                               if k["kind"] == "secret")}
    other = "/v1/projects/elsewhere/collections"
    assert (await client.post(other, headers=other_sk, json={
        "name": "lists", "rules": OPEN_RULES})).status_code == 201
    foreign = (await client.post(f"{other}/lists/documents", headers=other_sk,
                                 json={})).json()
    assert problems(await client.post(url, headers=sk, json={"list_id": foreign["id"]})) == [
        ("list_id", "reference_not_found")]
    item = await create(client, alice, "items", {"list_id": mine["id"]})
    for method in ("PATCH", "PUT"):
        response = await client.request(method, f"{url}/{item['id']}", headers=alice,
                                        json={"list_id": "missing"})
        assert problems(response) == [("list_id", "reference_not_found")]
    response = await client.post(f"{url}:batch", headers=alice, json={"operations": [
        {"op": "create", "data": {"list_id": mine["id"]}},
        {"op": "create", "data": {"list_id": "missing"}}]})
    assert response.json()["error"]["details"]["index"] == 1
    assert [i["id"] for i in await list_all(client, sk, "items")] == [item["id"]]


async def test_a_list_the_caller_may_not_read_counts_as_missing(
        client: httpx2.AsyncClient, sk: dict[str, str], pk: dict[str, str]) -> None:
    await shopping(client, sk, "restrict")
    alice = await user(client, pk, "alice@example.com")
    mallory = await user(client, pk, "mallory@example.com")
    private = await create(client, alice, "lists", {"title": "private"})
    public = await create(client, alice, "lists", {"title": "open", "public": True})
    url = f"{C}/items/documents"
    # Exactly the answer a missing id gets: no oracle for ids mallory cannot read.
    assert problems(await client.post(url, headers=mallory, json={"list_id": private["id"]}))\
        == problems(await client.post(url, headers=mallory, json={"list_id": "x" * 26}))
    response = await client.post(url, headers=mallory, json={"list_id": public["id"]})
    assert response.status_code == 201, response.text
    # Secret keys bypass rules: existence alone counts.
    response = await client.post(url, headers=sk, json={"list_id": private["id"]})
    assert response.status_code == 201, response.text


async def test_restrict_names_who_refers_and_keeps_everything(
        client: httpx2.AsyncClient, sk: dict[str, str], pk: dict[str, str]) -> None:
    await shopping(client, sk, "restrict")
    alice = await user(client, pk, "alice@example.com")
    shop = await create(client, alice, "lists", {"title": "shop"})
    item = await create(client, alice, "items", {"list_id": shop["id"]})
    response = await client.delete(f"{C}/lists/documents/{shop['id']}", headers=alice)
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "reference_restricted"
    # A user learns which collections refer, not the ids (it may not read them).
    assert error["details"] == {"referrers": [{"collection": "items", "field": "list_id"}]}
    response = await client.delete(f"{C}/lists/documents/{shop['id']}", headers=sk)
    assert response.json()["error"]["details"]["ids"] == [item["id"]]
    assert len(await list_all(client, alice, "lists")) == 1
    assert (await client.delete(f"{C}/items/documents/{item['id']}",
                                headers=alice)).status_code == 204
    assert (await client.delete(f"{C}/lists/documents/{shop['id']}",
                                headers=alice)).status_code == 204


async def test_cascade_deletes_the_items_within_the_bound(
        client: httpx2.AsyncClient, sk: dict[str, str], pk: dict[str, str]) -> None:
    await shopping(client, sk, "cascade")
    alice = await user(client, pk, "alice@example.com")
    shop = await create(client, alice, "lists", {"title": "shop"})
    big = await create(client, alice, "lists", {"title": "big"})
    await create(client, alice, "items", {"list_id": shop["id"]})
    await create(client, alice, "items", {"list_id": shop["id"]})
    for _ in range(4):  # BAAS_MAX_CASCADE is 3 here
        await create(client, alice, "items", {"list_id": big["id"]})
    response = await client.delete(f"{C}/lists/documents/{big['id']}", headers=alice)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "cascade_too_large"
    assert len(await list_all(client, sk, "items")) == 6
    response = await client.delete(f"{C}/lists/documents/{shop['id']}",
                                   headers={**alice, "If-Match": '"2"'})
    assert response.status_code == 412, response.text
    response = await client.delete(f"{C}/lists/documents/{shop['id']}",
                                   headers={**alice, "If-Match": '"1"'})
    assert response.status_code == 204, response.text
    assert {i["list_id"] for i in await list_all(client, sk, "items")} == {big["id"]}
    assert [doc["id"] for doc in await list_all(client, alice, "lists")] == [big["id"]]


async def test_set_null_unlinks_and_a_self_reference_cycle_ends(
        client: httpx2.AsyncClient, sk: dict[str, str]) -> None:
    await define(client, sk, "lists", rules=OPEN_RULES)
    await define(client, sk, "notes", rules=OPEN_RULES, schema={"fields": {
        "list_id": {"type": "reference", "collection": "lists", "on_delete": "set_null"},
        "parent": {"type": "reference", "collection": "notes", "on_delete": "cascade"}}})
    shop = await create(client, sk, "lists", {})
    first = await create(client, sk, "notes", {"list_id": shop["id"]})
    second = await create(client, sk, "notes", {"parent": first["id"]})
    response = await client.patch(f"{C}/notes/documents/{first['id']}", headers=sk,
                                  json={"parent": second["id"]})
    assert response.status_code == 200, response.text
    assert (await client.delete(f"{C}/lists/documents/{shop['id']}",
                                headers=sk)).status_code == 204
    unlinked = (await client.get(f"{C}/notes/documents/{first['id']}", headers=sk)).json()
    assert "list_id" not in unlinked and unlinked["version"] == 3
    assert (await client.delete(f"{C}/notes/documents/{first['id']}",
                                headers=sk)).status_code == 204
    assert await list_all(client, sk, "notes") == []
