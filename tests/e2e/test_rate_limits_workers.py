"""`baas serve --workers 2`: the rate limit and the daily quota of a key are shared by the
worker processes through the store, and what they admit together stays within the
documented bound (docs/api.md, "Counted across processes")."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.e2e.test_serve_and_cli import BAAS
from tests.e2e.test_workers import ADMIN, PASSWORD, Workers, call, served

FLUSH_SECONDS = 0.5
WORKERS = 2
RECONNECT_EVERY = 5


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    env.update({"BAAS_LOG_FORMAT": "json", "BAAS_ARGON2_TIME_COST": "1",
                "BAAS_USAGE_FLUSH_SECONDS": str(FLUSH_SECONDS)})
    server = Workers(env, tmp_path / "data", WORKERS)
    server.start()
    yield server
    server.kill()


def setup(workers: Workers) -> tuple[str, dict[str, Any]]:
    created = subprocess.run([BAAS, "admin", "create", "--email", ADMIN, "--password-stdin",
                              "--data-dir", str(workers.data_dir)], env=workers.env,
                             input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    login = call("POST", f"{workers.url}/v1/admin/login",
                 json={"email": ADMIN, "password": PASSWORD})
    admin = login.json()["token"]
    made = call("POST", f"{workers.url}/v1/admin/projects", admin, json={"id": "shared"})
    assert made.status_code == 201, made.text
    return admin, {k["kind"]: k for k in made.json()["keys"]}


def blast(url: str, key: str, seconds: float, threads: int = 6) -> tuple[int, int, float]:
    """Requests from several threads for ``seconds``, each thread opening a new connection
    every few requests (so both workers serve): (admitted, refused, elapsed)."""
    counts = {200: 0, 429: 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {key}"}

    def run() -> None:
        while time.monotonic() < deadline:
            with httpx2.Client(timeout=30) as client:
                for _ in range(RECONNECT_EVERY):
                    status = client.get(f"{url}/v1/projects/shared", headers=headers).status_code
                    with lock:
                        counts[status] = counts.get(status, 0) + 1

    started = time.monotonic()
    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    assert set(counts) == {200, 429}, counts
    return counts[200], counts[429], elapsed


def both_served(url: str) -> None:
    """Each worker answered a good share of the load (``/metrics`` is per process)."""
    samples = {served(url) for _ in range(12)}
    assert len(samples) >= 2 and min(samples) > 30, samples


def test_two_workers_share_a_key_rate(workers: Workers) -> None:
    admin, keys = setup(workers)
    rate, burst = 5.0, 10
    limits = f"{workers.url}/v1/admin/projects/shared/keys/{keys['secret']['id']}/limits"
    assert call("PATCH", limits, admin, json={"key_rate": rate,
                                              "key_burst": burst}).status_code == 200
    time.sleep(0.2)
    admitted, refused, elapsed = blast(workers.url, keys["secret"]["secret"], 6.0)
    one_process = burst + rate * elapsed  # what a single process would admit
    bound = one_process + (WORKERS - 1) * (burst + rate * 2 * FLUSH_SECONDS)
    independent = WORKERS * one_process  # what two unshared buckets would admit
    print(f"admitted {admitted}, refused {refused} in {elapsed:.2f} s: "
          f"{admitted / one_process:.2f}x one process, bound {bound:.0f}, "
          f"unshared {independent:.0f}")
    assert refused > admitted  # the load was well above the limit
    assert 0.9 * one_process <= admitted <= bound
    assert admitted < 0.75 * independent
    both_served(workers.url)


def test_two_workers_share_a_daily_quota(workers: Workers) -> None:
    admin, keys = setup(workers)
    quota = 60
    limits = f"{workers.url}/v1/admin/projects/shared/keys/{keys['secret']['id']}/limits"
    assert call("PATCH", limits, admin, json={"daily_quota": quota}).status_code == 200
    time.sleep(0.2)
    admitted, refused, elapsed = blast(workers.url, keys["secret"]["secret"], 3.0)
    sent_per_second = (admitted + refused) / elapsed
    # Overshoot: what the other worker admits before a flush tells this one.
    bound = quota + (WORKERS - 1) * sent_per_second * 2 * FLUSH_SECONDS
    print(f"quota {quota}: admitted {admitted} of {admitted + refused} "
          f"({sent_per_second:.0f}/s sent), bound {bound:.0f}")
    assert quota <= admitted <= bound
    both_served(workers.url)
    time.sleep(2 * FLUSH_SECONDS + 0.2)
    shown = call("GET", limits, admin).json()
    assert shown["usage"]["requests"] == admitted  # every worker's count, shared
    assert call("GET", f"{workers.url}/v1/projects/shared",
                keys["secret"]["secret"]).status_code == 429
