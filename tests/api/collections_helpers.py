"""Helpers for the collection and document API tests: keys, users and definitions."""

from __future__ import annotations

from typing import Any

import httpx2

P = "/v1/projects/demo"
C = P + "/collections"
PASSWORD = "correct horse battery"

OWNER_RULES = {"list": "owner = @auth.id", "get": "owner = @auth.id",
               "create": "@auth.id != null", "update": "owner = @auth.id",
               "delete": "owner = @auth.id"}
PUBLIC_READ_RULES = {"list": "", "get": "", "create": "@auth.id != null",
                     "update": "owner = @auth.id", "delete": "owner = @auth.id"}
OWNER_SCHEMA = {"fields": {
    "title": {"type": "string", "required": True, "max_length": 200},
    "done": {"type": "boolean", "default": False},
    "owner": {"type": "string", "server_owned": True, "value": "@auth.id"},
}, "additional_fields": True}


async def define(client: httpx2.AsyncClient, headers: dict[str, str], name: str,
                 **spec: Any) -> dict[str, Any]:
    response = await client.post(C, headers=headers, json={"name": name, **spec})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def user(client: httpx2.AsyncClient, pk: dict[str, str], email: str) -> dict[str, str]:
    """Sign up ``email``; the headers of that user (publishable key + access token)."""
    response = await client.post(f"{P}/auth/signup", headers=pk,
                                 json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    body = response.json()
    return {**pk, "Authorization": "Bearer " + body["session"]["access_token"],
            "x-user-id": body["user"]["id"]}


def uid(headers: dict[str, str]) -> str:
    return headers["x-user-id"]


async def create(client: httpx2.AsyncClient, headers: dict[str, str], name: str,
                 body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"{C}/{name}/documents", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def list_all(client: httpx2.AsyncClient, headers: dict[str, str], name: str,
                   **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"{C}/{name}/documents", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])
