"""The conformance gate: the app, served over real HTTP, must pass at least as many tests of the
pinned HL7 terminology ecosystem suite as tests/txtests/baseline.json records, at its R5 endpoint
(/fhir/r5) and at its R4 endpoint (/fhir, which the runner talks to as the official runner talks to
an R4 server: R5 -> R4 requests, R4 -> R5 responses). Those numbers only ever go up: raise them
when the server passes more.

OperationOutcome.issue.location is left out of the comparison (`--ignore-location`): FHIR
deprecates it in favour of `expression`, which every issue carries, and the tx-ecosystem expected
files disagree about it (docs/tx-behaviours.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.txtests.report import suite_table, summary_lines
from tools.txtests.runner import RunOptions, run

BASELINE = Path(__file__).with_name("baseline.json")
TIME_BUDGET_SECONDS = 600  # well inside CI's 20 minutes; the suite is about 450 calls
ENDPOINTS = {"r5": "/fhir/r5", "r4": "/fhir"}


@pytest.mark.slow
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_conformance_gate__pinned_suite_pass_count_never_drops(
    live_server, pinned_tests_dir, capsys, endpoint: str
) -> None:
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    floor = baseline["passed"][endpoint]
    report = run(
        RunOptions(
            base_url=f"{live_server.url}{ENDPOINTS[endpoint]}",
            tests_dir=pinned_tests_dir,
            read_timeout=30,
            time_budget=TIME_BUDGET_SECONDS,
            ignore_location=True,
        )
    )

    with capsys.disabled():
        print(f"\n{baseline['suite']} against {ENDPOINTS[endpoint]} ({report.duration_ms / 1000:.1f} s)")
        print(suite_table(report))
        print("\n".join(summary_lines(report)))
        if report.passed > floor:
            print(f"the server now passes {report.passed}: raise passed.{endpoint} in {BASELINE.name}")

    assert len(report.results) == baseline["total"], "the pinned suite changed; re-pin it and its baseline"
    assert report.passed >= floor, (
        f"{report.passed} of {baseline['total']} tx-ecosystem tests pass at {ENDPOINTS[endpoint]}, "
        f"fewer than the {floor} recorded in {BASELINE.name}"
    )
