"""Documents over the API, on both engines: CRUD with system fields, merge and
replace, If-Match, Idempotency-Key, schemas, and lists (filter, sort, paging,
projection, count)."""

from __future__ import annotations

import httpx2

from baas.core.platform import Platform
from tests.api.collections_helpers import C, create, define, list_all
from tests.api.test_admin_api import error_of

D = C + "/notes/documents"


async def test_crud_with_system_fields(client: httpx2.AsyncClient, sk: dict) -> None:
    await define(client, sk, "notes")
    response = await client.post(D, headers=sk, json={"title": "a", "meta": {"a": 1, "b": 2}})
    assert response.status_code == 201, response.text
    doc = response.json()
    assert list(doc)[:4] == ["id", "created_at", "updated_at", "version"]
    assert doc["version"] == 1 and doc["created_at"] == doc["updated_at"]
    assert response.headers["etag"] == '"1"'
    got = await client.get(f"{D}/{doc['id']}", headers=sk)
    assert got.json() == doc and got.headers["etag"] == '"1"'
    patched = (await client.patch(f"{D}/{doc['id']}", headers=sk,
                                  json={"meta": {"b": None, "c": 3}, "tag": "x"})).json()
    assert patched["meta"] == {"a": 1, "c": 3} and patched["tag"] == "x"
    assert patched["version"] == 2 and patched["created_at"] == doc["created_at"]
    assert patched["updated_at"] > doc["updated_at"]
    replaced = (await client.put(f"{D}/{doc['id']}", headers=sk, json={"title": "b"})).json()
    assert {k: v for k, v in replaced.items() if k not in ("updated_at",)} == {
        "id": doc["id"], "created_at": doc["created_at"], "version": 3, "title": "b"}
    assert (await client.delete(f"{D}/{doc['id']}", headers=sk)).status_code == 204
    error_of(await client.get(f"{D}/{doc['id']}", headers=sk), 404, "document_not_found")
    error_of(await client.delete(f"{D}/{doc['id']}", headers=sk), 404, "document_not_found")
    error_of(await client.get(f"{C}/nope/documents/x", headers=sk), 404, "collection_not_found")


async def test_system_fields_cannot_be_set(client: httpx2.AsyncClient, sk: dict) -> None:
    await define(client, sk, "notes")
    doc = await create(client, sk, "notes", {"title": "a"})
    for field, value in (("id", "mine"), ("version", 99), ("created_at", "2000-01-01T00:00:00Z"),
                         ("updated_at", "x")):
        err = error_of(await client.post(D, headers=sk, json={field: value}), 400,
                       "system_field")
        assert err["details"]["field"] == field and field in err["message"]
        error_of(await client.patch(f"{D}/{doc['id']}", headers=sk, json={field: value}), 400,
                 "system_field")
        error_of(await client.put(f"{D}/{doc['id']}", headers=sk, json={field: value}), 400,
                 "system_field")
    assert (await client.get(f"{D}/{doc['id']}", headers=sk)).json() == doc
    assert len(await list_all(client, sk, "notes")) == 1


async def test_if_match_makes_writes_conditional(client: httpx2.AsyncClient, sk: dict) -> None:
    await define(client, sk, "notes")
    doc = await create(client, sk, "notes", {"n": 1})
    url = f"{D}/{doc['id']}"
    ok = await client.patch(url, headers={**sk, "If-Match": "1"}, json={"n": 2})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    err = error_of(await client.patch(url, headers={**sk, "If-Match": "1"}, json={"n": 3}), 412,
                   "version_mismatch")
    assert "version 1" in err["message"]
    error_of(await client.put(url, headers={**sk, "If-Match": '"1"'}, json={"n": 3}), 412,
             "version_mismatch")
    error_of(await client.delete(url, headers={**sk, "If-Match": "1"}), 412, "version_mismatch")
    error_of(await client.patch(url, headers={**sk, "If-Match": "abc"}, json={}), 400,
             "invalid_if_match")
    assert (await client.get(url, headers=sk)).json()["n"] == 2
    etag = (await client.get(url, headers=sk)).headers["etag"]
    assert (await client.put(url, headers={**sk, "If-Match": etag}, json={"n": 4})
            ).status_code == 200
    assert (await client.delete(url, headers={**sk, "If-Match": "3"})).status_code == 204


async def test_idempotency_key_replays_the_first_answer(client: httpx2.AsyncClient, sk: dict
                                                        ) -> None:
    await define(client, sk, "notes")
    headers = {**sk, "Idempotency-Key": "order-42"}
    first = await client.post(D, headers=headers, json={"total": 10})
    again = await client.post(D, headers=headers, json={"total": 10})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    error_of(await client.post(D, headers=headers, json={"total": 11}), 422,
             "idempotency_key_reused")
    assert len(await list_all(client, sk, "notes")) == 1
    # A failed write releases its key: the corrected retry goes through.
    bad = {**sk, "Idempotency-Key": "k2"}
    error_of(await client.post(D, headers=bad, json={"id": "x"}), 400, "system_field")
    assert (await client.post(D, headers=bad, json={"ok": True})).status_code == 201
    error_of(await client.post(D, headers={**sk, "Idempotency-Key": "x" * 256}, json={}), 400,
             "invalid_idempotency_key")
    assert len(await list_all(client, sk, "notes")) == 2


async def test_schema_validation_defaults_and_unique(client: httpx2.AsyncClient, sk: dict
                                                     ) -> None:
    schema = {"fields": {
        "title": {"type": "string", "required": True, "max_length": 5},
        "n": {"type": "integer", "min": 0},
        "done": {"type": "boolean", "default": False},
        "slug": {"type": "string", "unique": True},
        "due": {"type": "datetime"},
    }, "additional_fields": False}
    await define(client, sk, "tasks", schema=schema)
    url = f"{C}/tasks/documents"
    err = error_of(await client.post(url, headers=sk, json={"title": "too long", "n": -1,
                                                            "extra": 1}), 400,
                   "invalid_document")
    fields = {e["field"] for e in err["details"]["errors"]}
    assert fields == {"title", "n", "extra"}
    doc = await create(client, sk, "tasks", {"title": "a", "slug": "s1",
                                             "due": "2026-01-02T03:04:05+02:00"})
    assert doc["done"] is False and doc["due"] == "2026-01-02T01:04:05.000000Z"
    err = error_of(await client.post(url, headers=sk, json={"title": "b", "slug": "s1"}), 409,
                   "duplicate_value")
    assert err["details"]["fields"] == ["slug"]
    other = await create(client, sk, "tasks", {"title": "c", "slug": "s2"})
    error_of(await client.patch(f"{url}/{other['id']}", headers=sk, json={"slug": "s1"}), 409,
             "duplicate_value")
    error_of(await client.patch(f"{url}/{doc['id']}", headers=sk, json={"title": None}), 400,
             "invalid_document")  # merge removes a required field
    assert len(await list_all(client, sk, "tasks")) == 2


async def seed(client: httpx2.AsyncClient, sk: dict, count: int) -> list[dict]:
    await define(client, sk, "items", indexes=[{"fields": ["group", "-n"]}])
    response = await client.post(f"{C}/items/documents:batch", headers=sk, json={"operations": [
        {"op": "create", "data": {"n": i, "group": "even" if i % 2 == 0 else "odd",
                                  "title": f"Item {i}", "tags": ["t" + str(i % 3)]}}
        for i in range(count)]})
    assert response.status_code == 200, response.text
    return [r["document"] for r in response.json()["results"]]


async def test_list_filters_sorts_and_pages(client: httpx2.AsyncClient, sk: dict,
                                            platform: Platform) -> None:
    docs = await seed(client, sk, 25)
    await platform.collections.drain()
    url = f"{C}/items/documents"
    evens = await list_all(client, sk, "items", filter='group = "even" && n >= 10',
                           sort="-n")
    assert [d["n"] for d in evens] == [24, 22, 20, 18, 16, 14, 12, 10]
    tagged = await list_all(client, sk, "items", filter='tags has "t0" && title ~ "ITEM 1"')
    assert sorted(d["n"] for d in tagged) == [12, 15, 18]
    seen: list[int] = []
    cursor = None
    while True:
        params = {"sort": "group,-n", "limit": "4"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(url, headers=sk, params=params)).json()
        seen += [d["n"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = sorted(range(25), key=lambda n: ("even" if n % 2 == 0 else "odd", -n))
    assert seen == expected
    by_offset = (await client.get(url, headers=sk, params={"offset": "20", "limit": "10"})).json()
    assert [d["id"] for d in by_offset["items"]] == [d["id"] for d in docs[20:]]
    counted = (await client.get(url, headers=sk, params={"filter": "n < 5", "count": "true",
                                                         "limit": "2"})).json()
    assert counted["total"] == 5 and len(counted["items"]) == 2
    projected = (await client.get(url, headers=sk, params={"fields": "n,title", "limit": "1"})
                 ).json()["items"][0]
    assert projected == {"id": docs[0]["id"], "n": 0, "title": "Item 0"}
    default = await list_all(client, sk, "items", limit="100")
    assert [d["id"] for d in default] == [d["id"] for d in docs]  # creation order


async def test_bad_list_parameters(client: httpx2.AsyncClient, sk: dict) -> None:
    await seed(client, sk, 3)
    url = f"{C}/items/documents"
    cases = [
        ({"filter": 'group = "even" & n > 1'}, "invalid_filter", "unexpected '&' at column 16"),
        ({"filter": "n >"}, "invalid_filter", "unexpected end of input at column 4"),
        ({"filter": "$where = 1"}, "invalid_filter", None),
        ({"filter": "n = 1" + " && n = 1" * 500}, "invalid_filter", "longer than 4096"),
        ({"filter": "n in [" + ",".join(["1"] * 1001) + "]"}, "invalid_filter", "1000"),
        ({"filter": "(" * 40 + "n = 1" + ")" * 40}, "invalid_filter", "deeper than 32"),
        ({"filter": "a = b"}, None, None),
        ({"sort": "-"}, "invalid_sort", None),
        ({"sort": "$natural"}, "invalid_sort", None),
        ({"limit": "1001"}, "invalid_limit", None),
        ({"limit": "0"}, "invalid_limit", None),
        ({"offset": "10001"}, "invalid_offset", None),
        ({"offset": "-1"}, "invalid_offset", None),
        ({"cursor": "not-a-cursor"}, "invalid_cursor", None),
        ({"fields": "a,$b"}, "invalid_fields", None),
        ({"count": "yes"}, "invalid_query", None),
    ]
    for params, code, text in cases:
        response = await client.get(url, headers=sk, params=params)
        assert response.status_code == 400, (params, response.text)
        err = response.json()["error"]
        if code is not None:
            assert err["code"] == code, (params, err)
        if text is not None:
            assert text in err["message"], (params, err)
