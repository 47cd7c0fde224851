"""What a benchmark run is asked to do, and the sizes it generates."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from plugin.config import PROJECT_ROOT
from tools.bench import scenarios
from tools.bench.wrk import wrk_path

CONTENT_VERSION = "v1"  # bump when tools/bench/content.py changes what it generates
SIZES = [1_000, 10_000, 100_000]
PREFETCH_CONDITIONS = [1, 10, 100, 500]


@dataclass
class Settings:
    duration: float = 10.0
    warmup: float = 3.0
    connections: int | None = None  # None: 8 for wrk, 4 for the Python generator (its best, measured)
    workers: int = 2
    load_generator: str = "auto"  # auto | wrk | python
    scaling: bool = True
    scale_out: bool = False  # nginx + 2 instances on PostgreSQL vs one instance (needs nginx, postgresql)
    scaling_duration: float = 3.0
    startup_runs: int = 3
    repeat: int = 3  # runs per endpoint (each paired with a floor run); medians are reported
    compare_loadgen: bool = False
    work_dir: Path = PROJECT_ROOT / "var" / "bench"
    out_dir: Path = PROJECT_ROOT / "bench" / "results"
    family_valueset: str = scenarios.FAMILY_VALUESET
    plot: bool = True

    @property
    def tool(self) -> str:
        if self.load_generator == "auto":
            return "wrk" if wrk_path() else "python"
        return self.load_generator

    def conns(self, tool: str) -> int:
        return self.connections or (8 if tool == "wrk" else 4)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
