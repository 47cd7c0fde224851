"""The conformance gate: the app, served over real HTTP, must pass at least as many tests of the
pinned HL7 terminology ecosystem suite as tests/txtests/baseline.json records. That number only
ever goes up: raise it when the server passes more."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugin.txtests.report import suite_table, summary_lines
from plugin.txtests.runner import RunOptions, run

BASELINE = Path(__file__).with_name("baseline.json")
TIME_BUDGET_SECONDS = 600  # well inside CI's 20 minutes; the suite is about 450 calls


@pytest.mark.slow
def test_conformance_gate__pinned_suite_pass_count_never_drops(live_server, pinned_tests_dir, capsys) -> None:
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    report = run(
        RunOptions(
            base_url=f"{live_server.url}/fhir/r5",
            tests_dir=pinned_tests_dir,
            read_timeout=30,
            time_budget=TIME_BUDGET_SECONDS,
        )
    )

    with capsys.disabled():
        print(f"\n{baseline['suite']} against /fhir/r5 ({report.duration_ms / 1000:.1f} s)")
        print(suite_table(report))
        print("\n".join(summary_lines(report)))
        if report.passed > baseline["passed"]:
            print(f"the server now passes {report.passed}: raise 'passed' in {BASELINE.name} to keep it")

    assert len(report.results) == baseline["total"], "the pinned suite changed; re-pin it and its baseline"
    assert report.passed >= baseline["passed"], (
        f"{report.passed} of {baseline['total']} tx-ecosystem tests pass, "
        f"fewer than the {baseline['passed']} recorded in {BASELINE.name}"
    )
