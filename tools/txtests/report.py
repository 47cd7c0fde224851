"""What a run prints and writes: one line per failing test, a closing `N passed, M failed`, a
per-suite table, and the JSON report."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from plugin.version import __version__
from tools.txtests.runner import RunReport, TxResult

MAX_LINE_DETAIL = 400


def _clip(text: str, limit: int = MAX_LINE_DETAIL) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def result_line(result: TxResult, verbose: bool = False) -> str | None:
    """The console line for one test: always for failures and errors, with -v for the rest."""
    if result.status == "fail":
        return f"FAIL {result.id}: {_clip(result.detail)}"
    if result.status == "error":
        return f"ERROR {result.id}: {_clip(result.detail)}"
    if not verbose:
        return None
    if result.status == "pass":
        warn = f" (warnings: {', '.join(sorted(set(result.warnings)))})" if result.warnings else ""
        return f"PASS {result.id} ({result.elapsed_ms} ms){warn}"
    return f"SKIP {result.id}: {result.detail}"


def summary_lines(report: RunReport) -> list[str]:
    """The closing lines; the last one is exactly `N passed, M failed`."""
    lines = []
    skipped = [r for r in report.results if r.status == "skipped"]
    if skipped:
        reasons = Counter(r.message or "skipped" for r in skipped)
        why = "; ".join(
            f"{n} {reason}" if len(reasons) > 1 else reason for reason, n in reasons.most_common()
        )
        lines.append(f"{len(skipped)} skipped ({why})")
    errors = report.count("error")
    if errors:
        lines.append(f"{errors} of the failures are errors (no usable answer, or broken test files)")
    lines.append(f"{report.passed} passed, {report.failed} failed")
    return lines


def suite_table(report: RunReport) -> str:
    rows = [("suite", "passed", "failed", "errors", "skipped")]
    for name, counts in report.per_suite().items():
        rows.append(
            (name, str(counts["pass"]), str(counts["fail"]), str(counts["error"]), str(counts["skipped"]))
        )
    rows.append(
        (
            "total",
            str(report.passed),
            str(report.count("fail")),
            str(report.count("error")),
            str(report.skipped),
        )
    )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in rows
    )


def _result_json(result: TxResult) -> dict[str, Any]:
    return {
        "suite": result.suite,
        "name": result.name,
        "operation": result.operation,
        "status": result.status,
        "difference": (
            {"path": result.difference.path, "message": result.difference.message}
            if result.difference
            else None
        ),
        "message": result.message,
        "http_status": result.http_status,
        "elapsed_ms": result.elapsed_ms,
        "method": result.method,
        "url": result.url,
        "response_file": result.response_file,
        "warnings": result.warnings,
    }


def report_json(report: RunReport) -> dict[str, Any]:
    server = report.server
    options = report.options
    return {
        "runner": {"name": "cpt-plugin txtests", "version": __version__},
        "started": report.started,
        "duration_ms": report.duration_ms,
        "server": {
            "base": options.base_url,
            "fhir_version": server.fhir_version if server else None,
            "reported_fhir_version": server.reported_version if server else None,
            "version_source": server.version_source if server else None,
            "software": (server.software or None) if server else None,
            "unreachable": server.unreachable if server else None,
        },
        "test_cases": {
            "folder": str(report.manifest.folder),
            "version": options.test_version or report.manifest.version,
            "sha256": report.manifest.sha256,
            "suites": len(report.manifest.suites),
            "tests": report.manifest.total_tests,
        },
        "selection": {
            "modes": list(options.modes),
            "suites": sorted(options.suites),
            "tests": sorted(options.tests),
            "filter": options.filter,
            "externals": str(options.externals) if options.externals else None,
        },
        "totals": {
            "selected": len(report.results),
            "passed": report.passed,
            "failed": report.count("fail"),
            "errors": report.count("error"),
            "skipped": report.skipped,
        },
        "suites": [{"name": name, **counts} for name, counts in report.per_suite().items()],
        "tests": [_result_json(r) for r in report.results],
    }


def write_report(report: RunReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report_json(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
