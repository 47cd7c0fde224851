"""Servers under test as separate processes, and what /proc says about them (RSS, PSS, CPU)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> list[int]:
    """Direct children of a process (gunicorn's workers, for its master)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int) -> float:
    return _status_kb(pid, "VmRSS") / 1024.0


def hwm_mb(pid: int) -> float:
    """The kernel's peak RSS for the process (VmHWM)."""
    return _status_kb(pid, "VmHWM") / 1024.0


def memory_detail(pid: int) -> dict[str, float]:
    """RSS, PSS (shared pages split among sharers) and USS (private pages) in MB."""
    values: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                values[parts[0][:-1]] = int(parts[1])
    except OSError:
        return {"rss_mb": rss_mb(pid), "pss_mb": float("nan"), "uss_mb": float("nan")}
    uss = values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)
    return {
        "rss_mb": round(values.get("Rss", 0) / 1024.0, 1),
        "pss_mb": round(values.get("Pss", 0) / 1024.0, 1),
        "uss_mb": round(uss / 1024.0, 1),
    }


def cpu_seconds(pid: int, reaped_children: bool = False) -> float:
    """utime + stime; with `reaped_children`, plus what its exited and reaped children used."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime + cstime
    return ticks / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds spent busy on the whole machine since boot (every core, every process)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


class RssSampler:
    """Samples every worker's RSS in a background thread; `peak_mb` is the largest seen."""

    def __init__(self, master_pid: int, interval: float = 0.1) -> None:
        self.master_pid = master_pid
        self.interval = interval
        self.peak_mb = 0.0
        self.peak_total_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        workers = children(self.master_pid)
        sizes = [rss_mb(pid) for pid in workers] or [rss_mb(self.master_pid)]
        self.peak_mb = max([self.peak_mb, *sizes])
        total = sum(sizes) + (rss_mb(self.master_pid) if workers else 0.0)
        self.peak_total_mb = max(self.peak_total_mb, total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> RssSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        for pid in children(self.master_pid):
            self.peak_mb = max(self.peak_mb, hwm_mb(pid))


@dataclass
class Server:
    """A server under test: started with `argv`, ready when GET `ready_path` answers 200."""

    name: str
    argv: Sequence[str]
    port: int
    ready_path: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    startup_s: float = float("nan")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 60.0) -> Server:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        started = time.monotonic()
        self.process = subprocess.Popen(
            list(self.argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,
        )
        if log is not subprocess.DEVNULL:
            log.close()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode} while starting"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            if get(self.port, self.ready_path, timeout=1.0)[0] == 200:
                self.startup_s = time.monotonic() - started
                return self
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {self.ready_path} within {timeout:.0f} s")

    def wait_for_workers(self, count: int, timeout: float = 30.0) -> list[int]:
        """gunicorn spawns workers one after another: wait until all of them run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = children(self.pid)
            if len(pids) >= count:
                return pids
            time.sleep(0.05)
        return children(self.pid)

    def memory(self) -> dict[str, Any]:
        workers = children(self.pid)
        per_worker = [memory_detail(pid) for pid in workers]
        master = memory_detail(self.pid)
        every = [master, *per_worker]
        return {
            "master": master,
            "workers": per_worker,
            "total_rss_mb": round(sum(m["rss_mb"] for m in every), 1),
            "total_pss_mb": round(sum(m["pss_mb"] for m in every), 1),
        }

    def cpu_seconds(self) -> float:
        """Master, live workers, and workers already replaced (max_requests) and reaped by the master."""
        return cpu_seconds(self.pid, reaped_children=True) + sum(
            cpu_seconds(pid) for pid in children(self.pid)
        )

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()  # only our own process (and, by its group, its workers)
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    return request(port, "GET", path, timeout=timeout)


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    """One request on a fresh connection; (0, b"") when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()


def cli_argv(*args: str) -> list[str]:
    """Run `cpt-plugin` with the same interpreter as the benchmark."""
    return [sys.executable, "-m", "plugin.cli", *args]
