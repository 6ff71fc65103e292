"""Reference fields end to end on both engines: ``baas serve`` as a real process, the SDK
over real sockets. A shopping list app: items must name a list the user may read; a
list with claimed items is restricted, deleting one without them cascades to its items
and unlinks the notes that pinned it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from baas_sdk import BadRequest, Conflict

from tests.conftest import ENGINES
from tests.e2e.test_todo_e2e import OPERATIONS, OWNER, PASSWORD, App, running_app

LIST_RULES = {"list": "owner = @auth.id", "get": "owner = @auth.id",
              "create": "@auth.id != null", "update": "owner = @auth.id",
              "delete": "owner = @auth.id"}
OPEN = dict.fromkeys(OPERATIONS, "@auth.id != null")


def ref(collection: str, on_delete: str) -> dict[str, str]:
    return {"type": "reference", "collection": collection, "on_delete": on_delete}


@pytest.fixture(scope="module", params=ENGINES)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp(f"refs-{request.param}")
    with running_app(request, tmp, str(request.param), project="shop") as running:
        yield running


def test_a_shopping_list_keeps_its_items_consistent(app: App) -> None:
    app.define("lists", rules=LIST_RULES, schema={"fields": {"title": {"type": "string"},
                                                             "owner": OWNER}})
    app.define("items", rules=OPEN, schema={"fields": {"list_id": ref("lists", "cascade")}})
    app.define("claims", rules=OPEN, schema={"fields": {"item_id": ref("items", "restrict")}})
    app.define("notes", rules=OPEN, schema={"fields": {"pinned": ref("lists", "set_null")}})
    ann, bob = app.client(), app.client()
    ann.auth.sign_up(f"a{uuid.uuid4().hex[:10]}@example.com", PASSWORD)
    bob.auth.sign_up(f"b{uuid.uuid4().hex[:10]}@example.com", PASSWORD)
    with ann, bob:
        lists, items = ann.collection("lists"), ann.collection("items")
        shop, party = lists.create({"title": "shop"}), lists.create({"title": "party"})
        milk = items.create({"list_id": shop.id})
        items.create({"list_id": shop.id})
        note = ann.collection("notes").create({"pinned": shop.id})
        cake = items.create({"list_id": party.id})
        ann.collection("claims").create({"item_id": cake.id})
        for who in (ann, bob):  # bob may not read ann's list: the same answer as a missing one
            with pytest.raises(BadRequest) as caught:
                who.collection("items").create({"list_id": "nope" if who is ann else shop.id})
            assert caught.value.code == "reference_not_found"
            assert caught.value.details["errors"][0]["field"] == "list_id"

        with pytest.raises(Conflict) as refused:
            lists.delete(party.id)  # cascades to cake, which a claim restricts
        assert refused.value.code == "reference_restricted"
        assert items.count() == 3

        lists.delete(shop.id)
        assert [item["list_id"] for item in items.list().items] == [party.id]
        assert milk.id not in {item.id for item in items.list().items}
        assert "pinned" not in ann.collection("notes").get(note.id)
