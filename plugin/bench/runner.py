"""`make bench`: start servers in production mode, drive them from other processes, record everything.

Sequence (one server on the machine at a time, so runs do not share the CPU with an idle server's
housekeeping): start-up and memory with bundled content -> floor -> the product with benchmark
content (main endpoints, fixed-rate hook run, scaling runs, memory after load) -> the floor again
(so drift during the run shows) -> memory without preload (for the copy-on-write comparison).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugin.bench import content, loadgen, procs, report, scenarios
from plugin.bench.scenarios import Endpoint
from plugin.bench.wrk import run_wrk, wrk_path, wrk_version
from plugin.config import PROJECT_ROOT
from plugin.serving import gunicorn_options

CONTENT_VERSION = "v1"  # bump when plugin/bench/content.py changes what it generates
SIZES = [1_000, 10_000, 100_000]
PREFETCH_CONDITIONS = [1, 10, 100, 500]
VERSIONED = [
    "cpt-plugin",
    "flask",
    "werkzeug",
    "gunicorn",
    "orjson",
    "jsonschema",
    "fhir.resources",
    "pydantic",
    "fhirpathpy",
    "sqlalchemy",
]


@dataclass
class Settings:
    duration: float = 10.0
    warmup: float = 3.0
    connections: int | None = None  # None: 8 for wrk, 4 for the Python generator (its best, measured)
    workers: int = 2
    load_generator: str = "auto"  # auto | wrk | python
    scaling: bool = True
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


# -- environment ------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")
            ),
            "",
        )
    mem_kb = next(
        (
            int(ln.split()[1])
            for ln in Path("/proc/meminfo").read_text().splitlines()
            if ln.startswith("MemTotal")
        ),
        0,
    )
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_mb": round(mem_kb / 1024),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": procs.loadavg(),
    }


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    found["wrk"] = wrk_version()
    return found


def git_commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# -- servers ----------------------------------------------------------------------------------------


def write_config(path: Path, work_dir: Path, extra_paths: list[Path]) -> Path:
    # A fresh database next to the config file (a temporary folder) for every run: a database left
    # by an older version of the schema must not turn every write into a logged error.
    lines = [
        "[storage]",
        f'url = "sqlite:///{(path.parent / (path.stem + "-feedback.db")).as_posix()}"',
        "[content]",
        "paths = [" + ", ".join(f'"{p.as_posix()}"' for p in extra_paths) + "]",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def product_server(settings: Settings, config: Path, name: str) -> procs.Server:
    port = procs.free_port()
    return procs.Server(
        name=name,
        argv=procs.cli_argv(
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(settings.workers),
            "--config",
            str(config),
        ),
        port=port,
        log_path=settings.work_dir / f"{name}.log",
    )


def no_preload_server(settings: Settings, config: Path) -> procs.Server:
    port = procs.free_port()
    return procs.Server(
        name="no-preload",
        argv=[
            sys.executable,
            "-m",
            "plugin.bench.variant",
            "--port",
            str(port),
            "--workers",
            str(settings.workers),
            "--config",
            str(config),
            "--no-preload",
        ],
        port=port,
        log_path=settings.work_dir / "no-preload.log",
    )


def floor_server(settings: Settings) -> procs.Server:
    port = procs.free_port()
    return procs.Server(
        name="floor",
        argv=[
            sys.executable,
            "-m",
            "plugin.bench.floor",
            "--port",
            str(port),
            "--workers",
            str(settings.workers),
        ],
        port=port,
        log_path=settings.work_dir / "floor.log",
    )


def at_rest(server: procs.Server, workers: int) -> dict[str, Any]:
    server.wait_for_workers(workers)
    time.sleep(0.5)  # let the last worker finish booting
    return server.memory()


# -- measuring --------------------------------------------------------------------------------------


def drive(
    server: procs.Server, endpoint: Endpoint, duration: float, connections: int, tool: str
) -> loadgen.LoadResult:
    if tool == "wrk":
        return run_wrk(
            f"http://127.0.0.1:{server.port}{endpoint.path}",
            endpoint.method,
            endpoint.body,
            endpoint.headers,
            duration=duration,
            connections=connections,
        )
    raw = loadgen.build_request(
        "127.0.0.1", server.port, endpoint.method, endpoint.path, endpoint.body, endpoint.headers
    )
    return loadgen.run_load("127.0.0.1", server.port, raw, duration, connections=connections)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    server: procs.Server,
    endpoint: Endpoint,
    settings: Settings,
    duration: float | None = None,
    connections: int | None = None,
    tool: str | None = None,
    floor: tuple[procs.Server, Endpoint] | None = None,
) -> dict[str, Any]:
    """Check the answer once, warm up, then run under load; returns one result row.

    With `floor`, each run is preceded by a run of the floor, and `ratio_to_floor` is the median of
    the per-pair throughput ratios."""
    tool = tool or settings.tool
    conns = connections or settings.conns(tool)
    duration = duration or settings.duration
    status, body = procs.request(server.port, endpoint.method, endpoint.path, endpoint.body, endpoint.headers)
    row: dict[str, Any] = {
        "name": endpoint.name,
        "method": endpoint.method,
        "path": endpoint.path,
        "note": endpoint.note,
        "request_bytes": endpoint.request_bytes,
        "response_bytes": len(body),
        "status": "measured",
        "problem": None,
    }
    problem = endpoint.check(status, body) if endpoint.check else None
    if problem:
        log(f"{endpoint.name}: not measured: {problem[:160]}")
        return {**row, "status": "unavailable", "problem": problem[:500]}
    if settings.warmup > 0:
        drive(server, endpoint, settings.warmup, conns, tool)
    runs = []
    pairs: list[dict[str, Any]] = []
    for _ in range(max(1, settings.repeat)):
        if floor is not None:
            floor_run = _timed_run(floor[0], floor[1], duration, conns, tool)
        run = _timed_run(server, endpoint, duration, conns, tool)
        runs.append(run)
        if floor is not None:
            pairs.append(
                {
                    "floor_rps": floor_run["rps"],
                    "rps": run["rps"],
                    "ratio": round(run["rps"] / floor_run["rps"], 3) if floor_run["rps"] else None,
                    "floor_server_ms_per_request": floor_run["cpu"]["server_ms_per_request"],
                }
            )
    runs.sort(key=lambda r: r["rps"])
    chosen = runs[len(runs) // 2]  # the median run by throughput, reported whole
    row.update(chosen)
    if len(runs) > 1:
        row["repeats"] = [
            {k: r[k] for k in ("rps", "p50_ms", "p99_ms")}
            | {"other_processes_s": r["cpu"]["other_processes_s"]}
            for r in runs
        ]
    if pairs:
        row["paired_floor"] = pairs
        ratios = sorted(p["ratio"] for p in pairs if p["ratio"] is not None)
        row["paired_ratio_to_floor"] = ratios[len(ratios) // 2] if ratios else None
    load = row["load"]
    bad = load["errors"] + load["non_2xx"]
    if load["requests"] == 0 or bad > 0.01 * load["requests"]:
        row["status"] = "failed"
        row["problem"] = (
            f"{bad} of {load['requests']} requests failed "
            f"(errors {load['errors']}, non-2xx {load['non_2xx']})"
        )
    log(
        f"{endpoint.name}: {row['rps']:,.0f} req/s, p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms, "
        f"server {row['cpu']['server_ms_per_request']} ms CPU/request, other processes "
        f"{row['cpu']['other_processes_s']} CPU-s"
    )
    return row


def _timed_run(
    server: procs.Server, endpoint: Endpoint, duration: float, conns: int, tool: str
) -> dict[str, Any]:
    cpu_before, busy_before, client_before = (
        server.cpu_seconds(),
        procs.machine_busy_seconds(),
        _children_cpu(),
    )
    load_before = procs.loadavg()
    started = time.monotonic()
    with procs.RssSampler(server.pid) as sampler:
        result = drive(server, endpoint, duration, conns, tool)
    wall = time.monotonic() - started
    server_cpu = server.cpu_seconds() - cpu_before
    client_cpu = _children_cpu() - client_before
    busy = procs.machine_busy_seconds() - busy_before
    ok_requests = result.requests - result.non_2xx
    return {
        "rps": round(result.rps, 1),
        **{k: round(v, 3) for k, v in result.percentiles().items()},
        "peak_worker_rss_mb": round(sampler.peak_mb, 1),
        "load": {**result.as_dict(), "connections": conns},
        "cpu": {
            "wall_s": round(wall, 2),
            "server_s": round(server_cpu, 2),
            "load_generator_s": round(client_cpu, 2),
            "machine_busy_s": round(busy, 2),
            # CPU that neither the server nor the load generator used: other work on the machine.
            "other_processes_s": round(max(0.0, busy - server_cpu - client_cpu), 2),
            "server_ms_per_request": round(1000 * server_cpu / ok_requests, 3) if ok_requests else None,
            "loadavg_before": load_before,
        },
    }


def rate_limited(
    server: procs.Server, endpoint: Endpoint, max_rps: float, settings: Settings
) -> dict[str, Any]:
    """Open loop at half the measured maximum: the p99 a loaded-but-not-saturated service gives."""
    rate = max(1.0, max_rps / 2)
    raw = loadgen.build_request(
        "127.0.0.1", server.port, endpoint.method, endpoint.path, endpoint.body, endpoint.headers
    )
    loadgen.run_load("127.0.0.1", server.port, raw, min(settings.warmup, 2.0) or 1.0, rate=rate)
    result = loadgen.run_load("127.0.0.1", server.port, raw, settings.duration, rate=rate)
    row = {"name": endpoint.name, "status": "measured", **result.as_dict()}
    if result.errors + result.non_2xx > 0.01 * max(1, result.requests):
        row["status"] = "failed"
    log(
        f"{endpoint.name} at {rate:.0f} req/s (open loop): "
        f"p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms"
    )
    return row


def _ratio(runs: list[dict[str, Any]], floor_rps: float | None, floor_cpu_ms: float | None = None) -> None:
    """Throughput ratio to the floor, and the server-CPU ratio (what a dedicated server would show)."""
    for run in runs:
        measured = run["status"] == "measured"
        if run.get("paired_ratio_to_floor") is not None and measured:
            run["ratio_to_floor"] = run["paired_ratio_to_floor"]
        else:
            run["ratio_to_floor"] = round(run["rps"] / floor_rps, 3) if measured and floor_rps else None
        cpu_ms = (run.get("cpu") or {}).get("server_ms_per_request")
        run["cpu_ratio_to_floor"] = (
            round(floor_cpu_ms / cpu_ms, 3) if measured and floor_cpu_ms and cpu_ms else None
        )


# -- the whole run ----------------------------------------------------------------------------------


def run(settings: Settings, on_step: Callable[[str], None] = log) -> dict[str, Any]:
    tool = settings.tool
    if tool == "wrk" and not wrk_path():
        raise RuntimeError("wrk is not installed; use --load-generator python or apt-get install wrk")
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results: dict[str, Any] = {
        "schema": report.SCHEMA_ID,
        "started_at": started_at,
        "commit": git_commit(),
        "machine": machine_info(),
        "versions": versions(),
        "settings": {
            "duration_s": settings.duration,
            "warmup_s": settings.warmup,
            "connections": settings.conns(tool),
            "load_generator": tool,
            "scaling_duration_s": settings.scaling_duration,
            "scaling_connections": 1,
            "repeat": settings.repeat,
        },
        "server": {
            "workers": settings.workers,
            "options": {
                k: v for k, v in gunicorn_options("127.0.0.1", 0, settings.workers).items() if k != "bind"
            },
        },
        "startup": {},
        "memory": {},
        "floor": [],
        "endpoints": [],
        "rate_limited": None,
        "scaling": {"sizes": SIZES, "prefetch_resources": [4 + n for n in PREFETCH_CONDITIONS], "runs": []},
        "targets": [],
    }

    on_step(f"generating benchmark content ({', '.join(f'{s:,}' for s in SIZES)} concepts)")
    generated = time.monotonic()
    content_dir = content.write_content(settings.work_dir / f"content-{CONTENT_VERSION}", SIZES)
    results["startup"]["content_generation_s"] = round(time.monotonic() - generated, 2)

    with tempfile.TemporaryDirectory(prefix="cpt-bench-") as tmp:
        bundled_cfg = write_config(Path(tmp) / "bundled.toml", settings.work_dir, [])
        bench_cfg = write_config(Path(tmp) / "bench.toml", settings.work_dir, [content_dir])

        on_step("start-up and memory at rest with bundled content")
        times = []
        for i in range(settings.startup_runs):
            with product_server(settings, bundled_cfg, "bundled") as server:
                times.append(round(server.startup_s, 3))
                if i == 0:
                    results["memory"]["at_rest_bundled"] = at_rest(server, settings.workers)
        results["startup"]["bundled_runs_s"] = times
        results["startup"]["bundled_median_s"] = statistics.median(times) if times else None

        on_step("floor")
        floor = scenarios.floor_endpoint()
        # The floor server stays up (idle workers cost nothing) so that every run of an endpoint
        # is paired with a floor run right before it: load from other work on the machine then
        # moves both numbers of a pair together instead of skewing the ratio.
        with floor_server(settings) as floor_srv:
            results["floor"].append(measure(floor_srv, floor, settings))
            if settings.compare_loadgen:
                other = "python" if tool == "wrk" else "wrk"
                if other == "python" or wrk_path():
                    row = measure(floor_srv, floor, settings, tool=other)
                    results["loadgen_check"] = {"tool": other, "floor": row}

            on_step("product server with benchmark content")
            with product_server(settings, bench_cfg, "product") as server:
                results["startup"]["with_bench_content_s"] = round(server.startup_s, 3)
                results["memory"]["at_rest_bench"] = at_rest(server, settings.workers)
                endpoints = scenarios.main_endpoints(settings.family_valueset, SIZES[-1])
                for endpoint in endpoints:
                    results["endpoints"].append(measure(server, endpoint, settings, floor=(floor_srv, floor)))
                hook = next(r for r in results["endpoints"] if r["name"] == "order-sign")
                if hook["status"] == "measured":
                    results["rate_limited"] = rate_limited(server, endpoints[0], hook["rps"], settings)
                else:
                    results["rate_limited"] = {
                        "name": "order-sign",
                        "status": "unavailable",
                        "problem": hook.get("problem"),
                    }
                if settings.scaling:
                    on_step("scaling runs (1 connection: latency is the cost of one request)")
                    scaling_runs: list[Endpoint] = []
                    for size in SIZES:
                        scaling_runs += scenarios.scaling_endpoints(size, content.probe_code(size))
                    scaling_runs += scenarios.hook_scaling_endpoints(PREFETCH_CONDITIONS)
                    for endpoint in scaling_runs:
                        results["scaling"]["runs"].append(
                            measure(
                                server, endpoint, settings, duration=settings.scaling_duration, connections=1
                            )
                        )
                results["memory"]["after_load_bench"] = server.memory()

            on_step("floor again (drift check)")
            results["floor"].append({**measure(floor_srv, floor, settings), "name": "floor (end)"})

        on_step("memory at rest without preload (copy-on-write comparison)")
        with no_preload_server(settings, bench_cfg) as server:
            results["startup"]["with_bench_content_no_preload_s"] = round(server.startup_s, 3)
            results["memory"]["at_rest_bench_no_preload"] = at_rest(server, settings.workers)

    floors = [r for r in results["floor"] if r["status"] == "measured"]
    floor_rps = statistics.mean(r["rps"] for r in floors) if floors else None
    floor_cpu = [r["cpu"]["server_ms_per_request"] for r in floors if r["cpu"]["server_ms_per_request"]]
    floor_cpu_ms = statistics.mean(floor_cpu) if floor_cpu else None
    results["floor_rps"] = floor_rps
    results["floor_server_ms_per_request"] = floor_cpu_ms
    _ratio(results["floor"], floor_rps, floor_cpu_ms)
    _ratio(results["endpoints"], floor_rps, floor_cpu_ms)
    _ratio(results["scaling"]["runs"], None)
    results["targets"] = report.evaluate_targets(results)
    results["machine"]["loadavg_at_end"] = procs.loadavg()
    results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return results


def save(results: dict[str, Any], settings: Settings) -> tuple[Path, Path | None]:
    stamp = results["started_at"].replace(":", "").replace("-", "").replace("+0000", "Z")
    stem = f"bench-{stamp}-{results['commit'][:7]}"
    path = report.write(results, settings.out_dir / f"{stem}.json")
    png = None
    if settings.plot:
        from plugin.bench.plot import plot

        png = plot(results, settings.out_dir / f"{stem}.png")
    return path, png


def profile_under_load(settings: Settings, endpoints: list[Endpoint], seconds: float = 8.0) -> dict[str, str]:
    """py-spy one worker of the production server while the load generator drives each endpoint."""
    import threading

    from plugin.bench import stacks

    tool = settings.tool
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    folder = content.write_content(settings.work_dir / f"content-{CONTENT_VERSION}", SIZES)
    tables: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="cpt-bench-") as tmp:
        config = write_config(Path(tmp) / "bench.toml", settings.work_dir, [folder])
        with product_server(settings, config, "py-spy") as server:
            workers = server.wait_for_workers(settings.workers)
            for endpoint in endpoints:
                status, body = procs.request(
                    server.port, endpoint.method, endpoint.path, endpoint.body, endpoint.headers
                )
                problem = endpoint.check(status, body) if endpoint.check else None
                if problem:
                    tables[endpoint.name] = f"not profiled: {problem[:300]}"
                    continue
                drive(server, endpoint, min(settings.warmup, 2.0) or 1.0, settings.conns(tool), tool)
                load = threading.Thread(
                    target=drive,
                    args=(server, endpoint, seconds + 2.0, settings.conns(tool), tool),
                    daemon=True,
                )
                load.start()
                time.sleep(1.0)
                out = settings.work_dir / "profiles" / f"{endpoint.name}.collapsed"
                stacks.record(workers[0], seconds, out)
                load.join()
                tables[endpoint.name] = stacks.table(out.read_text())
                log(f"{endpoint.name}: py-spy profile in {out}")
    return tables
