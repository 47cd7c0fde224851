"""`cpt-plugin txtests`: run the HL7 terminology ecosystem tests against a terminology server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugin.config import PROJECT_ROOT

# The pinned HL7 suite the repository carries for its own conformance gate; found beside the source
# tree, so the command works from any directory of a checkout. An installed copy has no tests/
# folder: there --tests-dir names one.
DEFAULT_TESTS_DIR = PROJECT_ROOT / "tests" / "data" / "tx-ecosystem"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "txtests",
        help="run the HL7 terminology ecosystem tests (tx-ecosystem IG) against a terminology server",
        description=(
            "Runs the tests of a tx-ecosystem test-cases.json folder against a FHIR terminology server, "
            "the way the official HL7 runner does, and prints one line per failing test and a closing "
            "'N passed, M failed'. Exit status 0 when every selected test passes, 1 otherwise, "
            "2 on bad usage."
        ),
    )
    parser.add_argument(
        "--url", required=True, help="base URL of the server, e.g. http://127.0.0.1:8080/fhir/r5"
    )
    parser.add_argument(
        "--tests-dir",
        type=Path,
        default=DEFAULT_TESTS_DIR,
        help="folder holding test-cases.json (default: tests/data/tx-ecosystem of the source tree)",
    )
    parser.add_argument(
        "--suite", action="append", default=[], metavar="NAME", help="only this suite (repeatable)"
    )
    parser.add_argument(
        "--test",
        action="append",
        default=[],
        metavar="NAME",
        help="only this test, NAME or SUITE/NAME (repeatable)",
    )
    parser.add_argument("--filter", metavar="TEXT", help="only tests whose name contains TEXT")
    parser.add_argument(
        "--mode",
        action="append",
        metavar="MODE",
        help="test mode to select (repeatable; default: general). Others: tx.fhir.org, snomed, flat, ...",
    )
    parser.add_argument(
        "--externals",
        type=Path,
        metavar="FILE",
        help="external message strings, e.g. messages-tx.fhir.org.json",
    )
    parser.add_argument(
        "--test-version",
        metavar="VERSION",
        help="version of the test cases (reported; tests carrying a 'version' run only when it matches)",
    )
    parser.add_argument("--report", type=Path, metavar="FILE", help="write a JSON report to FILE")
    parser.add_argument(
        "--actual-dir",
        type=Path,
        metavar="DIR",
        help="write expected/ and actual/ JSON of failing tests under DIR",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, metavar="SECONDS", help="read timeout per call (60)"
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="stop calling the server after SECONDS; tests not run by then count as errors",
    )
    parser.add_argument(
        "--no-cache-control",
        action="store_true",
        help="always send the setup as tx-resource, even if the server offers $cache-control",
    )
    parser.add_argument(
        "--ignore-location",
        action="store_true",
        help="leave OperationOutcome.issue.location out of the comparison (expected and actual)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="also list passing and skipped tests")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # The runner is a tool beside the product (tools/txtests), not part of the `plugin` package: it
    # is importable from a source checkout or an install that carries it.
    try:
        from tools.txtests.client import ServerInfo
        from tools.txtests.manifest import ManifestError
        from tools.txtests.report import result_line, suite_table, summary_lines, write_report
        from tools.txtests.runner import RunOptions, TxResult
        from tools.txtests.runner import run as run_tests
    except ImportError as err:
        print(
            f"txtests: the test runner is not installed ({err}). Install the project from its source "
            "checkout (pip install -e '.[txtests]') or run from the checkout's root folder.",
            file=sys.stderr,
        )
        return 2

    if not args.url.startswith(("http://", "https://")):
        print(f"txtests: --url must be an http(s) URL, not {args.url!r}", file=sys.stderr)
        return 2
    options = RunOptions(
        base_url=args.url,
        tests_dir=args.tests_dir,
        modes=tuple(args.mode or ["general"]),
        suites=frozenset(args.suite),
        tests=frozenset(args.test),
        filter=args.filter,
        externals=args.externals,
        test_version=args.test_version,
        read_timeout=args.timeout,
        cache_control=not args.no_cache_control,
        actual_dir=args.actual_dir,
        time_budget=args.time_budget,
        ignore_location=args.ignore_location,
    )

    def show(result: TxResult) -> None:
        line = result_line(result, args.verbose)
        if line:
            print(line, flush=True)

    def announce(server: ServerInfo) -> None:
        if server.unreachable:
            print(f"txtests: server unreachable: {server.unreachable}", file=sys.stderr)
        elif server.version_source == "default":
            print(
                "txtests: the server reported no FHIR version ($versions and metadata failed); "
                "talking FHIR R4 to it, as the official runner does",
                file=sys.stderr,
            )
        elif args.verbose:
            name = " ".join(server.software.get(k, "") for k in ("name", "version")).strip() or "server"
            print(f"{name}: FHIR {server.reported_version} (from {server.version_source})")

    try:
        report = run_tests(options, on_result=show, on_server=announce)
    except ManifestError as err:
        print(f"txtests: {err}", file=sys.stderr)
        return 2
    if not report.results:
        print("txtests: no test matched the selection", file=sys.stderr)
        return 2
    if args.verbose:
        print(suite_table(report))
    if args.report:
        try:
            write_report(report, args.report)
        except OSError as err:
            print(f"txtests: cannot write the report: {err}", file=sys.stderr)
    for line in summary_lines(report):
        print(line)
    return 0 if report.ok else 1
