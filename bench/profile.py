"""``--profile``: py-spy samples the server during one extra run of a scenario (not
counted in the medians); the summary lists where its time goes, ours first."""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
from pathlib import Path

OURS = ("baas/", "baas_cli/")


def start(pid: int, seconds: float, raw: Path) -> subprocess.Popen[bytes]:
    beside = Path(sys.executable).parent / "py-spy"  # a virtualenv not on PATH
    spy = shutil.which("py-spy") or (str(beside) if beside.exists() else None)
    if spy is None:
        raise RuntimeError("--profile needs py-spy: pip install py-spy")
    # --nonblocking: sampling must not pause the server it measures. --gil: only the
    # thread holding the GIL, so threads waiting for it (or idle) do not count as work.
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--duration",
                             str(max(1, round(seconds))), "--rate", "200", "--format", "raw",
                             "--subprocesses", "--nonblocking", "--gil", "--output", str(raw)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize(raw: Path, top: int = 25) -> str:
    """Self and inclusive shares of the sampled stacks (collapsed format)."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return "no samples\n"
    lines = [f"{total} samples", "", "self time:"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines += ["", "inclusive time, baas frames:"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common()
              if any(o in f for o in OURS)][:top]
    return "\n".join(lines) + "\n"
