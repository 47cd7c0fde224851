"""Sampling profiles of a gunicorn worker under load (py-spy), summarised per function.

py-spy samples the real worker from outside, so unlike an in-process tracer it adds no cost to
the many small calls (jsonschema, SQLAlchemy) that would otherwise look bigger than they are.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path


def py_spy_path() -> str | None:
    candidate = Path(sys.executable).with_name("py-spy")
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


def record(pid: int, seconds: float, out: Path, rate: int = 500) -> Path:
    """Record `pid` for `seconds` into a collapsed-stack file (one `frame;frame;... count` per line)."""
    tool = py_spy_path()
    if tool is None:
        raise RuntimeError("py-spy is not installed (pip install '.[bench]')")
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        tool,
        "record",
        "-p",
        str(pid),
        "-d",
        str(max(1, round(seconds))),
        "-r",
        str(rate),
        "-f",
        "raw",
        "--nonblocking",
        "-o",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=seconds + 60)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return out


def _function(frame: str) -> str:
    """`name (path/to/file.py:123)` -> `name (path/to/file.py)`: lines of one function add up."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({path})" if path else name


def summarise(collapsed: str, top: int = 25) -> tuple[int, list[tuple[str, int, int]]]:
    """(samples, [(function, inclusive samples, self samples)]) sorted by inclusive samples."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_function(f) for f in stack.split(";")]
        for function in set(frames):
            inclusive[function] += count
        own[frames[-1]] += count
    rows = [(f, n, own.get(f, 0)) for f, n in inclusive.most_common()]
    return total, rows[:top]


def table(collapsed: str, top: int = 25, skip_below_percent: float = 1.0) -> str:
    total, rows = summarise(collapsed, top=10_000)
    lines = [f"{'incl %':>7} {'self %':>7}  function   ({total} samples)"]
    shown = 0
    for function, incl, own in rows:
        if 100 * incl / max(1, total) < skip_below_percent or shown >= top:
            break
        if (
            function.startswith(("<module>", "main (plugin/cli", "run (plugin/commands"))
            or "gunicorn/" in function
        ):
            continue  # the server's own frames: every sample has them
        lines.append(f"{100 * incl / total:7.1f} {100 * own / total:7.1f}  {function}")
        shown += 1
    return "\n".join(lines)
