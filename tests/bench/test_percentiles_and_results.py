"""Percentiles, the results document and its schema, and the target verdicts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tools.bench import report
from tools.bench.loadgen import LoadResult, percentile


def test_percentile__nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 99.9) == 100
    assert percentile(values, 100) == 100
    assert percentile(values, 0) == 1
    assert percentile([7.0], 99) == 7
    assert math.isnan(percentile([], 50))


def test_load_result__percentiles_from_samples() -> None:
    result = LoadResult(tool="python", duration_s=2.0, requests=4, latencies_ms=[4.0, 1.0, 3.0, 2.0])
    result.status_counts = {200: 4}
    numbers = result.percentiles()
    assert numbers["p50_ms"] == 2.0
    assert numbers["p99_ms"] == 4.0
    assert numbers["mean_ms"] == 2.5
    assert result.rps == 2.0
    assert result.as_dict()["status_counts"] == {"200": 4}


def _run(name: str, rps: float | None, p50: float | None = 1.0, status: str = "measured") -> dict[str, Any]:
    return {
        "name": name,
        "status": status,
        "method": "GET",
        "path": "/x",
        "request_bytes": 0,
        "response_bytes": 10,
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": 2.0 if p50 is not None else None,
        "ratio_to_floor": None if rps is None else rps / 1000.0,
    }


def minimal_results() -> dict[str, Any]:
    return {
        "schema": report.SCHEMA_ID,
        "started_at": "2026-11-25T10:00:00+00:00",
        "commit": "abc",
        "machine": {"cores": 2, "python": "3.11.7"},
        "versions": {"gunicorn": "27.0.1", "wrk": None},
        "settings": {"duration_s": 10, "warmup_s": 3, "connections": 8, "load_generator": "wrk"},
        "server": {"workers": 2, "options": {"worker_class": "sync"}},
        "startup": {"bundled_median_s": 2.4, "without_icd10cm_median_s": 1.6},
        "memory": {
            "at_rest_bundled": {
                "master": {"rss_mb": 50.0, "pss_mb": 20.0, "uss_mb": 10.0},
                "workers": [{"rss_mb": 60.0, "pss_mb": 30.0, "uss_mb": 5.0}] * 2,
                "total_rss_mb": 170.0,
                "total_pss_mb": 80.0,
            }
        },
        "floor": [_run("floor", 1000.0)],
        "endpoints": [
            _run("order-sign", 800.0),
            _run("validate-code", 700.0),
            _run("lookup", None, None, status="unavailable"),
            _run("expand-filter-100k", 300.0, p50=30.0),
        ],
        "rate_limited": {"name": "order-sign", "status": "measured", "p99_ms": 12.5, "target_rate": 400.0},
        "scaling": {"runs": [_run("expand-filter@100000", 11.0, p50=30.0)]},
        "targets": [],
    }


def test_targets__met_not_met_and_not_measured() -> None:
    verdicts = {t["name"]: t["met"] for t in report.evaluate_targets(minimal_results())}
    assert verdicts["order-sign throughput / floor"] is True  # 0.8
    assert verdicts["validate-code throughput / floor"] is False  # 0.7
    assert verdicts["lookup throughput / floor"] is None  # not measured is not a pass
    assert verdicts["order-sign p99 at half its maximum rate (ms)"] is True
    # one request at a time (scaling run), not the saturated run
    assert verdicts["$expand filter over 100k concepts p50, one request at a time (ms)"] is False
    assert verdicts["start-up with bundled content and ICD-10-CM (s)"] is True  # 2.4 < 3
    assert verdicts["start-up with bundled content, ICD-10-CM not served (s)"] is False  # 1.6
    assert verdicts["RSS at rest per worker, bundled content (MB)"] is True


def test_write__valid_document_round_trips_and_nan_becomes_null(tmp_path: Path) -> None:
    results = minimal_results()
    results["targets"] = report.evaluate_targets(results)
    results["startup"]["with_bench_content_s"] = float("nan")
    path = report.write(results, tmp_path / "out" / "r.json")
    data = json.loads(path.read_text())
    assert data["startup"]["with_bench_content_s"] is None
    assert report.validate(data) == []
    assert "order-sign" in report.table(data)


def test_write__refuses_a_document_that_breaks_the_schema(tmp_path: Path) -> None:
    results = minimal_results()
    del results["floor"]
    results["endpoints"][0]["status"] = "fast"
    with pytest.raises(ValueError, match="floor") as err:
        report.write(results, tmp_path / "r.json")
    assert "fast" in str(err.value)
    assert not (tmp_path / "r.json").exists()


def test_targets__icd10cm_rows_and_worker_pss() -> None:
    results = minimal_results()
    results["endpoints"].append(_run("validate-code-icd10cm", 760.0))
    results["scaling"]["runs"] += [
        _run("expand-icd10cm-filter", 400.0, p50=2.1),
        _run("expand-icd10cm-isa-filter", 300.0, p50=12.0),
    ]
    verdicts = {t["name"]: t for t in report.evaluate_targets(results)}
    assert verdicts["validate-code-icd10cm throughput / floor"]["met"] is True  # 0.76
    whole = "$expand ICD-10-CM code system, text filter, p50 one request at a time (ms)"
    isa = "$expand ICD-10-CM is-a value set, text filter, p50 one request at a time (ms)"
    assert (verdicts[whole]["met"], verdicts[isa]["met"]) == (True, False)
    pss = "PSS at rest per worker, bundled content with ICD-10-CM (MB)"
    # Not known to have served ICD-10-CM: not measured, not a pass.
    assert verdicts[pss]["met"] is None and verdicts[pss]["value"] is None
    results["memory"]["at_rest_bundled"]["icd10cm_served"] = True
    verdicts = {t["name"]: t for t in report.evaluate_targets(results)}
    assert verdicts[pss]["value"] == 30.0 and verdicts[pss]["met"] is True


def test_icd10cm_endpoints__ask_the_served_code_system() -> None:
    from tools.bench import scenarios

    names = {e.name: e for e in [*scenarios.main_endpoints(), *scenarios.icd10cm_endpoints()]}
    assert "validate-code-icd10cm" in names and names["validate-code-icd10cm"].method == "GET"
    assert "isa%2F19" in names["expand-icd10cm-isa-filter"].path
    assert "filter=fracture" in names["expand-icd10cm-filter"].path
