"""kill -9 of a real server during keyed creates and batches, then every key retried.

A crash at any moment must leave each Idempotency-Key unused or bound to its
completed write: after a restart, every retry answers 2xx within the lease (it
replays the committed answer, or takes the lapsed lease over and writes once), and
each key ends with exactly one write. SQLite, loopback only, bounded rounds.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.e2e.test_serve_and_cli import BAAS, Server

ADMIN = "ops@example.com"
PASSWORD = "a long admin password"
LEASE = 1.5
ROUNDS = 5
SENDERS = 6
BATCH = 100


def call(method: str, url: str, token: str, key: str | None = None,
         **kwargs: Any) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    if key is not None:
        headers["Idempotency-Key"] = key
    with httpx2.Client(timeout=30) as client:
        return client.request(method, url, headers=headers, **kwargs)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    env.update({"BAAS_LOG_FORMAT": "json", "BAAS_ARGON2_TIME_COST": "1",
                "BAAS_CLI_CONFIG": str(tmp_path / "cli.json"),
                "BAAS_IDEMPOTENCY_LEASE_SECONDS": str(LEASE)})
    srv = Server(env, tmp_path / "data")
    srv.start()
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.proc.kill()
        srv.proc.wait()


def request_for(key: str) -> tuple[str, dict[str, Any]]:
    """Half the keys create one document, half a batch of BATCH (whose checks widen the
    window between claiming the key and committing); every document names its key and
    part, so the documents of a key can be counted at the end."""
    if int(key.rsplit("-", 1)[1]) % 2 == 0:
        return "", {"key": key, "part": 0}
    return ":batch", {"operations": [{"op": "create", "data": {"key": key, "part": p}}
                                     for p in range(BATCH)]}


def test_keys_survive_kill_9_at_random_moments(server: Server) -> None:
    made = subprocess.run([BAAS, "admin", "create", "--email", ADMIN, "--password-stdin",
                           "--data-dir", str(server.data_dir)], env=server.env,
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    login = httpx2.post(f"{server.url}/v1/admin/login",
                        json={"email": ADMIN, "password": PASSWORD})
    admin = login.json()["token"]
    project = call("POST", f"{server.url}/v1/admin/projects", admin, json={"id": "crash"})
    assert project.status_code == 201, project.text
    sk = next(k["secret"] for k in project.json()["keys"] if k["kind"] == "secret")
    base = f"{server.url}/v1/projects/crash/collections"
    assert call("POST", base, sk, json={"name": "orders"}).status_code == 201
    docs = f"{base}/orders/documents"
    rng = random.Random(11)
    answers: dict[str, Any] = {}
    for round_ in range(ROUNDS):
        keys: list[str] = []
        lock = threading.Lock()

        def send(sender: int, round_: int = round_, keys: list[str] = keys,
                 lock: threading.Lock = lock) -> None:
            """Keyed writes one after another until the server dies under one."""
            for n in range(10_000):
                key = f"r{round_}-s{sender}-{n}"
                with lock:
                    keys.append(key)
                suffix, body = request_for(key)
                try:
                    call("POST", docs + suffix, sk, key, json=body)
                except httpx2.TransportError:
                    return  # the server died under this request: retried below

        threads = [threading.Thread(target=send, args=(i,)) for i in range(SENDERS)]
        for thread in threads:
            thread.start()
        time.sleep(rng.uniform(0.2, 0.6))
        assert server.proc is not None
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(timeout=10)
        for thread in threads:
            thread.join(timeout=30)
        server.start()
        for key in keys:
            suffix, body = request_for(key)
            started = time.monotonic()
            retry = call("POST", docs + suffix, sk, key, json=body)
            assert retry.status_code in (200, 201), (key, retry.text)
            assert time.monotonic() - started < LEASE + 3, key
            again = call("POST", docs + suffix, sk, key, json=body)
            assert again.json() == retry.json(), key  # replayed, not written again
            answers[key] = retry.json()
    listed: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        page = call("GET", docs, sk, params={"limit": 1000, **(
            {"cursor": cursor} if cursor else {})}).json()
        listed += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    written: dict[tuple[str, int], list[str]] = {}
    for doc in listed:
        written.setdefault((doc["key"], doc["part"]), []).append(doc["id"])
    expected = {(key, part) for key in answers
                for part in ((0,) if request_for(key)[0] == "" else range(BATCH))}
    assert set(written) == expected
    assert all(len(ids) == 1 for ids in written.values()), written
    # Every answer names the one document its key wrote.
    for key, answer in answers.items():
        ids = [answer["id"]] if "id" in answer else [r["id"] for r in answer["results"]]
        assert ids == [written[(key, part)][0] for part in range(len(ids))]
