"""``expand=`` through the SDK against a real server on both engines: ``Document.expanded``
(a document, or a list of them), what the caller may not read left out, pydantic models
that declare ``alias="_expand"``, async, and the 400 for a path that is no reference."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
from baas_sdk import BadRequest, Document, ResponseError

from tests.conftest import ENGINES
from tests.e2e.test_todo_e2e import OPERATIONS, App, running_app

OPEN = {operation: "" for operation in OPERATIONS}


@pytest.fixture(scope="module", params=ENGINES)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp(f"expand-{request.param}")
    with running_app(request, tmp, str(request.param)) as running:
        yield running


@pytest.fixture
def world(app: App) -> dict[str, Any]:
    """A public and a private list (guests read only public ones), and an item on both."""
    suffix = uuid.uuid4().hex[:8]
    lists, items = f"lists{suffix}", f"items{suffix}"
    app.define(lists, rules={**OPEN, "list": "public = true", "get": "public = true"},
               schema={"fields": {"title": {"type": "string"},
                                  "public": {"type": "boolean"}}})
    ref = {"type": "reference", "collection": lists, "on_delete": "set_null"}
    app.define(items, rules=OPEN, schema={"fields": {
        "title": {"type": "string"}, "list_id": ref,
        "also": {"type": "array", "items": ref}}})
    with app.secret_client() as admin:
        public = admin.collection(lists).create({"title": "groceries", "public": True})
        private = admin.collection(lists).create({"title": "secret", "public": False})
        item = admin.collection(items).create({"title": "milk", "list_id": public.id,
                                               "also": [private.id, public.id]})
    return {"lists": lists, "items": items, "public": public, "private": private,
            "item": item}


class TodoList(pydantic.BaseModel):
    id: str
    title: str


class ItemExpand(pydantic.BaseModel):
    list_id: TodoList | None = None
    also: list[TodoList] = []


class Item(pydantic.BaseModel):
    title: str
    list_id: str
    expanded: ItemExpand = pydantic.Field(default_factory=ItemExpand, alias="_expand")


def test_get_and_list_expand(app: App, world: dict[str, Any]) -> None:
    with app.client() as client:  # a guest: the private list is not readable
        items = client.collection(world["items"])
        doc = items.get(world["item"].id, expand=["list_id", "also"])
        assert isinstance(doc, Document)
        assert doc["list_id"] == world["public"].id and "_expand" not in doc
        expanded = doc.expanded["list_id"]
        assert isinstance(expanded, Document) and expanded == world["public"]
        assert doc.expanded["also"] == [world["public"]]
        page = items.list(expand="list_id", fields=["title", "list_id.title"])
        [listed] = page.items
        assert listed.expanded["list_id"].to_dict() == {"id": world["public"].id,
                                                        "title": "groceries"}
        assert items.get(world["item"].id).expanded == {}
        [iterated] = list(items.iterate(expand="list_id", page_size=1))
        assert iterated.expanded["list_id"] == world["public"]
        # Written back as read: the expansion is not one of the document's fields.
        assert items.replace(doc.id, doc)["list_id"] == world["public"].id
    with app.secret_client() as admin:
        doc = admin.collection(world["items"]).get(world["item"].id, expand="also")
        assert doc.expanded["also"] == [world["private"], world["public"]]


def test_models_declare_the_expansion(app: App, world: dict[str, Any]) -> None:
    with app.client() as client:
        items = client.collection(world["items"], model=Item)
        item = items.get(world["item"].id, expand=["list_id", "also"])
        assert item.expanded.list_id == TodoList(id=world["public"].id, title="groceries")
        assert item.expanded.also == [TodoList(id=world["public"].id, title="groceries")]
        assert items.get(world["item"].id).expanded == ItemExpand()


def test_a_path_that_is_no_reference_is_a_bad_request(app: App,
                                                      world: dict[str, Any]) -> None:
    with app.client() as client, pytest.raises(BadRequest) as caught:
        client.collection(world["items"]).list(expand="title")
    assert caught.value.code == "invalid_expand" and "'title'" in str(caught.value)


async def test_async_expand(app: App, world: dict[str, Any]) -> None:
    async with app.aclient() as client:
        items = client.collection(world["items"])
        doc = await items.get(world["item"].id, expand="list_id")
        assert doc.expanded["list_id"] == world["public"]
        page = await items.list(expand=["also"])
        assert page.items[0].expanded["also"] == [world["public"]]
        async for iterated in items.iterate(expand="list_id"):
            assert iterated.expanded["list_id"] == world["public"]


def test_a_malformed_expansion_is_a_response_error() -> None:
    with pytest.raises(ResponseError, match="_expand is not an object"):
        Document({"id": "a", "_expand": ["x"]})
    with pytest.raises(ResponseError):
        Document({"id": "a", "_expand": {"list_id": {"title": "no id"}}})
    doc = Document({"id": "a", "title": "t", "_expand": {"tags": [{"id": "b"}]}})
    assert dict(doc) == {"title": "t"} and doc.expanded == {"tags": [Document({"id": "b"})]}
