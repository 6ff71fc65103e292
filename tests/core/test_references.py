"""Reference fields through the data layer, on both engines: every write looks up what
it links to; a delete applies each referring field's on_delete (restrict, cascade,
set_null) in one commit whose change records cover every document it touched, within
``max_cascade``; cycles and self references end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from baas.core.data.batch import run_batch
from baas.core.data.rules import Access
from baas.core.data.schema import Reference, Schema
from baas.core.data.writes import Committed
from baas.core.errors import ApiError, BadRequest
from baas.core.platform import Platform
from baas.settings import Settings
from tests.core.conftest import opened_platform

ADMIN = Access(trusted=True)
P = "demo"


def ref(collection: str, on_delete: str | None = None, **more: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "reference", "collection": collection, **more}
    if on_delete:
        spec["on_delete"] = on_delete
    return spec


def refs(collection: str, on_delete: str | None = None) -> dict[str, Any]:
    return {"type": "array", "items": ref(collection, on_delete)}


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    async with opened_platform(settings, max_cascade=4) as found:
        await found.create_project(P, None)
        yield found


async def define(platform: Platform, name: str, **fields: Any) -> None:
    await platform.collections.create(P, {"name": name, "rules": {},
                                          "schema": {"fields": fields}})


async def make(platform: Platform, name: str, body: dict[str, Any]) -> dict[str, Any]:
    return await platform.documents.create(P, name, ADMIN, body)


async def ids(platform: Platform, name: str) -> list[str]:
    page = await platform.documents.db(P).collection("d_" + name).find()
    return [doc["id"] for doc in page.items]


async def failure(call: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await call
    return caught.value


async def test_writes_must_name_existing_documents(platform: Platform) -> None:
    await define(platform, "lists", title={"type": "string"})
    await define(platform, "items", list_id=ref("lists", required=True), tags=refs("lists"))
    shop = await make(platform, "lists", {"title": "shop"})
    item = await make(platform, "items", {"list_id": shop["id"], "tags": [shop["id"]]})
    docs = platform.documents

    error = await failure(docs.create(P, "items", ADMIN, {"list_id": "nope"}))
    assert (error.status, error.code) == (400, "reference_not_found")
    assert error.details["errors"] == [{"field": "list_id", "code": "reference_not_found",
                                        "message": "no document 'nope' in 'lists', or you "
                                                   "may not read it"}]
    error = await failure(docs.create(P, "items", ADMIN, {
        "list_id": shop["id"], "tags": [shop["id"], "gone", shop["id"], "gone2"]}))
    assert [e["field"] for e in error.details["errors"]] == ["tags[1]", "tags[3]"]
    error = await failure(docs.update(P, "items", ADMIN, item["id"], {"list_id": "x"}))
    assert error.code == "reference_not_found"
    error = await failure(docs.update(P, "items", ADMIN, item["id"], {"list_id": "x"},
                                      replace=True))
    assert error.code == "reference_not_found"
    error = await failure(run_batch(docs, P, "items", ADMIN, [
        {"op": "create", "data": {"list_id": shop["id"]}},
        {"op": "update", "id": item["id"], "data": {"tags": ["x"]}}]))
    assert (error.code, error.details["index"]) == ("reference_not_found", 1)
    error = await failure(docs.create(P, "items", ADMIN, {"list_id": 7}))
    assert error.code == "invalid_document"
    assert await ids(platform, "items") == [item["id"]]  # nothing was written
    # An update that leaves the references alone does not look them up.
    assert (await docs.update(P, "items", ADMIN, item["id"], {"n": 1}))["n"] == 1


async def test_a_reference_to_a_missing_collection_finds_nothing(platform: Platform) -> None:
    await define(platform, "items", list_id=ref("lists"))
    error = await failure(make(platform, "items", {"list_id": "a"}))
    assert error.code == "reference_not_found"


async def test_restrict_is_the_default_and_names_the_referrers(platform: Platform) -> None:
    await define(platform, "lists", title={"type": "string"})
    await define(platform, "items", list_id=ref("lists"))
    shop = await make(platform, "lists", {})
    item = await make(platform, "items", {"list_id": shop["id"]})
    error = await failure(platform.documents.delete(P, "lists", ADMIN, shop["id"]))
    assert (error.status, error.code) == (409, "reference_restricted")
    assert error.details == {"referrers": [{"collection": "items", "field": "list_id"}],
                             "ids": [item["id"]]}
    assert await ids(platform, "lists") == [shop["id"]]
    await platform.documents.delete(P, "items", ADMIN, item["id"])
    await platform.documents.delete(P, "lists", ADMIN, shop["id"])
    assert await ids(platform, "lists") == []


async def test_cascade_and_set_null_commit_once_with_every_change(platform: Platform
                                                                  ) -> None:
    await define(platform, "lists", title={"type": "string"})
    await define(platform, "items", list_id=ref("lists", "cascade"))
    await define(platform, "notes", item_id=ref("items", "cascade"),
                 pinned=ref("lists", "set_null"), seen=refs("lists", "set_null"))
    shop, other = await make(platform, "lists", {}), await make(platform, "lists", {})
    item = await make(platform, "items", {"list_id": shop["id"]})
    note = await make(platform, "notes", {"item_id": item["id"]})
    keep = await make(platform, "notes", {"pinned": shop["id"],
                                          "seen": [other["id"], shop["id"]]})
    heads = {name: await platform.changes.head(P, name) for name in ("lists", "items", "notes")}
    commits: list[Committed] = []

    async def handler(committed: Committed) -> None:
        commits.append(committed)

    platform.hooks.change_committed.attach(handler)
    await platform.documents.delete(P, "lists", ADMIN, shop["id"])

    assert await ids(platform, "items") == []
    assert await ids(platform, "notes") == [keep["id"]]
    kept = await platform.documents.get(P, "notes", ADMIN, keep["id"])
    assert "pinned" not in kept and kept["seen"] == [other["id"]]
    assert kept["version"] == 2 and kept["updated_at"] > keep["updated_at"]
    seen = {name: sorted((r.op, r.id) for r in await platform.changes.read(P, name, after=head))
            for name, head in heads.items()}
    assert seen == {"lists": [("delete", shop["id"])], "items": [("delete", item["id"])],
                    "notes": sorted([("delete", note["id"]), ("update", keep["id"])])}
    if platform.engine.kind == "sqlite":  # MongoDB's records are in its oplog instead
        assert [len(c.changes) for c in commits] == [4]  # one commit


async def test_a_cascade_past_the_bound_changes_nothing(platform: Platform) -> None:
    await define(platform, "lists", title={"type": "string"})
    await define(platform, "items", list_id=ref("lists", "cascade"))
    shop = await make(platform, "lists", {})
    for _ in range(5):  # max_cascade is 4
        await make(platform, "items", {"list_id": shop["id"]})
    error = await failure(platform.documents.delete(P, "lists", ADMIN, shop["id"]))
    assert (error.status, error.code, error.details) == (409, "cascade_too_large",
                                                         {"limit": 4})
    assert len(await ids(platform, "items")) == 5 and await ids(platform, "lists")
    first = (await ids(platform, "items"))[0]
    await platform.documents.delete(P, "items", ADMIN, first)
    await platform.documents.delete(P, "lists", ADMIN, shop["id"])
    assert await ids(platform, "items") == []


async def test_a_restrict_behind_a_cascade_refuses_the_whole_delete(platform: Platform
                                                                    ) -> None:
    await define(platform, "lists", title={"type": "string"})
    await define(platform, "items", list_id=ref("lists", "cascade"))
    await define(platform, "claims", item_id=ref("items"))
    shop = await make(platform, "lists", {})
    item = await make(platform, "items", {"list_id": shop["id"]})
    await make(platform, "claims", {"item_id": item["id"]})
    error = await failure(platform.documents.delete(P, "lists", ADMIN, shop["id"]))
    assert error.code == "reference_restricted"
    assert error.details["referrers"] == [{"collection": "claims", "field": "item_id"}]
    assert await ids(platform, "items") == [item["id"]]


async def test_cycles_and_self_references_end(platform: Platform) -> None:
    await define(platform, "nodes", parent=ref("nodes", "cascade"), me=ref("nodes"))
    root = await make(platform, "nodes", {})
    child = await make(platform, "nodes", {"parent": root["id"]})
    leaf = await make(platform, "nodes", {"parent": child["id"]})
    # A cycle: root's parent is the leaf, so root -> child -> leaf -> root.
    await platform.documents.update(P, "nodes", ADMIN, root["id"], {"parent": leaf["id"]})
    # A restrict reference to itself does not block its own delete.
    await platform.documents.update(P, "nodes", ADMIN, child["id"], {"me": child["id"]})
    lone = await make(platform, "nodes", {})
    await platform.documents.delete(P, "nodes", ADMIN, child["id"])
    assert await ids(platform, "nodes") == [lone["id"]]

    await define(platform, "a", b_id=ref("b", "cascade"))
    await define(platform, "b", a_id=ref("a", "set_null"))
    b = await make(platform, "b", {})
    a = await make(platform, "a", {"b_id": b["id"]})
    await platform.documents.update(P, "b", ADMIN, b["id"], {"a_id": a["id"]})
    await platform.documents.delete(P, "b", ADMIN, b["id"])  # cascades to a, which b refers to
    assert (await ids(platform, "a"), await ids(platform, "b")) == ([], [])


async def test_a_batch_cascades_its_deletes_together(platform: Platform) -> None:
    await define(platform, "lists", title={"type": "string"})
    await define(platform, "items", list_id=ref("lists", "cascade"))
    one, two = await make(platform, "lists", {}), await make(platform, "lists", {})
    for owner in (one, two):
        await make(platform, "items", {"list_id": owner["id"]})
    answer = await run_batch(platform.documents, P, "lists", ADMIN, [
        {"op": "delete", "id": one["id"]}, {"op": "delete", "id": two["id"]}])
    assert [r["id"] for r in answer["results"]] == [one["id"], two["id"]]
    assert await ids(platform, "items") == [] and await ids(platform, "lists") == []

    await define(platform, "nodes", parent=ref("nodes", "cascade"))
    root = await make(platform, "nodes", {})
    child = await make(platform, "nodes", {"parent": root["id"]})
    error = await failure(run_batch(platform.documents, P, "nodes", ADMIN, [
        {"op": "update", "id": child["id"], "data": {"n": 1}},
        {"op": "delete", "id": root["id"]}]))
    assert error.code == "invalid_batch"
    # A create or update of the batch may not link to what the batch deletes.
    spare = await make(platform, "nodes", {})
    for gone, written in ((child, {"op": "create", "data": {"parent": child["id"]}}),
                          (spare, {"op": "update", "id": root["id"],
                                   "data": {"parent": spare["id"]}})):
        error = await failure(run_batch(platform.documents, P, "nodes", ADMIN, [
            {"op": "delete", "id": gone["id"]}, written]))
        assert (error.code, error.details["index"]) == ("reference_not_found", 1)
        assert error.details["errors"][0]["field"] == "parent"
    await platform.documents.delete(P, "nodes", ADMIN, spare["id"])
    # Deleting a parent and its child together is one delete each, not two.
    await run_batch(platform.documents, P, "nodes", ADMIN, [
        {"op": "delete", "id": child["id"]}, {"op": "delete", "id": root["id"]}])
    assert await ids(platform, "nodes") == []


# --- the schema side: which fields are references, and what on_delete may say -----------

def test_references_lists_the_linked_fields() -> None:
    schema = Schema.parse({"fields": {
        "list_id": ref("lists", "cascade"), "tags": refs("tags", "set_null"),
        "owner": {"type": "reference", "collection": "users", "server_owned": True,
                  "value": "@auth.id"},
        "loose": {"type": "reference"}, "title": {"type": "string"}}})
    assert schema.references() == [Reference("list_id", "lists", False, "cascade"),
                                   Reference("tags", "tags", True, "set_null")]
    assert Schema.parse({"fields": {"a": ref("b")}}).references() == [
        Reference("a", "b", False, "restrict")]
    assert Schema.parse(schema.to_json()) == schema
    assert schema.to_json()["fields"]["list_id"] == ref("lists", "cascade")


@pytest.mark.parametrize(("fields", "where", "message"), [
    ({"a": ref("b", "explode")}, "fields.a.on_delete",
     "must be one of: restrict, cascade, set_null"),
    ({"a": {"type": "reference", "on_delete": "cascade"}}, "fields.a.on_delete",
     "needs a collection, on a top-level field or the items of a top-level list"),
    ({"a": ref("b", "set_null", required=True)}, "fields.a.on_delete",
     "a required field cannot be set to null; use restrict or cascade"),
    ({"a": {"type": "object", "fields": {"b": ref("c")}}}, "fields.a.fields.b.collection",
     "only top-level fields and the items of a top-level list can name a collection"),
    ({"a": {"type": "array", "items": {"type": "object", "fields": {"b": ref("c", "cascade")}}}},
     "fields.a.items.fields.b.on_delete",
     "needs a collection, on a top-level field or the items of a top-level list"),
    ({"a": {"type": "string", "on_delete": "cascade"}}, "fields.a.on_delete",
     "is not an option of a string field"),
])
def test_bad_on_delete_and_nested_collections_are_refused(fields: dict[str, Any], where: str,
                                                          message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        Schema.parse({"fields": fields})
    assert caught.value.code == "invalid_schema"
    assert caught.value.details["errors"][0] == {"field": where, "message": message}


async def test_every_reference_field_is_indexed(platform: Platform) -> None:
    await define(platform, "lists", title={"type": "string"})
    await define(platform, "items", list_id=ref("lists"), tags=refs("lists"),
                 slug=ref("lists", unique=True))
    definition = await platform.collections.get(P, "items")
    assert sorted(spec.name for spec in definition.all_indexes()) == [
        "ix_list_id_a", "ix_tags_a", "uniq_slug_a"]
    await make(platform, "items", {})  # a write makes sure the unique ones exist
    await platform.collections.drain()
    store = platform.documents.db(P).collection("d_items")
    assert {"ix_list_id_a", "ix_tags_a", "uniq_slug_a"} <= {s.name for s in
                                                            await store.indexes()}
