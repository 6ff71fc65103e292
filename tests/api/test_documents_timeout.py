"""A list that runs past BAAS_QUERY_TIMEOUT_MS answers 503 query_timeout, promptly,
and the server keeps answering. SQLite only: the MongoDB stand-in ignores maxTimeMS
(the MongoDB engine passes it on; see tests/store/test_store_query.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from baas.core.platform import Platform
from baas.settings import Settings
from tests.api.collections_helpers import C, define
from tests.api.test_admin_api import error_of
from tests.conftest import make_settings

ROWS = 60_000


@pytest.fixture
def settings(engine_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(engine_kind, tmp_path, request, query_timeout_ms=10)


@pytest.mark.parametrize("engine_kind", ["sqlite"])
async def test_slow_list_answers_503_and_the_server_keeps_going(
        client: httpx2.AsyncClient, sk: dict, platform: Platform) -> None:
    await define(client, sk, "logs", rules={"list": ""})
    db: Any = platform.documents.db("demo")
    rows = [(f"r{i:06d}", f'{{"id":"r{i:06d}","line":"entry {i} of a long log","n":{i},'
                          f'"version":1}}') for i in range(ROWS)]
    await db.collection("d_logs").insert({"id": "seed", "version": 1})
    await db.write(lambda conn: conn.executemany('INSERT INTO "c_d_logs" VALUES (?, ?)', rows))
    url = f"{C}/logs/documents"
    started = time.perf_counter()
    response = await client.get(url, headers=sk, params={
        "filter": 'line ~ "no such text" || n < 0', "sort": "-line", "count": "true"})
    err = error_of(response, 503, "query_timeout")
    assert time.perf_counter() - started < 2
    assert "10 ms" in err["message"] and "index" in err["message"]
    assert response.headers["retry-after"] == "1"
    quick = await client.get(url, headers=sk, params={"filter": 'id = "r000042"'})
    assert quick.status_code == 200 and quick.json()["items"][0]["n"] == 42
