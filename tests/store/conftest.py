"""Helpers of the differential tests: nx-27017 and mongomock side by side."""

from __future__ import annotations

import copy
import inspect
import uuid
from collections.abc import AsyncIterator
from typing import Any

import mongomock
import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError


def api(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored MongoDB document as the store returns it (``_id`` -> ``id``)."""
    return {"id" if k == "_id" else k: v for k, v in doc.items()}


@pytest.fixture
async def servers(mongo_url: str) -> AsyncIterator[tuple[Any, Any]]:
    name = "diff_" + uuid.uuid4().hex[:12]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    mock: mongomock.MongoClient = mongomock.MongoClient()
    try:
        yield client[name]["c"], mock[name]["c"]
    finally:
        await client.drop_database(name)
        await client.close()
        mock.drop_database(name)
        mock.close()


async def seed(servers: tuple[Any, Any], docs: list[dict[str, Any]]) -> tuple[Any, Any]:
    nx, mm = servers
    await nx.insert_many(copy.deepcopy(docs))
    mm.insert_many(copy.deepcopy(docs))
    return nx, mm


async def found(nx: Any, mm: Any, spec: dict[str, Any], **kw: Any) -> tuple[list, list]:
    return ([d["_id"] async for d in nx.find(spec, **kw)],
            [d["_id"] for d in mm.find(spec, **kw)])


async def outcome(op: Any) -> str:
    """"ok" or the PyMongo error class name for one call (sync on mongomock, async on nx)."""
    try:
        result = op()
        if inspect.isawaitable(result):
            await result
    except PyMongoError as exc:
        return type(exc).__name__
    return "ok"


def per_server(nx: str | None = None, mm: str | None = None) -> Any:
    """Parametrize over the two servers, each strict-xfail where it deviates from MongoDB."""
    return pytest.mark.parametrize("server", [
        pytest.param(name, marks=[pytest.mark.xfail(strict=True, reason=why)] if why else [])
        for name, why in (("nx-27017", nx), ("mongomock", mm))])
