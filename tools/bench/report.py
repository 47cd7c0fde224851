"""Benchmark results: the JSON document (and its schema), the targets, and the printed table."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator

SCHEMA_ID = "cpt-plugin-bench/1"

_NUMBER_OR_NULL = {"type": ["number", "null"]}
_RUN = {
    "type": "object",
    "required": ["name", "status", "method", "path", "request_bytes"],
    "properties": {
        "name": {"type": "string"},
        "status": {"enum": ["measured", "unavailable", "failed"]},
        "problem": {"type": ["string", "null"]},
        "method": {"enum": ["GET", "POST"]},
        "path": {"type": "string"},
        "note": {"type": "string"},
        "request_bytes": {"type": "integer", "minimum": 0},
        "response_bytes": {"type": ["integer", "null"], "minimum": 0},
        "rps": _NUMBER_OR_NULL,
        "p50_ms": _NUMBER_OR_NULL,
        "p90_ms": _NUMBER_OR_NULL,
        "p99_ms": _NUMBER_OR_NULL,
        "max_ms": _NUMBER_OR_NULL,
        "ratio_to_floor": _NUMBER_OR_NULL,
        "cpu_ratio_to_floor": _NUMBER_OR_NULL,
        "paired_ratio_to_floor": _NUMBER_OR_NULL,
        "paired_floor": {"type": "array"},
        "peak_worker_rss_mb": _NUMBER_OR_NULL,
        "load": {"type": "object"},
        "cpu": {"type": "object"},
    },
}
RESULT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "schema",
        "started_at",
        "commit",
        "machine",
        "versions",
        "settings",
        "server",
        "startup",
        "memory",
        "floor",
        "endpoints",
        "targets",
    ],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "started_at": {"type": "string"},
        "finished_at": {"type": "string"},
        "commit": {"type": "string"},
        "machine": {"type": "object", "required": ["cores", "python"]},
        "versions": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
        "settings": {
            "type": "object",
            "required": ["duration_s", "warmup_s", "connections", "load_generator"],
        },
        "server": {"type": "object", "required": ["workers", "options"]},
        "startup": {"type": "object"},
        "memory": {"type": "object"},
        "floor": {"type": "array", "items": _RUN},
        "endpoints": {"type": "array", "items": _RUN},
        "rate_limited": {"type": ["object", "null"]},
        "scale_out": {
            "type": "object",
            "properties": {"rows": {"type": "array", "items": _RUN}, "ratio": _NUMBER_OR_NULL},
        },
        "scaling": {"type": "object"},
        "targets": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "limit", "value", "met"],
                "properties": {
                    "name": {"type": "string"},
                    "limit": {"type": "string"},
                    "value": _NUMBER_OR_NULL,
                    "met": {"type": ["boolean", "null"]},
                },
            },
        },
    },
}
VALIDATOR = Draft202012Validator(RESULT_SCHEMA)


def _clean(value: Any) -> Any:
    """NaN and infinities are not JSON: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def validate(results: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in VALIDATOR.iter_errors(results)
    ]


def write(results: dict[str, Any], path: Path) -> Path:
    results = _clean(results)
    problems = validate(results)
    if problems:
        raise ValueError("benchmark results do not match their schema: " + "; ".join(problems))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    return path


def _run(runs: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((r for r in runs if r["name"] == name and r["status"] == "measured"), None)


def _target(name: str, limit: str, value: float | None, ok: bool | None) -> dict[str, Any]:
    return {"name": name, "limit": limit, "value": None if value is None else round(value, 3), "met": ok}


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets; `met` is None when the number could not be measured."""
    runs = results["endpoints"]
    targets = []
    for name in ("order-sign", "validate-code", "validate-code-icd10cm", "lookup"):
        run = _run(runs, name)
        ratio = run.get("ratio_to_floor") if run else None
        targets.append(
            _target(f"{name} throughput / floor", ">= 0.75", ratio, None if ratio is None else ratio >= 0.75)
        )
    jwt_run = _run(runs, "order-sign-jwt")
    ratio = jwt_run.get("ratio_to_floor") if jwt_run and jwt_run.get("paired_with") == "floor-jwt" else None
    targets.append(
        _target(
            "order-sign with JWT throughput / JWT floor",
            ">= 0.75",
            ratio,
            None if ratio is None else ratio >= 0.75,
        )
    )
    jwt_rate = (jwt_run or {}).get("rate_limited") or {}
    jwt_p99 = jwt_rate.get("p99_ms") if jwt_rate.get("status") == "measured" else None
    targets.append(
        _target(
            "order-sign with JWT p99 at half its maximum rate (ms)",
            "< 25",
            jwt_p99,
            None if jwt_p99 is None else jwt_p99 < 25,
        )
    )
    scale = results.get("scale_out") or {}
    spread = scale.get("ratio")
    targets.append(
        _target(
            "nginx + 2 instances + PostgreSQL / one instance, same workers (throughput)",
            ">= 0.8",
            spread,
            None if spread is None else spread >= 0.8,
        )
    )
    rate = results.get("rate_limited") or {}
    p99 = rate.get("p99_ms") if rate.get("status") == "measured" else None
    targets.append(
        _target(
            "order-sign p99 at half its maximum rate (ms)", "< 25", p99, None if p99 is None else p99 < 25
        )
    )
    # One request at a time (the scaling run): under saturation p50 is mostly time in the queue.
    scaling = (results.get("scaling") or {}).get("runs", [])
    expand = _run(scaling, "expand-filter@100000")
    p50 = expand["p50_ms"] if expand else None
    targets.append(
        _target(
            "$expand filter over 100k concepts p50, one request at a time (ms)",
            "< 25",
            p50,
            None if p50 is None else p50 < 25,
        )
    )
    for name, label in (
        (
            "expand-icd10cm-filter",
            "$expand ICD-10-CM code system, text filter, p50 one request at a time (ms)",
        ),
        (
            "expand-icd10cm-isa-filter",
            "$expand ICD-10-CM is-a value set, text filter, p50 one request at a time (ms)",
        ),
    ):
        run = _run(scaling, name)
        p50 = run["p50_ms"] if run else None
        targets.append(_target(label, "< 10", p50, None if p50 is None else p50 < 10))
    # ICD-10-CM (98,000 concepts, read from the CDC tabular and indexed before the workers fork) has
    # its own start-up budget; without it the bundled content keeps the original one.
    startup = results["startup"].get("bundled_median_s")
    targets.append(
        _target(
            "start-up with bundled content and ICD-10-CM (s)",
            "< 3",
            startup,
            None if startup is None else startup < 3,
        )
    )
    startup = results["startup"].get("without_icd10cm_median_s")
    targets.append(
        _target(
            "start-up with bundled content, ICD-10-CM not served (s)",
            "< 1.5",
            startup,
            None if startup is None else startup < 1.5,
        )
    )
    rest = results["memory"].get("at_rest_bundled") or {}
    worker_rss = max((w["rss_mb"] for w in rest.get("workers", [])), default=None)
    targets.append(
        _target(
            "RSS at rest per worker, bundled content (MB)",
            "< 250",
            worker_rss,
            None if worker_rss is None else worker_rss < 250,
        )
    )
    # Proportional set size: a worker's own pages plus its share of those it shares with the master
    # and the other workers (the ICD-10-CM index is built before the fork).
    worker_pss = max((w["pss_mb"] for w in rest.get("workers", [])), default=None)
    worker_pss = worker_pss if rest.get("icd10cm_served") else None
    targets.append(
        _target(
            "PSS at rest per worker, bundled content with ICD-10-CM (MB)",
            "< 150",
            worker_pss,
            None if worker_pss is None else worker_pss < 150,
        )
    )
    return targets


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, spec)


def table(results: dict[str, Any]) -> str:
    lines = [
        f"{'endpoint':<22} {'req/s':>8} {'x floor':>8} {'CPU ms':>7} {'cpu x':>6} {'p50 ms':>8} "
        f"{'p99 ms':>8} "
        f"{'peak RSS':>9}  note"
    ]
    for run in [*results["floor"], *results["endpoints"], *(results.get("scale_out") or {}).get("rows", [])]:
        if run["status"] != "measured":
            lines.append(
                f"{run['name']:<22} {'-':>8} {'-':>8} {'-':>8} {'-':>8} {'-':>9}  "
                f"{run['status'].upper()}: {run.get('problem') or ''}"[:200]
            )
            continue
        lines.append(
            f"{run['name']:<22} {_fmt(run['rps'], ',.0f'):>8} {_fmt(run.get('ratio_to_floor'), '.2f'):>8} "
            f"{_fmt((run.get('cpu') or {}).get('server_ms_per_request'), '.3f'):>7} "
            f"{_fmt(run.get('cpu_ratio_to_floor'), '.2f'):>6} "
            f"{_fmt(run['p50_ms'], '.2f'):>8} {_fmt(run['p99_ms'], '.2f'):>8} "
            f"{_fmt(run.get('peak_worker_rss_mb'), '.0f'):>6} MB  {run.get('note', '')}"
        )
    jwt_rate = next(
        (r.get("rate_limited") for r in results["endpoints"] if r["name"] == "order-sign-jwt"), None
    )
    if jwt_rate and jwt_rate.get("status") == "measured":
        rate, p50, p99 = (
            _fmt(jwt_rate.get(k), f)
            for k, f in (("target_rate", ".0f"), ("p50_ms", ".2f"), ("p99_ms", ".2f"))
        )
        lines.append(
            f"order-sign-jwt at {rate} req/s (half of max, open loop, a fresh token each): "
            f"p50 {p50} ms, p99 {p99} ms"
        )
    scale = results.get("scale_out")
    if scale and scale.get("problem"):
        lines.append(f"scale-out rows not measured: {scale['problem']}")
    check = results.get("loadgen_check")
    if check and check["floor"]["status"] == "measured":
        lines.append(
            f"floor with the {check['tool']} load generator: {_fmt(check['floor']['rps'], ',.0f')} req/s, "
            f"p50 {_fmt(check['floor']['p50_ms'], '.2f')} ms, p99 {_fmt(check['floor']['p99_ms'], '.2f')} ms"
        )
    rate = results.get("rate_limited")
    if rate and rate.get("status") == "measured":
        lines.append(
            f"order-sign at {_fmt(rate.get('target_rate'), '.0f')} req/s (half of max, open loop): "
            f"p50 {_fmt(rate.get('p50_ms'), '.2f')} ms, p99 {_fmt(rate.get('p99_ms'), '.2f')} ms, "
            f"max {_fmt(rate.get('max_ms'), '.1f')} ms"
        )
    scaling = results.get("scaling") or {}
    for run in scaling.get("runs", []):
        if run["status"] == "measured":
            lines.append(
                f"  scaling {run['name']:<24} p50 {_fmt(run['p50_ms'], '.2f'):>7} ms  "
                f"p99 {_fmt(run['p99_ms'], '.2f'):>7} ms  {_fmt(run['rps'], ',.0f'):>6} req/s (1 conn)"
            )
        else:
            lines.append(f"  scaling {run['name']:<24} {run['status']}: {run.get('problem') or ''}"[:200])
    startup = results["startup"]
    lines.append(
        f"start-up (process start -> first 200), bundled content: median "
        f"{_fmt(startup.get('bundled_median_s'), '.2f')} s {startup.get('bundled_runs_s')}; without "
        f"ICD-10-CM: {_fmt(startup.get('without_icd10cm_median_s'), '.2f')} s; with "
        f"benchmark content: {_fmt(startup.get('with_bench_content_s'), '.2f')} s"
    )
    for key, label in (
        ("at_rest_bundled", "at rest, bundled"),
        ("at_rest_bench", "at rest, bench content"),
        ("after_load_bench", "after load, bench content"),
        ("at_rest_bench_no_preload", "at rest, bench content, no preload"),
    ):
        mem = results["memory"].get(key)
        if mem:
            workers = ", ".join(f"{w['rss_mb']:.0f}/{w['pss_mb']:.0f}" for w in mem["workers"])
            lines.append(
                f"memory {label}: master RSS {mem['master']['rss_mb']:.0f} MB; workers RSS/PSS "
                f"{workers} MB; total PSS {mem['total_pss_mb']:.0f} MB"
            )
    lines.append(
        "x floor = median over runs of endpoint req/s / req/s of the floor run just before it; "
        "CPU ms = server CPU per request (all workers); cpu x = floor CPU ms / endpoint CPU ms, "
        "the throughput ratio a server with the cores to itself would show; order-sign-jwt is paired "
        "with floor-jwt (the same token check in bare Flask), so its x floor and cpu x are to floor-jwt"
    )
    lines.append("targets:")
    for target in results["targets"]:
        verdict = {True: "MET", False: "NOT MET", None: "NOT MEASURED"}[target["met"]]
        lines.append(f"  {verdict:<13} {target['name']} {target['limit']}: {_fmt(target['value'], '.3g')}")
    return "\n".join(lines)
