"""Warm-up, three timed runs, medians; server CPU per request from /proc."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bench import wrk
from bench.servers import cpu_seconds

RUNS = 3


@dataclass
class Sample:
    rate: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    cpu_us: float | None = None  # server CPU per request
    errors: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    """The medians of the timed runs of one measurement."""

    name: str
    concurrency: int | None
    rate: float
    p50_ms: float | None
    p99_ms: float | None
    cpu_us: float | None
    errors: int
    rates: list[float]
    extra: dict[str, Any] = field(default_factory=dict)  # the median run's
    extras: list[dict[str, Any]] = field(default_factory=list)  # every timed run's

    def median_extra(self, key: str) -> float:
        return float(statistics.median(e[key] for e in self.extras))

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def repeat(name: str, concurrency: int | None, once: Callable[[float], Sample],
           seconds: float, warmup: float, log: Callable[[str], None]) -> Result:
    """``once(seconds)`` for a warm-up, then RUNS timed runs; the medians."""
    if warmup > 0:
        once(warmup)
    samples = [once(seconds) for _ in range(RUNS)]
    rate = statistics.median(s.rate for s in samples)
    result = Result(
        name=name, concurrency=concurrency, rate=rate,
        p50_ms=_median([s.p50_ms for s in samples]), p99_ms=_median([s.p99_ms for s in samples]),
        cpu_us=_median([s.cpu_us for s in samples]), errors=sum(s.errors for s in samples),
        rates=[round(s.rate, 1) for s in samples],
        extra=sorted(samples, key=lambda s: s.rate)[len(samples) // 2].extra,
        extras=[s.extra for s in samples])
    shown = f"{rate:,.0f}/s" if rate >= 100 else f"{rate:,.1f}/s"
    tail = f", p99 {result.p99_ms:.1f} ms" if result.p99_ms is not None else ""
    errors = f", {result.errors} ERRORS" if result.errors else ""
    log(f"  {name} c={concurrency}: {shown}{tail}{errors}")
    return result


def wrk_once(url: str, connections: int, options: dict[str, str] | Callable[[], dict[str, str]],
             server_pid: int | None) -> Callable[[float], Sample]:
    """A run of wrk against ``url``, with the server's CPU over the run."""
    def once(seconds: float) -> Sample:
        opts = options() if callable(options) else options
        before = cpu_seconds(server_pid) if server_pid else None
        got = wrk.run(url, connections, seconds, opts)
        cpu = None
        if server_pid and before is not None and got.requests:
            cpu = (cpu_seconds(server_pid) - before) / got.requests * 1e6
        return Sample(rate=got.rate, p50_ms=got.p50_ms, p99_ms=got.p99_ms, cpu_us=cpu,
                      errors=got.errors)
    return once


def module_once(module: str, args: list[str], seconds_flag: str | None = "--seconds"
                ) -> Callable[[float], Sample]:
    """A run of ``python -m bench.<module> ARGS [--seconds S]`` printing one JSON line."""
    def once(seconds: float) -> Sample:
        argv = [sys.executable, "-m", f"bench.{module}", *args]
        argv += [seconds_flag, str(seconds)] if seconds_flag else []
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"bench.{module} failed: {done.stderr.strip()[-500:]}")
        raw = json.loads(done.stdout.strip().splitlines()[-1])
        extra = raw.get("extra") or {}
        return Sample(rate=raw["rate"], p50_ms=extra.get("p50_ms"), p99_ms=extra.get("p99_ms"),
                      extra=extra)
    return once
