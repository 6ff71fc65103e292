"""`baas serve --workers 2` as a real process tree on one SQLite data folder: every
request on a fresh connection (so both workers serve), every read sees every write,
schema changes made through one worker (collections dropped and made again, a project
deleted and created again) are seen by the other, and SIGTERM on the parent stops the
workers and exits 0."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.e2e.test_serve_and_cli import BAAS, Server

ADMIN = "ops@example.com"
PASSWORD = "a long admin password"


class Workers(Server):
    def __init__(self, env: dict[str, str], data_dir: Path, workers: int) -> None:
        super().__init__(env, data_dir)
        self.workers = workers

    def start(self) -> None:
        self.log = self.data_dir.parent / "serve.log"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [BAAS, "serve", "--workers", str(self.workers), "--port", str(self.port),
                 "--data-dir", str(self.data_dir)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, text=True,
                start_new_session=True,  # its own process group, as in a terminal
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            if self.output().count("Application startup complete") >= self.workers:
                try:
                    if call("GET", f"{self.url}/ready").status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(self.output())

    def worker_pids(self) -> set[int]:
        return {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]",
                                               self.output())}

    def kill(self) -> None:
        """SIGKILL the supervisor and every worker it started (a test's teardown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in self.worker_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def call(method: str, url: str, token: str | None = None, **kwargs: Any) -> httpx2.Response:
    """One request on its own connection, so the kernel hands it to either worker."""
    headers = {"Connection": "close"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with httpx2.Client(timeout=30) as client:
        return client.request(method, url, headers=headers, **kwargs)


def served(url: str) -> int:
    """Requests the worker that answers has counted (``/metrics`` is per process)."""
    text = call("GET", f"{url}/metrics").text
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("baas_http_requests_total{")))


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    env.update({"BAAS_LOG_FORMAT": "json", "BAAS_ARGON2_TIME_COST": "1",
                "BAAS_CLI_CONFIG": str(tmp_path / "cli.json")})
    server = Workers(env, tmp_path / "data", 2)
    server.start()
    yield server
    server.kill()


def test_two_workers_share_one_data_folder(workers: Workers) -> None:
    assert "server:    " in workers.output()
    assert re.search(r"server:    \w+ \+ \w+, 2 worker processes", workers.output())
    pids = workers.worker_pids()
    assert len(pids) == 2 and workers.proc is not None and workers.proc.pid not in pids

    created = subprocess.run([BAAS, "admin", "create", "--email", ADMIN, "--password-stdin",
                              "--data-dir", str(workers.data_dir)], env=workers.env,
                             input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    url = workers.url
    login = call("POST", f"{url}/v1/admin/login", json={"email": ADMIN, "password": PASSWORD})
    assert login.status_code == 200, login.text
    admin = login.json()["token"]

    def make_project() -> str:
        made = call("POST", f"{url}/v1/admin/projects", admin, json={"id": "multi"})
        assert made.status_code == 201, made.text
        return next(k["secret"] for k in made.json()["keys"] if k["kind"] == "secret")

    def make_collection(sk: str) -> None:
        made = call("POST", f"{url}/v1/projects/multi/collections", sk, json={
            "name": "notes", "schema": {"fields": {"slug": {"type": "string", "unique": True},
                                                   "n": {"type": "integer"}}}})
        assert made.status_code == 201, made.text

    docs = f"{url}/v1/projects/multi/collections/notes/documents"
    sk = make_project()
    make_collection(sk)
    ids = []
    for n in range(30):
        made = call("POST", docs, sk, json={"slug": f"s{n}", "n": n})
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
        got = call("GET", f"{docs}/{ids[-1]}", sk)
        assert got.status_code == 200 and got.json()["n"] == n, got.text
        listed = call("GET", docs, sk, params={"count": "true", "limit": 1000})
        assert listed.json()["total"] == n + 1, listed.text
        assert [d["id"] for d in listed.json()["items"]] == ids
    for n in range(3):  # the unique index holds in whichever worker answers
        again = call("POST", docs, sk, json={"slug": "s7", "n": n})
        assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate_value"

    # Dropped and made again, the collection starts empty in both workers, and takes
    # writes in both (each recreates the table it saw dropped).
    assert call("DELETE", f"{url}/v1/projects/multi/collections/notes", sk).status_code == 204
    make_collection(sk)
    for n in range(6):
        assert call("GET", f"{docs}/{ids[n]}", sk).status_code == 404
        assert call("GET", docs, sk, params={"count": "true"}).json()["total"] == n
        made = call("POST", docs, sk, json={"slug": f"again{n}", "n": n})
        assert made.status_code == 201, made.text

    # The project deleted and created again under the same id: its database file is
    # replaced, and neither worker keeps reading or writing the old one.
    assert call("DELETE", f"{url}/v1/admin/projects/multi", admin).status_code == 204
    for _ in range(4):
        # Its keys are gone (a worker may reuse a key it read for BAAS_CACHE_SECONDS),
        # and so are its documents in every worker.
        gone = call("GET", docs, sk)
        assert gone.status_code in (401, 404) or gone.json()["items"] == [], gone.text
    sk = make_project()
    make_collection(sk)
    for n in range(6):
        made = call("POST", docs, sk, json={"slug": f"third{n}", "n": n})
        assert made.status_code == 201, made.text
        listed = call("GET", docs, sk, params={"count": "true"}).json()
        assert listed["total"] == n + 1 and {d["slug"] for d in listed["items"]} == {
            f"third{i}" for i in range(n + 1)}

    # Both workers served: /metrics counts per process, so one process answering every
    # time would count up by one each time (its previous /metrics request).
    counts = [served(url) for _ in range(20)]
    assert any(b != a + 1 for a, b in zip(counts, counts[1:], strict=False)), counts

    workers.proc.send_signal(signal.SIGTERM)
    assert workers.proc.wait(timeout=30) == 0, workers.output()
    time.sleep(0.2)
    for pid in pids:  # the workers are gone too (reaped by the parent)
        assert not Path(f"/proc/{pid}").exists(), workers.output()
    output = workers.output()
    assert "stopped cleanly" in output and "Traceback" not in output, output
    assert "internal_error" not in output and '"status": 500' not in output, output


def test_ctrl_c_stops_every_worker_and_exits_0(workers: Workers) -> None:
    """Ctrl-C in a terminal signals the whole process group: parent and workers."""
    pids = workers.worker_pids()
    assert call("GET", f"{workers.url}/ready").status_code == 200
    assert workers.proc is not None
    os.killpg(workers.proc.pid, signal.SIGINT)
    assert workers.proc.wait(timeout=30) == 0, workers.output()
    time.sleep(0.2)
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids), workers.output()
    assert "Traceback" not in workers.output() and "stopped cleanly" in workers.output()


def test_workers_refuse_a_taken_port(tmp_path: Path) -> None:
    """The parent binds the port before any worker starts: a taken port stops it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = subprocess.run(
            [BAAS, "serve", "--workers", "2", "--port", str(port), "--data-dir",
             str(tmp_path / "data")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "address already in use" in result.stderr.lower() or "errno 98" in \
        result.stderr.lower(), result.stderr
