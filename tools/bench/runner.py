"""`make bench`: start servers in production mode, drive them from other processes, record everything.

Sequence: start-up and memory with bundled content -> the floor -> the product with benchmark
content, the floor kept running beside it so that every endpoint run is paired with a floor run
(main endpoints, fixed-rate hook run, scaling runs, memory after load) -> the floor again (drift)
-> memory without preload (the copy-on-write comparison). Servers not being measured sit idle.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plugin.serving import gunicorn_options
from tools.bench import content, procs, report, scenarios
from tools.bench.environment import git_commit, machine_info, versions
from tools.bench.floor import FLOOR_JWT_PATH
from tools.bench.jwt import ISSUER, BenchIssuer, write_jwt_config
from tools.bench.measure import drive, measure, rate_limited, ratio
from tools.bench.scenarios import Endpoint
from tools.bench.servers import at_rest, floor_server, no_preload_server, product_server, write_config
from tools.bench.settings import CONTENT_VERSION, PREFETCH_CONDITIONS, SIZES, Settings, log
from tools.bench.wrk import wrk_path

# Tokens are minted before the run (0.26 ms each); more than this rate is not expected with JWT on.
JWT_MAX_RATE = 2_500.0

__all__ = ["CONTENT_VERSION", "SIZES", "Settings", "profile_under_load", "run", "save", "write_config"]


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
            "scale_out": settings.scale_out,
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
                    results["memory"]["at_rest_bundled"]["icd10cm_served"] = serves(
                        server, scenarios.icd10cm_probe()
                    )
        results["startup"]["bundled_runs_s"] = times
        results["startup"]["bundled_median_s"] = statistics.median(times) if times else None

        on_step("start-up with bundled content, ICD-10-CM not served")
        no_icd_cfg = write_config(Path(tmp) / "no-icd10cm.toml", settings.work_dir, [], icd10cm=False)
        times = []
        for _ in range(settings.startup_runs):
            with product_server(settings, no_icd_cfg, "no-icd10cm") as server:
                times.append(round(server.startup_s, 3))
        results["startup"]["without_icd10cm_runs_s"] = times
        results["startup"]["without_icd10cm_median_s"] = statistics.median(times) if times else None

        on_step("floor")
        floor = scenarios.floor_endpoint()
        # One EHR identity for the JWT rows: the floor's /floor-jwt and the product trust its key.
        issuer = BenchIssuer()
        jwks_file = Path(tmp) / "bench-issuer-jwks.json"
        jwks_file.write_text(json.dumps(issuer.jwks()))
        # The floor server stays up (idle workers cost nothing) so that every run of an endpoint
        # is paired with a floor run right before it: load from other work on the machine then
        # moves both numbers of a pair together instead of skewing the ratio.
        with floor_server(settings, jwks_file, ISSUER) as floor_srv:
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
                # After the open-loop run, so that run is measured as before this row existed (its
                # 30 s of extra load move worker recycling into that run; docs/performance.md step 4).
                results["endpoints"].append(
                    measure(server, scenarios.varied_hook_endpoint(), settings, floor=(floor_srv, floor))
                )
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
                on_step("ICD-10-CM $expand with a text filter (1 connection)")
                for endpoint in scenarios.icd10cm_endpoints():
                    results["scaling"]["runs"].append(
                        measure(server, endpoint, settings, duration=settings.scaling_duration, connections=1)
                    )
                results["memory"]["after_load_bench"] = server.memory()

            on_step("JWT floor, and order-sign with JWT required paired with it")
            results["endpoints"] += jwt_rows(settings, Path(tmp), floor_srv, issuer, hook)
            if settings.scale_out:
                on_step("scale-out: nginx + 2 instances on PostgreSQL vs one instance, same workers")
                from tools.bench.scaleout_bench import scale_out_rows

                results["scale_out"] = scale_out_rows(settings, Path(tmp), issuer, hook)

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
    ratio(results["floor"], floor_rps, floor_cpu_ms)
    ratio(results["endpoints"], floor_rps, floor_cpu_ms)
    _jwt_cpu_ratio(results["endpoints"])
    ratio(results["scaling"]["runs"], None)
    results["targets"] = report.evaluate_targets(results)
    results["machine"]["loadavg_at_end"] = procs.loadavg()
    results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return results


def serves(server: procs.Server, endpoint: Endpoint) -> bool:
    """The server answers the endpoint as its check expects (asked after the memory is read)."""
    status, body = procs.request(server.port, endpoint.method, endpoint.path, endpoint.body, endpoint.headers)
    return status == 200 and (endpoint.check is None or endpoint.check(status, body) is None)


def jwt_rows(
    settings: Settings, tmp: Path, floor_srv: procs.Server, issuer: BenchIssuer, hook: dict[str, Any]
) -> list[dict[str, Any]]:
    """The JWT floor alone, then order-sign on a server that requires a client JWT (same issuer,
    same key), each of its runs paired with a JWT floor run: its ratio is to the JWT floor."""
    if settings.tool != "wrk":
        # The rows still say what they would have measured: the results schema asks it of every row.
        unsent = ["(not minted)"]
        return [
            {
                "name": endpoint.name,
                "method": endpoint.method,
                "path": endpoint.path,
                "note": endpoint.note,
                "request_bytes": endpoint.request_bytes,
                "status": "unavailable",
                "problem": "a fresh token per request needs wrk",
            }
            for endpoint in (scenarios.floor_jwt_endpoint(unsent), scenarios.jwt_endpoint(unsent))
        ]
    # One token per request the runs can send: no faster than the hook without JWT, plus margin.
    rate = min(float(hook.get("rps") or 1000.0), JWT_MAX_RATE)
    run_seconds = settings.warmup + settings.duration * max(1, settings.repeat) + 5
    floor_audience = f"http://127.0.0.1:{floor_srv.port}{FLOOR_JWT_PATH}"
    # The JWT floor keeps no replay record, so each of its runs may send the same tokens again:
    # enough for one run, a different token for every request in it.
    floor_tokens = issuer.tokens(
        floor_audience, int(JWT_MAX_RATE * max(settings.duration, settings.warmup) * 1.2) + 100
    )
    floor_jwt = scenarios.floor_jwt_endpoint(floor_tokens)
    floor_row = measure(floor_srv, floor_jwt, settings)
    config = write_jwt_config(tmp / "jwt.toml", settings.work_dir, [], issuer)
    with product_server(settings, config, "jwt") as server:
        audience = f"http://127.0.0.1:{server.port}/cds-services/{scenarios.payloads.SERVICE_ID}"
        # ... and, at half that rate, the open-loop run (its warm-up at most 2 s).
        open_loop = rate / 2 * (min(settings.warmup, 2.0) + settings.duration + 2)
        tokens = issuer.tokens(audience, int(rate * run_seconds * 1.2 + open_loop) + 200)
        endpoint = scenarios.jwt_endpoint(tokens)
        row = measure(server, endpoint, settings, floor=(floor_srv, floor_jwt))
        if row["status"] == "measured":
            row["rate_limited"] = rate_limited(server, endpoint, row["rps"], settings)
    row["paired_with"] = "floor-jwt"
    return [floor_row, row]


def _jwt_cpu_ratio(rows: list[dict[str, Any]]) -> None:
    """A row paired with the JWT floor: its CPU ratio is to the JWT floor's CPU in the same pairs."""
    for row in rows:
        if row.get("paired_with") != "floor-jwt" or row["status"] != "measured":
            continue
        floor_cpu = [p["floor_server_ms_per_request"] for p in row.get("paired_floor", [])]
        floor_cpu = [c for c in floor_cpu if c]
        cpu_ms = (row.get("cpu") or {}).get("server_ms_per_request")
        if floor_cpu and cpu_ms:
            row["cpu_ratio_to_floor"] = round(statistics.median(floor_cpu) / cpu_ms, 3)


def save(results: dict[str, Any], settings: Settings) -> tuple[Path, Path | None]:
    stamp = results["started_at"].replace(":", "").replace("-", "").replace("+0000", "Z")
    stem = f"bench-{stamp}-{results['commit'][:7]}"
    path = report.write(results, settings.out_dir / f"{stem}.json")
    png = None
    if settings.plot:
        from tools.bench.plot import plot

        png = plot(results, settings.out_dir / f"{stem}.png")
    return path, png


def profile_under_load(settings: Settings, endpoints: list[Endpoint], seconds: float = 8.0) -> dict[str, str]:
    """py-spy one worker of the production server while the load generator drives each endpoint."""
    import threading

    from tools.bench import stacks

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
