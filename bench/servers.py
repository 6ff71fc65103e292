"""The processes a run measures: baas, the bare baseline app, the MongoDB stand-in.

Each runs on 127.0.0.1 in its own process group with its output in a log file (a pipe
nobody reads would stall it). Server CPU is read from /proc, summed over the process
and its children, so ``--workers`` runs count every worker.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PYTHON = sys.executable
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (uvicorn workers are children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    todo.extend(int(child) for child in fh.read().split())
        except OSError:
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree, in seconds."""
    total = 0
    for each in process_tree(pid):
        try:
            with open(f"/proc/{each}/stat") as fh:
                # The command name may hold spaces; fields resume after its ')'.
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / CLOCK_TICKS


class Service:
    """One child process on a loopback port; stopped (with its group) on exit."""

    def __init__(self, name: str, argv: list[str], port: int, log: Path,
                 env: dict[str, str] | None = None, ready_path: str | None = None) -> None:
        self.name, self.argv, self.port, self.log = name, argv, port, log
        self.env = env
        self.ready_path = ready_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60) -> Service:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, cwd=REPO,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; "
                                   f"see {self.log}:\n{self.tail()}")
            if self._ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start within {timeout:.0f} s; see {self.log}")

    def _ready(self) -> bool:
        try:
            if self.ready_path is None:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            return httpx2.get(self.url + self.ready_path, timeout=2).status_code == 200
        except (OSError, httpx2.HTTPError):
            return False

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 20) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=timeout)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def baas_env(data_dir: Path, mongodb_url: str | None, extra: dict[str, str]) -> dict[str, str]:
    """The server's environment: defaults everywhere except what a benchmark must
    change, and each of those is named here."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAAS_")}
    env.update({
        "BAAS_DATA_DIR": str(data_dir),
        # One address sends every request, so per-address auth throttles would stop a
        # login benchmark after 100 attempts; the throttles are not what is measured.
        "BAAS_AUTH_IP_LIMIT": "1000000",
        "BAAS_AUTH_ACCOUNT_LIMIT": "100000",
        # A whole run outlasts the default 15-minute access token.
        "BAAS_ACCESS_TOKEN_TTL": "3600",
        # The same one address and key send thousands of requests per second: the limits
        # are raised out of reach, so every request is counted (their cost is measured)
        # but none refused. BENCH_RATE_LIMITS=off measures without them.
        "BAAS_KEY_RATE": "1000000", "BAAS_KEY_BURST": "10000000",
        "BAAS_ADDRESS_RATE": "1000000", "BAAS_ADDRESS_BURST": "10000000",
        "BAAS_DAILY_QUOTA": "1000000000000",
        "BAAS_RATE_LIMITS": "false" if os.environ.get("BENCH_RATE_LIMITS") == "off" else "true",
    })
    if mongodb_url:
        env["BAAS_MONGODB_URL"] = mongodb_url
    env.update(extra)
    return env


def baas_server(data_dir: Path, log: Path, env: dict[str, str], workers: int = 1,
                loop: str = "auto", http: str = "auto") -> Service:
    port = free_port()
    argv = [PYTHON, "-m", "baas_cli.main", "serve", "--port", str(port),
            "--data-dir", str(data_dir)]
    if workers != 1:
        argv += ["--workers", str(workers)]
    if loop != "auto":
        argv += ["--loop", loop]
    if http != "auto":
        argv += ["--http", http]
    return Service("baas", argv, port, log, env=env, ready_path="/ready")


def bare_server(log: Path, workers: int = 1, loop: str = "auto", http: str = "auto") -> Service:
    port = free_port()
    argv = [PYTHON, "-m", "bench.bare_app", "--port", str(port), "--workers", str(workers),
            "--loop", loop, "--http", http]
    return Service("bare starlette", argv, port, log, ready_path="/json")


def mongo_standin(data_dir: Path, log: Path) -> Service:
    """nx-27017 (a MongoDB wire-protocol server used as a stand-in, not MongoDB)."""
    port = free_port()
    exe = shutil.which("nx-27017") or str(Path(PYTHON).parent / "nx-27017")
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [exe, "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir),
            "--log-file", str(data_dir / "server.log"), "--pid-file", str(data_dir / "pid")]
    return Service("nx-27017", argv, port, log)
