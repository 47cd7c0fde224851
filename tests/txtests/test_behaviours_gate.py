"""The project's own tx-ecosystem-format test cases (tests/txtests/behaviours, see its README): the
app, served over real HTTP, passes every one of them at /fhir/r5 and at /fhir, with
OperationOutcome.issue.location left out of the comparison as in the pinned gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.txtests.report import suite_table, summary_lines
from tools.txtests.runner import RunOptions, run

BEHAVIOURS = Path(__file__).with_name("behaviours")


def test_behaviour_cases_name_only_committed_files() -> None:
    manifest = json.loads((BEHAVIOURS / "test-cases.json").read_text(encoding="utf-8"))
    named = set()
    for suite in manifest["suites"]:
        named.update(suite.get("setup", []))
        for test in suite["tests"]:
            named.update(test[key] for key in ("request", "response") if key in test)
    assert len(manifest["suites"]) >= 6
    assert sorted(name for name in named if not (BEHAVIOURS / name).is_file()) == []


@pytest.mark.slow
@pytest.mark.parametrize("endpoint", ["/fhir/r5", "/fhir"])
def test_behaviour_cases_all_pass(live_server, capsys, endpoint: str) -> None:
    report = run(
        RunOptions(
            base_url=f"{live_server.url}{endpoint}",
            tests_dir=BEHAVIOURS,
            read_timeout=30,
            time_budget=120,
            ignore_location=True,
        )
    )
    with capsys.disabled():
        print(f"\ntx behaviours against {endpoint}")
        print(suite_table(report))
        print("\n".join(summary_lines(report)))
    failing = [f"{result.id}: {result.detail}" for result in report.results if result.status != "pass"]
    assert report.results and not failing, "\n".join(failing)
