"""Measuring one endpoint: check its answer, warm up, drive it, and read CPU and memory around the runs."""

from __future__ import annotations

import resource
import time
from typing import Any

from tools.bench import loadgen, procs
from tools.bench.scenarios import Endpoint
from tools.bench.settings import Settings, log
from tools.bench.wrk import run_wrk


def drive(
    server: procs.Server, endpoint: Endpoint, duration: float, connections: int, tool: str
) -> loadgen.LoadResult:
    if tool == "wrk":
        rotate = None
        if endpoint.rotate is not None and endpoint.rotate_reusable:
            rotate = endpoint.rotate
        elif endpoint.rotate is not None:
            name, prefix, values = endpoint.rotate
            rotate = (name, prefix, values[endpoint.rotate_used :])
            if len(rotate[2]) < 100:
                raise RuntimeError(f"{endpoint.name}: its per-request header values are used up")
        result = run_wrk(
            f"http://127.0.0.1:{server.port}{endpoint.path}",
            endpoint.method,
            endpoint.body,
            endpoint.headers,
            duration=duration,
            connections=connections,
            rotate=rotate,
            bodies=endpoint.bodies,
        )
        if rotate is not None and not endpoint.rotate_reusable:
            # Requests still in flight when wrk stopped were sent but not counted: skip past them too.
            endpoint.rotate_used += result.requests + result.errors + 2 * connections
        return result
    if endpoint.rotate is not None or endpoint.bodies:
        raise RuntimeError(f"{endpoint.name} sends a different request each time, which needs wrk")
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
    """Open loop at half the measured maximum: the p99 a loaded-but-not-saturated service gives.

    An endpoint that sends a different header per request (a fresh JWT) gets one request per value."""
    rate = max(1.0, max_rps / 2)
    warmup = min(settings.warmup, 2.0) or 1.0
    loadgen.run_load("127.0.0.1", server.port, _raw(server, endpoint, rate * warmup), warmup, rate=rate)
    raw = _raw(server, endpoint, rate * settings.duration)
    result = loadgen.run_load("127.0.0.1", server.port, raw, settings.duration, rate=rate)
    row = {"name": endpoint.name, "status": "measured", **result.as_dict()}
    if result.errors + result.non_2xx > 0.01 * max(1, result.requests):
        row["status"] = "failed"
    log(
        f"{endpoint.name} at {rate:.0f} req/s (open loop): "
        f"p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms"
    )
    return row


def _raw(server: procs.Server, endpoint: Endpoint, count: float) -> bytes | list[bytes]:
    if endpoint.rotate is None:
        return loadgen.build_request(
            "127.0.0.1", server.port, endpoint.method, endpoint.path, endpoint.body, endpoint.headers
        )
    name, prefix, values = endpoint.rotate
    wanted = int(count) + 50
    fresh = values[endpoint.rotate_used : endpoint.rotate_used + wanted]
    if len(fresh) < wanted:
        raise RuntimeError(f"{endpoint.name}: its per-request header values are used up")
    endpoint.rotate_used += wanted
    return [
        loadgen.build_request(
            "127.0.0.1",
            server.port,
            endpoint.method,
            endpoint.path,
            endpoint.body,
            {**endpoint.headers, name: prefix + value},
        )
        for value in fresh
    ]


def ratio(runs: list[dict[str, Any]], floor_rps: float | None, floor_cpu_ms: float | None = None) -> None:
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
