"""``client.collection(...)``: documents through the SDK against a real ``baas serve``
process over real sockets, on both engines, sync and async: CRUD, merge patch and
replace, If-Match, idempotent creates, listing (filter, sort, fields, count, offset),
iteration over several pages, batches (applied all or nothing), pydantic model binding
and the ``Document`` type itself."""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import assert_type

import pydantic
import pytest
from baas_sdk import (
    AsyncCollection,
    BaasError,
    BadRequest,
    BatchOp,
    BatchResult,
    Client,
    Collection,
    Document,
    DocumentPage,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ResponseError,
    ValidationError,
    ops,
)

from tests.conftest import ENGINES
from tests.e2e.test_todo_e2e import OPERATIONS, App, running_app

OPEN = {operation: "" for operation in OPERATIONS}


@pytest.fixture(scope="module", params=ENGINES)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp(f"documents-{request.param}")
    with running_app(request, tmp, str(request.param)) as running:
        yield running


@pytest.fixture
def name(app: App) -> str:
    """A fresh collection anyone with the publishable key may read and write."""
    collection = f"c{uuid.uuid4().hex[:12]}"
    app.define(collection, rules=OPEN)
    return collection


@pytest.fixture
def client(app: App) -> Iterator[Client]:
    with app.client() as client:
        yield client


class Post(pydantic.BaseModel):
    id: str | None = None
    created_at: datetime | None = None
    version: int | None = None
    title: str
    likes: int = 0
    tags: list[str] = pydantic.Field(default_factory=list)


class Note(pydantic.BaseModel):
    """Declares no system field: it gets none."""

    text: str


# -- the Document type, no server --------------------------------------------------------

RAW = {"id": "doc1", "created_at": "2025-01-02T03:04:05.123456Z",
       "updated_at": "2025-01-02T03:04:06Z", "version": 3,
       "title": "Hi", "meta": {"n": 1}}


def test_document_is_a_mapping_of_its_user_fields() -> None:
    doc = Document(RAW)
    assert dict(doc) == {"title": "Hi", "meta": {"n": 1}} and len(doc) == 2
    assert doc["title"] == "Hi" and doc.get("nope") is None and "id" not in doc
    assert doc.id == "doc1" and doc.version == 3
    assert doc.created_at == datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert doc.updated_at.tzinfo is not None
    assert doc.to_dict() == RAW
    copied = doc.to_dict()
    copied["meta"]["n"] = 2
    assert doc["meta"] == {"n": 1}
    assert doc == Document(dict(RAW)) and doc == {"title": "Hi", "meta": {"n": 1}}
    assert doc != Document({**RAW, "version": 4}) and doc != "doc1"
    assert repr(doc) == "Document(id='doc1', version=3, fields={'title': 'Hi', 'meta': {'n': 1}})"
    assert pickle.loads(pickle.dumps(doc)) == doc
    with pytest.raises(TypeError):
        hash(doc)

    projected = Document({"id": "doc2", "title": "x"})
    with pytest.raises(AttributeError, match="fields="):
        _ = projected.created_at
    assert getattr(projected, "version", None) is None
    for bad in ({"title": "no id"}, {"id": "x", "version": "3"},
                {"id": "x", "created_at": "yesterday"}):
        with pytest.raises(ResponseError):
            Document(bad)


def test_batch_operations_and_preconditions_are_built_from_typed_input() -> None:
    doc = Document(RAW)
    assert ops.create(doc).to_json() == {"op": "create", "data": {"title": "Hi", "meta": {"n": 1}}}
    post = Post(id="p1", version=7, title="T")
    assert ops.replace("p1", post, if_match=post).to_json() == {
        "op": "replace", "id": "p1", "data": {"title": "T", "likes": 0, "tags": []},
        "if_match": 7}
    # A model as a merge patch sends only the fields that were set.
    patch = Post(title="New")
    assert ops.update("p1", patch, if_match=doc) == BatchOp(
        "update", "p1", {"title": "New"}, 3)
    assert ops.delete("p1").to_json() == {"op": "delete", "id": "p1"}
    with pytest.raises(BaasError, match="if_match"):
        ops.delete("p1", if_match=True)
    with pytest.raises(BaasError, match="if_match"):
        ops.delete("p1", if_match=Document({"id": "x"}))


# -- CRUD ------------------------------------------------------------------------------


def test_create_get_and_the_document_attributes(client: Client, name: str) -> None:
    col = client.collection(name)
    assert_type(col, Collection[Document])
    before = datetime.now(UTC)
    created = col.create({"title": "Hello", "tags": ["a", "b"], "meta": {"n": 1}})
    assert_type(created, Document)
    assert isinstance(created.id, str) and created.id and created.version == 1
    assert isinstance(created.created_at, datetime) and created.created_at.tzinfo is not None
    assert abs((created.created_at - before).total_seconds()) < 60
    assert created.updated_at >= created.created_at
    assert dict(created) == {"title": "Hello", "tags": ["a", "b"], "meta": {"n": 1}}
    assert set(created.to_dict()) == {"id", "created_at", "updated_at", "version", "title",
                                      "tags", "meta"}
    fetched = col.get(created.id)
    assert fetched == created and fetched is not created
    assert created.id in repr(fetched) and "Hello" in repr(fetched)
    # A Document is valid write input: its user fields.
    copy = col.create(fetched)
    assert copy.id != created.id and copy == dict(created)


def test_update_merges_and_replace_replaces(client: Client, name: str) -> None:
    col = client.collection(name)
    doc = col.create({"title": "T", "meta": {"a": 1, "b": 2}, "gone": True})
    merged = col.update(doc.id, {"meta": {"b": None, "c": 3}, "gone": None, "new": "x"})
    assert dict(merged) == {"title": "T", "meta": {"a": 1, "c": 3}, "new": "x"}
    assert merged.version == 2 and merged.created_at == doc.created_at
    assert merged.updated_at >= doc.updated_at
    replaced = col.replace(doc.id, {"only": 1})
    assert dict(replaced) == {"only": 1} and replaced.version == 3
    assert col.get(doc.id) == replaced
    col.delete(doc.id)
    with pytest.raises(NotFound) as err:
        col.get(doc.id)
    assert err.value.code == "document_not_found" and err.value.status == 404


def test_if_match_makes_writes_conditional(client: Client, name: str) -> None:
    col = client.collection(name)
    doc = col.create({"n": 1})
    second = col.update(doc.id, {"n": 2}, if_match=doc)  # a Document: its version
    assert second.version == 2
    for write in (lambda: col.update(doc.id, {"n": 3}, if_match=doc),
                  lambda: col.replace(doc.id, {"n": 3}, if_match=1),
                  lambda: col.delete(doc.id, if_match=doc)):
        with pytest.raises(PreconditionFailed) as err:
            write()
        assert err.value.status == 412 and err.value.code == "version_mismatch"
    assert col.get(doc.id) == second
    third = col.replace(doc.id, {"n": 3}, if_match=2)
    assert third.version == 3
    col.delete(doc.id, if_match=third)
    with pytest.raises(NotFound):
        col.get(doc.id)


def test_missing_documents_and_collections_are_not_found(client: Client, name: str) -> None:
    col = client.collection(name)
    for call in (lambda: col.get("nope"), lambda: col.update("nope", {"a": 1}),
                 lambda: col.replace("nope", {"a": 1}), lambda: col.delete("nope")):
        with pytest.raises(NotFound) as err:
            call()
        assert err.value.code == "document_not_found"
    with pytest.raises(NotFound) as err:
        client.collection("no_such_collection").create({"a": 1})
    assert err.value.code == "collection_not_found"
    # Ids are path segments: nothing in one can reach another route.
    with pytest.raises(NotFound):
        col.get("../../collections")


def test_bad_input_is_a_bad_request(client: Client, name: str) -> None:
    col = client.collection(name)
    with pytest.raises(BadRequest) as err:
        col.create({"id": "mine", "title": "x"})
    assert err.value.code == "system_field"
    with pytest.raises(BadRequest) as err:
        col.list(filter="title = = 1")
    assert err.value.code == "invalid_filter"
    with pytest.raises(BadRequest) as err:
        col.list(sort="-")
    assert err.value.code == "invalid_sort"
    with pytest.raises(BaasError, match="cursor"):
        col.list(cursor="x", offset=1)


def test_idempotent_create_replays_the_first_answer(client: Client, name: str) -> None:
    client.auth.sign_in_anonymously()  # keys are scoped per caller: anonymous ones have none
    col = client.collection(name)
    key = uuid.uuid4().hex
    first = col.create({"title": "once"}, idempotency_key=key)
    again = col.create({"title": "once"}, idempotency_key=key)
    assert again == first
    with pytest.raises(ValidationError) as err:
        col.create({"title": "other"}, idempotency_key=key)
    assert err.value.status == 422 and err.value.code == "idempotency_key_reused"
    assert col.count() == 1
    assert col.create({"title": "once"}).id != first.id  # no key: a new document


def test_secret_key_bypasses_closed_rules(app: App, client: Client) -> None:
    closed = f"c{uuid.uuid4().hex[:12]}"
    app.define(closed)  # no rules: secret key and admins only
    with app.secret_client() as admin:
        doc = admin.collection(closed).create({"x": 1})
        assert admin.collection(closed).count() == 1
    with pytest.raises(Forbidden) as err:
        client.collection(closed).list()
    assert err.value.code == "forbidden"
    with pytest.raises(NotFound):
        client.collection(closed).get(doc.id)
    with pytest.raises(Forbidden):
        client.collection(closed).create({"x": 2})


# -- listing ---------------------------------------------------------------------------


def test_list_with_filter_sort_fields_count_and_offset(client: Client, name: str) -> None:
    col = client.collection(name)
    for n, title in enumerate(["delta", "alpha", "charlie", "bravo", "echo"]):
        col.create({"n": n, "title": title, "group": "even" if n % 2 == 0 else "odd",
                    "meta": {"n": n, "big": "x" * 50}})

    page = col.list()
    assert_type(page, DocumentPage[Document])
    assert sorted(d["n"] for d in page.items) == [0, 1, 2, 3, 4]
    assert [d.id for d in page] == sorted(d.id for d in page)  # default order: by id
    assert page.next_cursor is None and page.total is None and len(page) == 5

    evens = col.list(filter='group = "even" && n > 0', sort="-n", count=True)
    assert [d["n"] for d in evens] == [4, 2] and evens.total == 2
    by_group = col.list(sort=["group", "-title"])
    assert [d["title"] for d in by_group] == ["echo", "delta", "charlie", "bravo", "alpha"]

    projected = col.list(fields=["title", "meta.n"], sort="title", limit=2, count=True)
    assert projected.total == 5 and projected.next_cursor is not None
    assert [dict(d) for d in projected] == [{"title": "alpha", "meta": {"n": 1}},
                                            {"title": "bravo", "meta": {"n": 3}}]
    assert all(isinstance(d.id, str) for d in projected)
    assert [dict(d) for d in col.list(fields="title", sort="title", offset=3)] == [
        {"title": "delta"}, {"title": "echo"}]

    rest = col.list(fields=["title", "meta.n"], sort="title", limit=2, count=True,
                    cursor=projected.next_cursor)
    assert [d["title"] for d in rest] == ["charlie", "delta"]
    assert col.count('title ~ "A"') == 4 and col.count("n >= 3") == 2


def test_iterate_follows_the_cursor_over_pages(client: Client, name: str) -> None:
    col = client.collection(name)
    made = col.batch([ops.create({"n": n, "odd": n % 2 == 1}) for n in range(11)])
    ids = sorted(r.id for r in made)  # the default order
    assert [d.id for d in col.iterate(page_size=3)] == ids
    assert [d.id for d in col] == ids
    assert [d["n"] for d in col.iterate(filter="odd = true", sort="-n", page_size=2)] == [
        9, 7, 5, 3, 1]
    assert [d["n"] for d in col.iterate(filter="n > 100", page_size=2)] == []
    first = col.list(limit=4)
    assert len(first) == 4 and first.next_cursor
    second = col.list(limit=4, cursor=first.next_cursor)
    assert [d.id for d in [*first, *second]] == ids[:8]


async def test_async_crud_iteration_and_batch(app: App, name: str) -> None:
    async with app.aclient() as client:
        col = client.collection(name)
        assert_type(col, AsyncCollection[Document])
        doc = await col.create({"title": "async", "meta": {"a": 1}})
        assert (await col.get(doc.id)) == doc
        patched = await col.update(doc.id, {"meta": {"b": 2}}, if_match=doc)
        assert dict(patched) == {"title": "async", "meta": {"a": 1, "b": 2}}
        with pytest.raises(PreconditionFailed):
            await col.replace(doc.id, {"title": "stale"}, if_match=doc)
        replaced = await col.replace(doc.id, {"title": "new"}, if_match=patched)
        assert replaced.version == 3
        await client.auth.sign_in_anonymously()  # idempotency keys are scoped per caller
        key = uuid.uuid4().hex
        once = await col.create({"n": -1}, idempotency_key=key)
        assert (await col.create({"n": -1}, idempotency_key=key)).id == once.id
        await col.delete(once.id)

        results = await col.batch([ops.create({"n": n}) for n in range(7)])
        assert [r.op for r in results] == ["create"] * 7
        seen = [d["n"] async for d in col.iterate(filter="n >= 0", sort="n", page_size=2)]
        assert seen == list(range(7))
        assert len([d async for d in col]) == 8
        page = await col.list(filter="n >= 5", sort="n", count=True, fields=["n"])
        assert page.total == 2 and [dict(d) for d in page] == [{"n": 5}, {"n": 6}]
        assert await col.count() == 8
        await col.delete(doc.id, if_match=replaced)
        with pytest.raises(NotFound):
            await col.get(doc.id)


# -- batches ---------------------------------------------------------------------------


def test_batch_applies_every_operation(client: Client, name: str) -> None:
    col = client.collection(name)
    a = col.create({"title": "a", "n": 1})
    b = col.create({"title": "b"})
    c = col.create({"title": "c"})
    results = col.batch([
        ops.create({"title": "new"}),
        ops.update(a.id, {"n": None, "x": 1}, if_match=a),
        {"op": "replace", "id": b.id, "data": {"title": "B"}, "if_match": b},
        ops.delete(c.id, if_match=c.version),
    ])
    assert_type(results, list[BatchResult[Document]])
    assert [r.op for r in results] == ["create", "update", "replace", "delete"]
    created, updated, replaced, deleted = results
    assert created.document is not None and created.document["title"] == "new"
    assert created.id == created.document.id
    assert updated.document is not None and dict(updated.document) == {"title": "a", "x": 1}
    assert updated.document.version == 2
    assert replaced.document is not None and dict(replaced.document) == {"title": "B"}
    assert deleted.id == c.id and deleted.document is None
    assert col.get(created.id) == created.document
    with pytest.raises(NotFound):
        col.get(c.id)


def test_batch_is_all_or_nothing(client: Client, name: str) -> None:
    col = client.collection(name)
    keep, other = col.create({"title": "keep"}), col.create({"title": "other"})
    with pytest.raises(NotFound) as err:
        col.batch([ops.create({"title": "never"}), ops.update(keep.id, {"title": "x"}),
                   ops.delete("missing")])
    assert err.value.code == "document_not_found" and err.value.details["index"] == 2
    with pytest.raises(PreconditionFailed) as stale:
        col.batch([ops.delete(other.id), ops.update(keep.id, {"title": "x"}, if_match=9)])
    assert stale.value.code == "version_mismatch" and stale.value.details["index"] == 1
    assert [d for d in col] == sorted([keep, other], key=lambda d: d.id)


# -- model binding ---------------------------------------------------------------------


def test_model_binding(client: Client, name: str) -> None:
    posts = client.collection(name, model=Post)
    assert_type(posts, Collection[Post])
    post = posts.create(Post(title="Hello", tags=["x"]))
    assert_type(post, Post)
    assert isinstance(post, Post) and post.id and post.version == 1
    assert isinstance(post.created_at, datetime) and post.likes == 0
    assert client.collection(name).get(post.id) == {"title": "Hello", "likes": 0, "tags": ["x"]}

    assert posts.get(post.id) == post
    liked = posts.update(post.id, {"likes": 5}, if_match=post)
    assert liked.likes == 5 and liked.version == 2 and liked.tags == ["x"]
    # A model as a patch: only the fields set on it.
    retitled = posts.update(post.id, Post(title="Hi"))
    assert (retitled.title, retitled.likes) == ("Hi", 5)
    # Replace with a model sends every field, defaults included; system fields are dropped.
    reset = posts.replace(post.id, Post(id=post.id, version=99, title="Reset"), if_match=retitled)
    assert (reset.title, reset.likes, reset.tags, reset.version) == ("Reset", 0, [], 4)

    posts.create({"title": "Plain dicts work too", "likes": 2})
    page = posts.list(sort="-likes", count=True)
    assert_type(page, DocumentPage[Post])
    assert [p.title for p in page] == ["Plain dicts work too", "Reset"] and page.total == 2
    assert [p.title for p in posts.iterate(sort="title", page_size=1)] == [
        "Plain dicts work too", "Reset"]
    results = posts.batch([ops.create(Post(title="batched")), ops.delete(post.id)])
    assert isinstance(results[0].document, Post) and results[0].document.title == "batched"

    notes = client.collection(name, model=Note)
    with pytest.raises(ResponseError) as err:
        notes.get(results[0].id)
    assert isinstance(err.value.__cause__, pydantic.ValidationError)
    note = notes.create(Note(text="no system fields"))
    assert note == Note(text="no system fields")


async def test_async_model_binding(app: App, name: str) -> None:
    async with app.aclient() as client:
        posts = client.collection(name, model=Post)
        assert_type(posts, AsyncCollection[Post])
        await client.auth.sign_in_anonymously()  # idempotency keys are scoped per caller
        post = await posts.create(Post(title="async"), idempotency_key=uuid.uuid4().hex)
        assert_type(post, Post)
        assert post.id and post.version == 1
        assert (await posts.get(post.id)) == post
        liked = await posts.update(post.id, {"likes": 1})
        assert liked.likes == 1
        await posts.batch([ops.create({"title": f"t{n}"}) for n in range(4)])
        titles = [p.title async for p in posts.iterate(sort="title", page_size=2)]
        assert titles == ["async", "t0", "t1", "t2", "t3"]
        assert all(isinstance(p, Post) for p in [p async for p in posts])
        assert (await posts.list(filter='title = "t2"')).items[0].title == "t2"
        await posts.delete(post.id, if_match=liked)
        assert await posts.count() == 4


def test_the_documents_api_is_exported() -> None:
    import baas_sdk

    for name in ("AsyncCollection", "BatchOp", "BatchResult", "Collection", "Document",
                 "DocumentPage", "ops"):
        assert name in baas_sdk.__all__ and hasattr(baas_sdk, name)


def test_collection_handles_need_a_project_only_when_used() -> None:
    with Client("http://127.0.0.1:9", api_key="pk_x") as no_project:
        col = no_project.collection("posts")
        assert repr(col) == "Collection('posts')" and col.name == "posts"
        with pytest.raises(BaasError, match="project"):
            col.get("x")
