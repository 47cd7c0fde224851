"""An exception nobody expected is a JSON 500 (an OperationOutcome under the FHIR areas) whose body carries
an error id, and the same id is in the log line that holds the traceback; never an HTML page, never the
exception's text. Checked over real HTTP, with hooks registered on the test's own app that raise."""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

import pytest
import requests
from flask import Flask, Response, abort, request

from plugin import security
from plugin.cds_hooks import adapter as adapter_module
from plugin.cds_hooks.adapter import CdsHttpAdapter
from plugin.security import audit, cors
from tests.cds_hooks.stubs import ORDER_SIGN, order_sign, service_request
from tests.conftest import LiveServer

SECRET = "stage-internals-7f3a"  # in the exception only: must reach the log, never the body
FAIL_HEADER = "X-Test-Fail"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

JSON_PATHS = [
    ("GET", "/sandbox/"),
    ("GET", "/sandbox/api/patients"),
    ("POST", "/sandbox/api/request"),
    ("GET", "/"),
]
FHIR_PATHS = [
    ("GET", "/sandbox/fhir/metadata"),
    ("GET", "/sandbox/fhir/Patient"),
    ("GET", "/fhir/metadata"),
    ("GET", "/fhir/r5/ValueSet/$expand"),
]


def signing_request() -> dict[str, Any]:
    return order_sign([service_request("sr-1", "33952")], payer="Aetna")


def raise_when_asked() -> None:
    if request.headers.get(FAIL_HEADER):
        raise RuntimeError(f"failed on purpose: {SECRET}")


def logged_error_ids(caplog: pytest.LogCaptureFixture) -> dict[str, logging.LogRecord]:
    """error id -> the log record that carries it (with its traceback)."""
    found = {}
    for record in caplog.records:
        match = re.search(r"error id ([0-9a-f-]{36})", record.getMessage())
        if match:
            found[match.group(1)] = record
    return found


def assert_logged_with_traceback(caplog: pytest.LogCaptureFixture, error_id: str) -> None:
    record = logged_error_ids(caplog).get(error_id)
    assert record is not None, f"error id {error_id} is not in any log line"
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and SECRET in str(record.exc_info[1])


@pytest.mark.parametrize(("method", "path"), JSON_PATHS)
def test_json_areas__a_raising_hook_gives_a_json_500_with_a_logged_id(
    app: Flask, serve, caplog: pytest.LogCaptureFixture, method: str, path: str
) -> None:
    app.before_request(raise_when_asked)
    server = serve(app)
    caplog.set_level(logging.ERROR)
    reply = requests.request(
        method, server.url + path, json=signing_request(), headers={FAIL_HEADER: "1"}, timeout=10
    )
    assert reply.status_code == 500
    assert reply.headers["Content-Type"] == "application/json"
    body = reply.json()
    assert body["error"] == "internal-error"
    assert UUID.match(body["errorId"])
    assert body["errorId"] in body["message"]
    assert SECRET not in reply.text
    assert_logged_with_traceback(caplog, body["errorId"])


@pytest.mark.parametrize(("method", "path"), FHIR_PATHS)
def test_fhir_areas__a_raising_hook_gives_an_operation_outcome_500_with_a_logged_id(
    app: Flask, serve, caplog: pytest.LogCaptureFixture, method: str, path: str
) -> None:
    app.before_request(raise_when_asked)
    server = serve(app)
    caplog.set_level(logging.ERROR)
    reply = requests.request(method, server.url + path, headers={FAIL_HEADER: "1"}, timeout=10)
    assert reply.status_code == 500
    assert reply.headers["Content-Type"].startswith("application/fhir+json")
    outcome = reply.json()
    assert outcome["resourceType"] == "OperationOutcome"
    (issue,) = outcome["issue"]
    assert (issue["severity"], issue["code"]) == ("error", "exception")
    error_id = issue["diagnostics"].removeprefix("error id ")
    assert UUID.match(error_id)
    assert error_id in issue["details"]["text"]
    assert SECRET not in reply.text
    assert_logged_with_traceback(caplog, error_id)


def test_the_same_routes_without_the_failure__answer_normally(app: Flask, serve) -> None:
    """The hook raises only when asked: what the tests above see is the failure, not a broken route."""
    app.before_request(raise_when_asked)
    server = serve(app)
    for method, path in JSON_PATHS + FHIR_PATHS:
        body = {"scenario": "x", "hook": "order-sign"} if path.endswith("/request") else None
        if path.endswith("/feedback"):
            body = {"feedback": []}
        reply = requests.request(method, server.url + path, json=body, timeout=10)
        assert reply.status_code < 500, (path, reply.status_code, reply.text[:300])


def test_after_request_failure__json_500_with_a_logged_id(
    app: Flask, serve, caplog: pytest.LogCaptureFixture
) -> None:
    """What fails after the view (Flask wraps it in a 500 of its own) is answered the same way."""

    def fail_after(response: Response) -> Response:
        raise_when_asked()
        return response

    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the test app would re-raise
    app.after_request(fail_after)
    server = serve(app)
    caplog.set_level(logging.ERROR)
    reply = requests.get(f"{server.url}/sandbox/api/patients", headers={FAIL_HEADER: "1"}, timeout=10)
    assert reply.status_code == 500
    assert reply.headers["Content-Type"] == "application/json"
    body = reply.json()
    assert SECRET not in reply.text
    assert_logged_with_traceback(caplog, body["errorId"])


# --------------------------------------------------------------------------------------------------
# The service call, answered by the CDS adapter (plugin/cds_hooks/adapter.py)


def hook_endpoint(app: Flask) -> CdsHttpAdapter:
    layer: Any = app.wsgi_app
    while not isinstance(layer, CdsHttpAdapter):
        layer = getattr(layer, "mounted", None) or layer.app
    return layer


class ExplodingRules:
    def evaluate(self, _facts: Any) -> Any:
        raise RuntimeError(f"rule engine failed: {SECRET}")


class ExplodingSink:
    def write(self, _record: dict[str, Any]) -> None:
        raise RuntimeError(f"audit sink failed: {SECRET}")


def call_service(server: LiveServer) -> requests.Response:
    return requests.post(f"{server.url}/cds-services/{ORDER_SIGN}", json=signing_request(), timeout=10)


def assert_json_500(reply: requests.Response, caplog: pytest.LogCaptureFixture) -> None:
    assert reply.status_code == 500
    assert reply.headers["Content-Type"] == "application/json"
    assert int(reply.headers["Content-Length"]) == len(reply.content)
    body = reply.json()
    assert body["error"] == "internal-error" and UUID.match(body["errorId"])
    assert SECRET not in reply.text
    assert_logged_with_traceback(caplog, body["errorId"])


def test_service_call__failing_stage_gives_a_json_500_with_a_logged_id(
    app: Flask, serve, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = hook_endpoint(app)
    server = serve(app)
    assert call_service(server).status_code == 200  # the request reaches the rules
    endpoint.cds = dataclasses.replace(endpoint.cds, rules=ExplodingRules())  # type: ignore[arg-type]
    caplog.set_level(logging.ERROR)
    assert_json_500(call_service(server), caplog)


def test_service_call__failure_after_the_answer_gives_a_json_500_with_a_logged_id(
    app: Flask, serve, caplog: pytest.LogCaptureFixture
) -> None:
    app.extensions[audit.EXTENSION_KEY] = ExplodingSink()
    server = serve(app)
    caplog.set_level(logging.ERROR)
    assert_json_500(call_service(server), caplog)


def fail(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError(f"failed on purpose: {SECRET}")


@pytest.mark.parametrize(
    ("method", "path", "target"),
    [
        ("GET", "/cds-services", (security, "authenticate")),  # the gate
        ("POST", f"/cds-services/{ORDER_SIGN}/feedback", (adapter_module, "accept_feedback")),  # dispatch
        ("GET", "/cds-services", (cors, "cors_headers")),  # CORS
    ],
)
def test_cds_adapter__a_failing_step_gives_a_json_500_with_a_logged_id(
    app: Flask, serve, caplog: pytest.LogCaptureFixture, monkeypatch, method: str, path: str, target: Any
) -> None:
    server = serve(app)
    monkeypatch.setattr(*target, fail)
    caplog.set_level(logging.ERROR)
    item = {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T15:05:31Z"}
    feedback = {"feedback": [item]}
    reply = requests.request(method, server.url + path, json=feedback, timeout=10)
    assert_json_500(reply, caplog)


@pytest.mark.parametrize(
    ("path", "fhir"),
    [("/sandbox/api/patients", False), ("/sandbox/fhir/metadata", True)],
)
def test_werkzeug_http_error_in_an_area__json_of_that_area(app: Flask, serve, path: str, fhir: bool) -> None:
    """An HTTP error werkzeug raises (here a 400 from a hook) is rendered in the area's dialect."""

    def refuse_when_asked() -> None:
        if request.headers.get(FAIL_HEADER):
            abort(400, "the test asked for a 400")

    app.before_request(refuse_when_asked)
    server = serve(app)
    reply = requests.get(server.url + path, headers={FAIL_HEADER: "1"}, timeout=10)
    assert reply.status_code == 400
    if fhir:
        assert reply.headers["Content-Type"].startswith("application/fhir+json")
        assert reply.json()["issue"][0]["details"]["text"] == "the test asked for a 400"
    else:
        assert reply.headers["Content-Type"] == "application/json"
        assert reply.json() == {"error": "bad-request", "message": "the test asked for a 400"}
