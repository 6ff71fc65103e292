"""``expand=`` on document get and list, on both engines: referenced documents inline
under ``_expand``, each checked against its own collection's get rule; the bounds
(3 hops, 1,000 references) and ``fields`` on expanded documents."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from baas.core.data.expand import MAX_EXPANDED
from baas.core.platform import Platform
from tests.api.collections_helpers import C, create, define, uid, user
from tests.api.test_admin_api import error_of

READ_OWN_OR_PUBLIC = "owner = @auth.id || public = true"
PUBLIC = {"list": "", "get": "", "create": "", "update": "", "delete": ""}


def ref(collection: str, **extra: Any) -> dict[str, Any]:
    return {"type": "reference", "collection": collection, **extra}


async def shopping(client: httpx2.AsyncClient, sk: dict[str, str]) -> None:
    """boards <- lists <- items; boards.home_list points back at lists (a cycle)."""
    await define(client, sk, "boards", rules=PUBLIC, schema={"fields": {
        "name": {"type": "string"}, "home_list": {"type": "string"}}})
    await define(client, sk, "lists", rules={
        "list": READ_OWN_OR_PUBLIC, "get": READ_OWN_OR_PUBLIC, "create": "", "update": "",
        "delete": ""}, schema={"fields": {
            "title": {"type": "string"}, "owner": {"type": "string"},
            "public": {"type": "boolean"}, "note": {"type": "string"},
            "board_id": ref("boards", on_delete="set_null")}})
    await define(client, sk, "items", rules=PUBLIC, schema={"fields": {
        "title": {"type": "string"}, "list_id": ref("lists", on_delete="set_null"),
        "also": {"type": "array", "items": ref("lists", on_delete="set_null")}}})


async def make_cycle(client: httpx2.AsyncClient, sk: dict[str, str]) -> None:
    """Turn boards.home_list into a reference to lists (after lists exist)."""
    response = await client.patch(f"{C}/boards", headers=sk, json={"schema": {"fields": {
        "name": {"type": "string"}, "home_list": ref("lists", on_delete="set_null")}}})
    assert response.status_code == 200, response.text


def items_url(doc_id: str = "") -> str:
    return f"{C}/items/documents" + (f"/{doc_id}" if doc_id else "")


async def get(client: httpx2.AsyncClient, headers: dict[str, str], url: str,
              **params: str) -> dict[str, Any]:
    response = await client.get(url, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
async def world(client: httpx2.AsyncClient, sk: dict[str, str], pk: dict[str, str]
                ) -> dict[str, Any]:
    await shopping(client, sk)
    owner = await user(client, pk, "owner@example.com")
    stranger = await user(client, pk, "stranger@example.com")
    board = await create(client, sk, "boards", {"name": "home"})
    private = await create(client, sk, "lists", {"title": "secret", "owner": uid(owner),
                                                 "public": False, "board_id": board["id"]})
    public = await create(client, sk, "lists", {"title": "groceries", "owner": uid(owner),
                                                "public": True, "board_id": board["id"]})
    item = await create(client, sk, "items", {"title": "milk", "list_id": private["id"],
                                              "also": [public["id"], private["id"]]})
    on_public = await create(client, sk, "items", {"title": "eggs", "list_id": public["id"]})
    return {"owner": owner, "stranger": stranger, "board": board, "private": private,
            "public": public, "item": item, "on_public": on_public}


async def test_get_inlines_the_reference_and_keeps_the_id(
        client: httpx2.AsyncClient, world: dict[str, Any]) -> None:
    item, private = world["item"], world["private"]
    got = await get(client, world["owner"], items_url(item["id"]), expand="list_id")
    assert got["list_id"] == private["id"]
    assert got["_expand"] == {"list_id": private}
    assert {k: v for k, v in got.items() if k != "_expand"} == item
    bare = await client.get(items_url(item["id"]), headers=world["owner"])
    assert "_expand" not in bare.json()


async def test_a_reference_the_caller_may_not_read_is_left_out(
        client: httpx2.AsyncClient, world: dict[str, Any], pk: dict[str, str]) -> None:
    item, public = world["item"], world["public"]
    for caller in (world["stranger"], pk):  # a signed-in stranger, and a guest
        got = await get(client, caller, items_url(item["id"]), expand="list_id,also")
        # The private list is absent, exactly as if it did not exist; the public one shows.
        assert got["_expand"] == {"also": [public]}
        assert got["list_id"] == world["private"]["id"]
    owner = await get(client, world["owner"], items_url(item["id"]), expand="also")
    assert owner["_expand"]["also"] == [public, world["private"]]


async def test_list_expands_every_item(client: httpx2.AsyncClient,
                                       world: dict[str, Any]) -> None:
    page = await get(client, world["stranger"], items_url(), expand="list_id")
    by_title = {item["title"]: item for item in page["items"]}
    assert "_expand" not in by_title["milk"]
    assert by_title["eggs"]["_expand"] == {"list_id": world["public"]}


async def test_a_missing_referenced_document_is_left_out(
        client: httpx2.AsyncClient, platform: Platform, world: dict[str, Any],
        sk: dict[str, str]) -> None:
    # Dangling ids written under the schema's back (as an older document may hold).
    definition = await platform.documents.defs.get("demo", "items")
    items = platform.documents.db("demo").collection(definition.store_name)
    assert await items.update(world["item"]["id"], set={
        "list_id": "no-such-list", "also": ["gone", world["public"]["id"]]})
    got = await get(client, sk, items_url(world["item"]["id"]), expand="list_id,also")
    assert got["list_id"] == "no-such-list"
    assert got["_expand"] == {"also": [world["public"]]}


async def test_nested_expansion_and_a_cycle_stop_at_three_hops(
        client: httpx2.AsyncClient, world: dict[str, Any], sk: dict[str, str]) -> None:
    await make_cycle(client, sk)
    board, public = world["board"], world["public"]
    response = await client.patch(f"{C}/boards/documents/{board['id']}", headers=sk,
                                  json={"home_list": public["id"]})
    assert response.status_code == 200, response.text
    got = await get(client, world["owner"], items_url(world["on_public"]["id"]),
                    expand="list_id.board_id.home_list")
    hop1 = got["_expand"]["list_id"]
    hop2 = hop1["_expand"]["board_id"]
    hop3 = hop2["_expand"]["home_list"]
    assert hop1["id"] == public["id"] and hop2["id"] == board["id"]
    assert hop3["id"] == public["id"] and "_expand" not in hop3  # back at lists, and done
    err = error_of(await client.get(items_url(world["on_public"]["id"]), headers=sk,
                                    params={"expand": "list_id.board_id.home_list.board_id"}),
                   400, "invalid_expand")
    assert "list_id.board_id.home_list.board_id" in err["message"] and "3" in err["message"]
    error_of(await client.get(items_url(), headers=sk,
                              params={"expand": "list_id.board_id.home_list.board_id"}),
             400, "invalid_expand")


async def test_unknown_and_non_reference_fields_are_400(
        client: httpx2.AsyncClient, world: dict[str, Any], sk: dict[str, str]) -> None:
    url = items_url(world["item"]["id"])
    for expand, named in (("nope", "'nope'"), ("title", "'title'"),
                          ("list_id.title", "'list_id.title'"), ("list_id..x", "list_id..x")):
        err = error_of(await client.get(url, headers=sk, params={"expand": expand}), 400,
                       "invalid_expand")
        assert named in err["message"], err
    err = error_of(await client.get(items_url(), headers=sk, params={"expand": "title"}), 400,
                   "invalid_expand")
    assert "reference" in err["message"] and err["details"]["path"] == "title"


async def test_hidden_root_is_still_404_with_expand(
        client: httpx2.AsyncClient, world: dict[str, Any]) -> None:
    url = f"{C}/lists/documents/{world['private']['id']}"
    error_of(await client.get(url, headers=world["stranger"], params={"expand": "board_id"}),
             404, "document_not_found")
    got = await get(client, world["owner"], url, expand="board_id")
    assert got["_expand"]["board_id"] == world["board"]


async def test_fields_reach_expanded_documents(
        client: httpx2.AsyncClient, world: dict[str, Any]) -> None:
    page = await get(client, world["owner"], items_url(), expand="list_id.board_id",
                     fields="title,list_id.title,list_id.board_id.name", sort="title")
    eggs, milk = page["items"]
    assert eggs == {"id": eggs["id"], "title": "eggs", "list_id": world["public"]["id"],
                    "_expand": {"list_id": {
                        "id": world["public"]["id"], "title": "groceries",
                        "board_id": world["board"]["id"],
                        "_expand": {"board_id": {"id": world["board"]["id"], "name": "home"}}}}}
    assert milk["_expand"]["list_id"]["title"] == "secret"
    # No fields under an expanded path: the expanded document is whole.
    page = await get(client, world["owner"], items_url(), expand="list_id", fields="title",
                     sort="title")
    assert page["items"][0]["_expand"]["list_id"] == world["public"]


async def test_at_most_1000_references_per_answer(
        client: httpx2.AsyncClient, sk: dict[str, str]) -> None:
    await shopping(client, sk)
    per_item = MAX_EXPANDED // 2
    ids: list[str] = []
    for start in range(0, per_item, 100):
        ops = [{"op": "create", "data": {"title": f"l{n}", "public": True}}
               for n in range(start, min(start + 100, per_item))]
        response = await client.post(f"{C}/lists/documents:batch", headers=sk,
                                     json={"operations": ops})
        assert response.status_code == 200, response.text
        ids += [result["document"]["id"] for result in response.json()["results"]]
    for title in ("a", "b"):
        await create(client, sk, "items", {"title": title, "also": ids})
    page = await get(client, sk, items_url(), expand="also")  # exactly 1,000: fine
    assert [len(item["_expand"]["also"]) for item in page["items"]] == [per_item, per_item]
    await create(client, sk, "items", {"title": "c", "list_id": ids[0]})
    err = error_of(await client.get(items_url(), headers=sk,
                                    params={"expand": "also,list_id"}), 400,
                   "expand_too_large")
    assert "1000" in err["message"] and "limit" in err["message"]
    page = await get(client, sk, items_url(), expand="also,list_id", limit="2")
    assert len(page["items"]) == 2


async def test_back_references_obey_the_list_and_get_rules(
        client: httpx2.AsyncClient, world: dict[str, Any], sk: dict[str, str],
        pk: dict[str, str]) -> None:
    board, private, public = world["board"], world["private"], world["public"]
    url = f"{C}/boards/documents/{board['id']}"
    for caller, lists in ((world["owner"], [private, public]),
                          (world["stranger"], [public]), (pk, [public])):
        got = await get(client, caller, url, expand="lists_via_board_id")
        assert got["_expand"] == {"lists_via_board_id": lists}
    # A list of references, back: the items whose `also` holds the list, two hops down.
    page = await get(client, world["owner"], f"{C}/boards/documents",
                     expand="lists_via_board_id.items_via_also",
                     fields="name,lists_via_board_id.title,lists_via_board_id.items_via_also.title")
    [got] = page["items"]
    assert set(got) == {"id", "name", "_expand"}
    shown = got["_expand"]["lists_via_board_id"]
    assert [(doc["title"], doc["_expand"]["items_via_also"]) for doc in shown] == [
        ("secret", [{"id": world["item"]["id"], "title": "milk"}]),
        ("groceries", [{"id": world["item"]["id"], "title": "milk"}])]
    page = await get(client, world["stranger"], f"{C}/lists/documents",
                     expand="items_via_list_id")
    assert [(doc["title"], [i["title"] for i in doc["_expand"]["items_via_list_id"]])
            for doc in page["items"]] == [("groceries", ["eggs"])]
    # A collection whose list rule is closed: nothing comes back through it, but for trust.
    await define(client, sk, "notes", rules={"get": ""}, schema={"fields": {
        "list_id": ref("lists", on_delete="set_null")}})
    note = await create(client, sk, "notes", {"list_id": public["id"]})
    public_url = f"{C}/lists/documents/{public['id']}"
    got = await get(client, world["stranger"], public_url, expand="notes_via_list_id")
    assert got["_expand"] == {"notes_via_list_id": []}
    got = await get(client, sk, public_url, expand="notes_via_list_id")
    assert got["_expand"] == {"notes_via_list_id": [note]}
    err = error_of(await client.get(public_url, headers=sk,
                                    params={"expand": "notes_via_title"}), 400,
                   "invalid_expand")
    assert "_via_" in err["message"]


async def test_back_references_count_toward_the_bound(
        client: httpx2.AsyncClient, sk: dict[str, str]) -> None:
    await shopping(client, sk)
    shared = await create(client, sk, "lists", {"title": "big", "public": True})
    for _ in range(MAX_EXPANDED // 100):
        ops = [{"op": "create", "data": {"title": "i", "list_id": shared["id"]}}] * 100
        response = await client.post(f"{C}/items/documents:batch", headers=sk,
                                     json={"operations": ops})
        assert response.status_code == 200, response.text
    url = f"{C}/lists/documents/{shared['id']}"
    got = await get(client, sk, url, expand="items_via_list_id")
    referring = got["_expand"]["items_via_list_id"]
    assert len(referring) == MAX_EXPANDED
    assert [doc["id"] for doc in referring] == sorted(doc["id"] for doc in referring)
    await create(client, sk, "items", {"title": "one more", "list_id": shared["id"]})
    error_of(await client.get(url, headers=sk, params={"expand": "items_via_list_id"}), 400,
             "expand_too_large")
