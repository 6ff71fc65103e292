"""The tables: printed (rich), and as Markdown for docs/performance.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.measure import Result
from bench.scenarios import Row


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def scenario_cells(row: Row) -> list[str]:
    r = row.result
    ratio = row.ratio
    verdict = "-" if ratio is None else (f"{ratio:.0%} ok" if ratio >= 1 else f"{ratio:.0%} LOW")
    return [r.name, str(r.concurrency), _rate(r.rate), _ms(r.p50_ms), _ms(r.p99_ms),
            "-" if r.cpu_us is None else f"{r.cpu_us:,.0f}", _rate(row.target), verdict,
            row.basis, row.note + (f" ({r.errors} errors)" if r.errors else "")]


SCENARIO_HEADERS = ["scenario", "c", "req/s", "p50 ms", "p99 ms", "server CPU µs/req",
                    "target req/s", "of target", "target basis", "notes"]
BASELINE_HEADERS = ["baseline", "c", "ops/s", "p50 ms", "p99 ms", "runs (ops/s)"]


def baseline_cells(result: Result) -> list[str]:
    return [result.name, "-" if result.concurrency is None else str(result.concurrency),
            _rate(result.rate), _ms(result.p50_ms), _ms(result.p99_ms),
            ", ".join(_rate(x) for x in result.rates)]


def print_tables(baselines: dict[str, Result], rows: list[Row], title: str) -> None:
    console = Console(width=200)
    table = Table(title=f"Baselines ({title})")
    for header in BASELINE_HEADERS:
        table.add_column(header)
    for key, result in baselines.items():
        table.add_row(*baseline_cells(result)[:1] + [key.split("@")[1] if "@" in key else "-"]
                      + baseline_cells(result)[2:])
    console.print(table)
    table = Table(title=f"Scenarios ({title}); medians of 3 timed runs")
    for header in SCENARIO_HEADERS:
        table.add_column(header)
    for row in rows:
        table.add_row(*scenario_cells(row))
    console.print(table)


def markdown(baselines: dict[str, Result], rows: list[Row], title: str) -> str:
    def table(headers: list[str], lines: list[list[str]]) -> list[str]:
        out = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |"
                for line in lines]
        return out

    base_lines = []
    for key, result in baselines.items():
        cells = baseline_cells(result)
        cells[1] = key.split("@")[1] if "@" in key else "-"
        base_lines.append(cells)
    parts = [f"#### Baselines ({title})", "", *table(BASELINE_HEADERS, base_lines), "",
             f"#### Scenarios ({title})", "",
             *table(SCENARIO_HEADERS, [scenario_cells(r) for r in rows]), ""]
    return "\n".join(parts)


def write_json(path: Path, meta: dict[str, Any], baselines: dict[str, Result],
               rows: list[Row]) -> None:
    path.write_text(json.dumps({
        "meta": meta,
        "baselines": {k: v.as_json() for k, v in baselines.items()},
        "scenarios": [{**r.result.as_json(), "target": r.target, "basis": r.basis,
                       "note": r.note, "ratio": r.ratio} for r in rows],
    }, indent=2))
