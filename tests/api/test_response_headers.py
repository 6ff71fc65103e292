"""The headers every response carries, through the ASGI app on both engines (the same
over real sockets is in tests/e2e/test_security_headers.py), including a 500, which is
answered outside the middleware."""

from __future__ import annotations

import httpx2
from starlette.requests import Request

from baas.api.errors import server_error
from tests.api.collections_helpers import C, P, define


def assert_safe(response: httpx2.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff", response.headers
    assert response.headers["cache-control"] == "no-store", response.headers
    assert response.headers["x-request-id"]


async def test_tokens_keys_and_errors_are_never_cached(client: httpx2.AsyncClient,
                                                       admin: dict, sk: dict, pk: dict) -> None:
    made = await client.post("/v1/admin/projects", headers=admin, json={"id": "other"})
    assert made.status_code == 201 and made.json()["keys"][0]["secret"]
    assert_safe(made)
    signed_up = await client.post(f"{P}/auth/signup", headers=pk, json={
        "email": "ann@example.com", "password": "a long password"})
    assert signed_up.status_code == 201 and signed_up.json()["session"]["refresh_token"]
    assert_safe(signed_up)
    await define(client, sk, "notes")
    for response in (await client.get(f"{C}/notes/documents", headers=sk),
                     await client.get(f"{C}/nope/documents", headers=sk),
                     await client.get("/v1/nowhere"),
                     await client.get("/metrics"),
                     await client.post(f"{C}/notes/documents", content=b"{", headers={
                         **sk, "Content-Type": "application/json"})):
        assert response.status_code in (200, 400, 404), response.text
        assert_safe(response)
    jwks = await client.get(f"{P}/.well-known/jwks.json")
    assert jwks.headers["cache-control"] == "public, max-age=300"
    assert jwks.headers["x-content-type-options"] == "nosniff"


async def test_the_docs_page_cannot_be_framed(client: httpx2.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert_safe(page)
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src" not in policy
    spec = await client.get("/openapi.json")
    assert "content-security-policy" not in spec.headers  # JSON is never rendered


async def test_a_500_carries_the_headers_and_no_internals() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [],
                       "query_string": b"", "state": {"request_id": "rid-0123456789"}})
    response = await server_error(request, RuntimeError("secret detail /etc/passwd"))
    assert response.status_code == 500
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-request-id"] == "rid-0123456789"
    assert b"secret detail" not in response.body and b"rid-0123456789" in response.body
