"""Run a tx-ecosystem test folder against a terminology server (TxTester.execute / runTest).

For each selected test: the request gets every suite setup resource as a `tx-resource` parameter
(or, when the server advertises `$cache-control`, the setup is loaded once per suite and named by
`X-Cache-Id`), then the profile's parameters; the headers are set; the operation is called; the
response is scrubbed, sorted and compared with the expected file; the HTTP status class is checked
against `http-code`. A test is `pass`, `fail` (a difference), `error` (the server could not be
asked or answered something unusable, or the test files are broken) or `skipped` (mode, version,
disabled).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.txtests import fhirjson
from tools.txtests.client import OPERATIONS, ServerInfo, TxClient
from tools.txtests.compare import Comparator, Difference, TemplateError
from tools.txtests.convert import resource_r4_to_r5, resource_r5_to_r4
from tools.txtests.manifest import (
    Manifest,
    ManifestError,
    Selection,
    Suite,
    TxTest,
    load_manifest,
    skip_reason,
)
from tools.txtests.scrub import scrub_resource, without_issue_locations
from tools.txtests.sort import sort_resource

Json = Any

URI_TYPES = ("valueUri", "valueUrl", "valueCanonical", "valueOid", "valueUuid")
HTTP_CLASSES = {"2xx": (200, 300), "3xx": (300, 400), "4xx": (400, 500), "5xx": (500, 600)}


@dataclass(frozen=True)
class RunOptions:
    base_url: str
    tests_dir: Path
    modes: tuple[str, ...] = ("general",)
    suites: frozenset[str] = frozenset()
    tests: frozenset[str] = frozenset()
    filter: str | None = None
    externals: Path | None = None
    test_version: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    cache_control: bool = True
    actual_dir: Path | None = None
    time_budget: float | None = None  # seconds; tests not started by then are reported as errors
    # Leave OperationOutcome.issue.location out of the comparison, in expected and actual alike.
    ignore_location: bool = False


@dataclass
class TxResult:
    suite: str
    name: str
    operation: str
    status: str  # pass | fail | error | skipped
    difference: Difference | None = None
    message: str | None = None
    http_status: int | None = None
    elapsed_ms: int = 0
    warnings: list[str] = field(default_factory=list)
    method: str | None = None
    url: str | None = None
    response_file: str | None = None

    @property
    def id(self) -> str:
        return f"{self.suite}/{self.name}"

    @property
    def detail(self) -> str:
        """The one-line reason of a failure or error (or skip)."""
        if self.difference is not None:
            return str(self.difference)
        return self.message or ""


@dataclass
class RunReport:
    options: RunOptions
    manifest: Manifest
    server: ServerInfo | None
    results: list[TxResult]
    started: str
    duration_ms: int = 0

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def passed(self) -> int:
        return self.count("pass")

    @property
    def failed(self) -> int:
        """Failures and errors: both are tests the server did not pass."""
        return self.count("fail") + self.count("error")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.passed > 0

    def per_suite(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}
        for r in self.results:
            row = table.setdefault(r.suite, {"pass": 0, "fail": 0, "error": 0, "skipped": 0})
            row[r.status] += 1
        return table


class _Context:
    def __init__(self, options: RunOptions, manifest: Manifest, client: TxClient, server: ServerInfo) -> None:
        self.options = options
        self.manifest = manifest
        self.client = client
        self.server = server
        self.modes = list(options.modes)
        self.externals: dict[str, Any] | None = None
        self.deadline = time.monotonic() + options.time_budget if options.time_budget else None

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline


def _load_externals(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = fhirjson.load_file(path)
    except (OSError, ValueError) as err:
        raise ManifestError(f"cannot read the externals file {path}: {err}") from None
    if not isinstance(data, dict):
        raise ManifestError(f"the externals file {path} is not a JSON object")
    return data


def run(
    options: RunOptions,
    on_result: Callable[[TxResult], None] | None = None,
    on_server: Callable[[ServerInfo], None] | None = None,
) -> RunReport:
    """Run the selected tests, calling `on_server` once the server is known and `on_result` after
    each test. Raises ManifestError when the test folder itself cannot be used."""
    manifest = load_manifest(options.tests_dir)
    externals = _load_externals(options.externals)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.monotonic()
    selection = Selection(options.suites, options.tests, options.filter)
    client = TxClient(
        options.base_url, connect_timeout=options.connect_timeout, read_timeout=options.read_timeout
    )
    results: list[TxResult] = []
    server: ServerInfo | None = None

    def emit(result: TxResult) -> None:
        results.append(result)
        if on_result:
            on_result(result)

    try:
        server = client.negotiate()
        if on_server:
            on_server(server)
        ctx = _Context(options, manifest, client, server)
        ctx.externals = externals
        for suite in manifest.suites:
            if selection.wants_suite(suite):
                _run_suite(ctx, suite, [t for t in suite.tests if selection.wants_test(t)], emit)
    finally:
        client.close()
    report = RunReport(options, manifest, server, results, started)
    report.duration_ms = round((time.monotonic() - clock) * 1000)
    return report


def _run_suite(ctx: _Context, suite: Suite, tests: list[TxTest], emit: Callable[[TxResult], None]) -> None:
    suite_reason = skip_reason(suite.spec, ctx.modes, ctx.options.test_version)
    runnable = []
    for test in tests:
        reason = suite_reason or skip_reason(test.spec, ctx.modes, ctx.options.test_version)
        if reason:
            emit(TxResult(suite.name, test.name, test.operation, "skipped", message=reason))
        else:
            runnable.append(test)
    if not runnable:
        return

    problem = _server_problem(ctx.server)
    setup: list[Json] = []
    if problem is None:
        try:
            setup = [ctx.manifest.load(name) for name in suite.setup]
        except ManifestError as err:
            problem = f"suite setup: {err}"
    if problem is not None:
        for test in runnable:
            emit(TxResult(suite.name, test.name, test.operation, "error", message=problem))
        return

    cache_id = None
    if ctx.options.cache_control and setup and ctx.server.supports_cache_control():
        sent = [resource_r5_to_r4(r) for r in setup] if ctx.server.is_r4 else setup
        cache_id, _ = ctx.client.cache_start(sent, {"X-Request-Id": f"txTests:{suite.name}/setup"})
    try:
        for test in runnable:
            if ctx.out_of_time():
                budget = f"time budget of {ctx.options.time_budget:g} s used up before this test"
                emit(TxResult(suite.name, test.name, test.operation, "error", message=budget))
            else:
                emit(_run_test(ctx, suite, test, setup, cache_id))
    finally:
        if cache_id:
            ctx.client.cache_end(cache_id)


def _server_problem(server: ServerInfo) -> str | None:
    if server.unreachable:
        return f"server unreachable: {server.unreachable}"
    if server.fhir_version[:1] not in ("4", "5"):
        return f"unsupported FHIR version for terminology tests: {server.reported_version}"
    return None


def _run_test(ctx: _Context, suite: Suite, test: TxTest, setup: list[Json], cache_id: str | None) -> TxResult:
    result = TxResult(suite.name, test.name, test.operation, "error")
    started = time.monotonic()
    actual: Json = None
    expected: Json = None
    try:
        result.response_file = test.choose("response", ctx.modes)
        if result.response_file is None:
            raise ManifestError("the test names no response file")
        expected = ctx.manifest.load(result.response_file)
        if ctx.options.ignore_location:
            expected = without_issue_locations(expected)
        ext = ctx.externals.get(result.response_file) if ctx.externals is not None else None
        comparator = Comparator(
            ctx.modes, ext if isinstance(ext, dict) else None, {"version": ctx.server.fhir_version}
        )
        if test.operation in ("metadata", "term-caps"):
            actual, error = _capabilities(ctx.server, test.operation)
            if error:
                result.message = error
                return result
            result.http_status = 200
            sort_resource(actual)
            comparator.pattern_mode = True
            result.difference = comparator.compare(expected, actual)
        else:
            actual = _call(ctx, suite, test, setup, cache_id, result)
            if actual is None:
                return result
            if ctx.options.ignore_location:
                actual = without_issue_locations(actual)
            result.difference = comparator.compare(expected, actual)
            low, high = _http_class(test.http_code)
            if not low <= (result.http_status or 0) < high:
                content = f"; content: {result.difference}" if result.difference else ""
                result.difference = Difference(
                    "HTTP status", f"expected {test.http_code}, got {result.http_status}{content}"
                )
        result.warnings = list(comparator.warnings)
        result.status = "fail" if result.difference else "pass"
    except (ManifestError, TemplateError) as err:
        result.message = f"test files: {err}"
    except Exception as err:  # a broken response must never stop the run
        result.message = f"{type(err).__name__}: {err}"
    finally:
        result.elapsed_ms = round((time.monotonic() - started) * 1000)
        if ctx.options.actual_dir and result.status != "pass" and result.response_file:
            _save(ctx.options.actual_dir, result.response_file, expected, actual)
    return result


def _http_class(code: str) -> tuple[int, int]:
    if code not in HTTP_CLASSES:
        raise ManifestError(f"unknown http-code '{code}'")
    return HTTP_CLASSES[code]


def _capabilities(server: ServerInfo, operation: str) -> tuple[Json, str | None]:
    if operation == "metadata":
        resource, error = server.capabilities, server.capabilities_error
    else:
        resource, error = server.terminology_capabilities, server.terminology_capabilities_error
    if resource is None:
        return None, error or "no capability statement"
    resource = copy.deepcopy(resource)
    if server.is_r4:
        resource = resource_r4_to_r5(resource)
    return resource, None


def build_request(operation: str, request: Json, setup: list[Json], profile: Json) -> Json:
    """The request body: the test's request, then the setup as tx-resource, then the profile."""
    extra = [p for p in (profile or {}).get("parameter", []) if isinstance(p, dict)]
    body = copy.deepcopy(request)
    if operation == "batch":
        entries = [
            e for e in body.get("entry", []) if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        ]
        if entries:
            first = entries[0]["resource"].setdefault("parameter", [])
            first.extend({"name": "tx-resource", "resource": r} for r in setup)
        for entry in entries:
            entry["resource"].setdefault("parameter", []).extend(copy.deepcopy(extra))
        return body
    params = body.setdefault("parameter", [])
    params.extend({"name": "tx-resource", "resource": r} for r in setup)
    if operation == "expand":
        # TxTester refuses an expand whose url is not a uri (or a type derived from uri).
        for p in params:
            if p.get("name") == "url" and not any(k in p for k in URI_TYPES):
                raise ManifestError("the request has a 'url' parameter that is not a uri")
    params.extend(copy.deepcopy(extra))
    return body


def _call(
    ctx: _Context, suite: Suite, test: TxTest, setup: list[Json], cache_id: str | None, result: TxResult
) -> Json:
    if test.operation not in OPERATIONS and test.operation != "batch":
        result.message = f"operation '{test.operation}' is not supported by this runner"
        return None
    request_file = test.choose("request", ctx.modes)
    if request_file is None:
        raise ManifestError("the test names no request file")
    request = ctx.manifest.load(request_file)
    if not isinstance(request, dict):
        raise ManifestError(f"{request_file} is not a FHIR resource")
    profile = ctx.manifest.load(test.profile)
    body = build_request(test.operation, request, [] if cache_id else setup, profile)
    if ctx.server.is_r4:
        body = resource_r5_to_r4(body)

    headers = {"X-Request-Id": f"txTests:{suite.name}/{test.name}"}
    language = test.spec.get("Accept-Language")
    if isinstance(language, str) and language:
        headers["Accept-Language"] = language
    header = test.spec.get("header")
    # As TxTester: a custom header is only sent when it names a mode that is selected.
    if isinstance(header, dict) and header.get("mode") in ctx.modes and header.get("name"):
        headers[str(header["name"])] = str(header.get("value", ""))
    if cache_id:
        headers["X-Cache-Id"] = cache_id

    answer = ctx.client.operation(test.operation, body, headers)
    result.method, result.url, result.http_status = answer.method, answer.url, answer.status
    if answer.error:
        target = (
            answer.url[len(ctx.client.base) + 1 :] if answer.url.startswith(ctx.client.base) else answer.url
        )
        result.message = f"{answer.method} {target.split('?')[0] or '/'}: {answer.error}"
        return None
    actual = answer.body
    if ctx.server.is_r4:
        actual = resource_r4_to_r5(actual)
    scrub_resource(actual)
    sort_resource(actual)
    return actual


def _save(folder: Path, name: str, expected: Json, actual: Json) -> None:
    """Keep what was compared, as the Java runner's actual/ and expected/ folders."""
    for kind, value in (("expected", expected), ("actual", actual)):
        if value is None:
            continue
        path = folder / kind / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(fhirjson.dumps(value, pretty=True) + "\n", encoding="utf-8")
        except OSError:
            pass
