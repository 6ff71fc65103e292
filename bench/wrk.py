"""Load from a separate process: wrk (Debian's ``wrk``) with bench/lua/request.lua.

wrk, not a Python load generator: on two cores the generator shares the machine with
the server, and wrk spends a small fraction of the CPU per request that an asyncio+httpx2
client would, so the server, not the client, is what runs out first.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "lua" / "request.lua"


class WrkMissing(RuntimeError):
    pass


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing("wrk is not installed: `apt-get install wrk` (Debian/Ubuntu) or "
                         "`brew install wrk` (macOS)")
    return found


@dataclass
class WrkResult:
    requests: int
    seconds: float
    errors: int  # socket errors and answers other than 2xx/3xx
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def start(url: str, connections: int, seconds: float, options: dict[str, str],
          timeout_s: float = 10) -> subprocess.Popen[str]:
    """Start wrk (one thread: the other core is the server's) without waiting."""
    argv = [wrk_path(), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            f"--timeout={int(timeout_s)}s", "-s", str(SCRIPT), url, "--"]
    argv += [f"{k}={v}" for k, v in options.items()]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str], seconds: float) -> WrkResult:
    try:
        out, err = proc.communicate(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError("wrk did not finish in time") from None
    line = next((x for x in out.splitlines() if x.startswith("BENCHJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err.strip() or out.strip()}")
    raw = json.loads(line.removeprefix("BENCHJSON "))
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    return WrkResult(requests=raw["requests"], seconds=raw["duration_us"] / 1e6, errors=errors,
                     p50_ms=raw["p50_us"] / 1000, p90_ms=raw["p90_us"] / 1000,
                     p99_ms=raw["p99_us"] / 1000, max_ms=raw["max_us"] / 1000)


def run(url: str, connections: int, seconds: float, options: dict[str, str]) -> WrkResult:
    return finish(start(url, connections, seconds, options), seconds)
