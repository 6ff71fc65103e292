"""Shared fixtures: both store engines, the MongoDB stand-in, settings and apps."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from baas.settings import Settings, load_settings
from baas.store import Engine, create_engine

ENGINES = ["sqlite", "mongodb"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0,
                  proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    """A real MongoDB from BAAS_TEST_MONGODB_URL, else nx-27017 on a free loopback port."""
    url = os.environ.get("BAAS_TEST_MONGODB_URL")
    if url:
        yield url
        return
    port = free_port()
    data = tempfile.mkdtemp(prefix="nx27017-")
    exe = shutil.which("nx-27017") or str(Path(sys.executable).parent / "nx-27017")
    proc = subprocess.Popen(
        [exe, "--host", "127.0.0.1", "--port", str(port), "--data-dir", data,
         "--log-file", f"{data}/server.log", "--pid-file", f"{data}/server.pid"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc=proc)
        yield f"mongodb://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data, ignore_errors=True)


def make_settings(kind: str, tmp_path: Path, request: pytest.FixtureRequest,
                  **extra: object) -> Settings:
    values: dict[str, object] = {"data_dir": tmp_path / "data", "log_level": "warning"}
    if kind == "mongodb":
        values["mongodb_url"] = request.getfixturevalue("mongo_url")
        # A fresh set of databases for every test.
        values["mongodb_db_prefix"] = "t" + uuid.uuid4().hex[:10] + "_"
    values.update(extra)
    return load_settings(**values)


@pytest.fixture(params=ENGINES)
def engine_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(engine_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(engine_kind, tmp_path, request)


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[Engine]:
    eng = create_engine(settings)
    await eng.open()
    try:
        yield eng
    finally:
        if eng.kind == "mongodb":
            for name in await eng.databases():
                await eng.drop_database(name)
        await eng.close()


@pytest.fixture
def smtp_sink() -> Iterator[object]:
    """A plain SMTP server on a free loopback port that keeps what it receives
    (a ``tests.smtp.SmtpSink``)."""
    from tests.smtp import SmtpSink  # imported here: tests.smtp imports this module

    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()
