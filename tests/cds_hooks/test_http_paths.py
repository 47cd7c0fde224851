"""Paths over real HTTP: doubled slashes are served as the single-slash path (a discovery URL given with a
trailing slash makes the stock CDS Hooks Sandbox POST to /cds-services//{id}), and every unknown path or
wrong method under /cds-services, /fhir, /fhir/r5, /sandbox/fhir and /sandbox/api is answered in JSON
of that area's dialect, a 405 with an Allow header."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from plugin.app import create_app
from plugin.http import collapse_slashes
from tests.cds_hooks.conftest import cds_settings
from tests.cds_hooks.stubs import ORDER_SIGN, order_sign, service_request
from tests.conftest import LiveServer


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send(server: LiveServer, method: str, path: str, body: Any = None, **headers: str) -> Reply:
    """One request with the path exactly as written (http.client sends it untouched)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def signing_request() -> dict[str, Any]:
    return order_sign([service_request("sr-1", "33952")], payer="Aetna")


# --------------------------------------------------------------------------------------------------
# Doubled slashes


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/cds-services//svc", "/cds-services/svc"),
        ("/cds-services///svc//feedback", "/cds-services/svc/feedback"),
        ("/cds-services//", "/cds-services/"),
        ("//cds-services/svc", "/cds-services/svc"),
        ("/fhir//r5//metadata", "/fhir/r5/metadata"),
        ("/fhir//ValueSet/$expand", "/fhir/ValueSet/$expand"),
        ("/sandbox//api/patients", None),  # not an API area: taken as sent
        ("/fhirx//metadata", None),
        ("/cds-servicesx//a", None),
    ],
)
def test_collapse_slashes__only_under_the_api_areas(path: str, expected: str | None) -> None:
    assert collapse_slashes(path) == expected


def test_doubled_slash__discovery_call_and_feedback_served(live_server: LiveServer) -> None:
    # What a client does with the discovery URL "<base>/cds-services/": it appends "/{id}".
    discovery = send(live_server, "GET", "/cds-services//")
    assert discovery.status == 200, discovery.body
    assert ORDER_SIGN in {s["id"] for s in discovery.json()["services"]}

    called = send(live_server, "POST", f"/cds-services//{ORDER_SIGN}", signing_request())
    assert called.status == 200, called.body
    assert called.headers["Content-Type"] == "application/json"
    cards = called.json()["cards"]
    assert cards, "the call was served by the service, not by an error path"

    feedback = {
        "feedback": [
            {"card": cards[0]["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-25T15:05:31Z"}
        ]
    }
    answered = send(live_server, "POST", f"/cds-services//{ORDER_SIGN}//feedback", feedback)
    assert answered.status == 200, answered.body
    assert answered.json() == {}


def test_doubled_slash__service_call_errors_are_the_call_s_own(live_server: LiveServer) -> None:
    """The doubled-slash call goes through the same validation as the plain one (not a routing 405)."""
    reply = send(live_server, "POST", f"/cds-services//{ORDER_SIGN}", {"hook": "order-sign"})
    assert reply.status == 400
    assert reply.json()["error"] == "invalid-request"


def test_doubled_slash__fhir_paths_served(live_server: LiveServer) -> None:
    r4 = send(live_server, "GET", "/fhir//metadata")
    assert r4.status == 200 and r4.json()["fhirVersion"] == "4.0.1"
    r5 = send(live_server, "GET", "//fhir//r5///metadata")
    assert r5.status == 200 and r5.json()["fhirVersion"] == "5.0.0"


# --------------------------------------------------------------------------------------------------
# JSON for unknown paths and wrong methods

CDS_ERRORS = [
    ("DELETE", "/cds-services", 405, {"GET"}),
    ("POST", "/cds-services", 405, {"GET"}),
    ("PUT", "/cds-services/", 405, {"GET"}),
    ("GET", f"/cds-services/{ORDER_SIGN}", 405, {"POST"}),
    ("PUT", f"/cds-services/{ORDER_SIGN}", 405, {"POST"}),
    ("PATCH", f"/cds-services/{ORDER_SIGN}", 405, {"POST"}),
    ("DELETE", f"/cds-services/{ORDER_SIGN}", 405, {"POST"}),
    ("GET", f"/cds-services/{ORDER_SIGN}/feedback", 405, {"POST"}),
    ("DELETE", f"/cds-services//{ORDER_SIGN}/feedback", 405, {"POST"}),
    ("GET", "/cds-services/a/b/c", 404, None),
    ("POST", f"/cds-services/{ORDER_SIGN}/feedback/extra", 404, None),
    ("POST", f"/cds-services/{ORDER_SIGN}/other", 404, None),
    ("PUT", f"/cds-services/{ORDER_SIGN}/other", 404, None),
    ("GET", "/cds-services/no-such-service", 404, None),
    ("POST", "/cds-services/no-such-service", 404, None),
    ("POST", "/cds-services/no-such-service/feedback", 404, None),
    ("GET", "/sandbox/api/no-such-thing", 404, None),
    ("GET", "/sandbox/api/request", 405, {"POST"}),
    ("DELETE", "/sandbox/api/patients", 405, {"GET"}),
]

FHIR_ERRORS = [
    ("GET", "/fhir", 404, None),
    ("GET", "/fhir/no-such-thing", 404, None),
    ("GET", "/fhir/ValueSet/x/y/z", 404, None),
    ("DELETE", "/fhir/metadata", 405, {"GET"}),
    ("POST", "/fhir/metadata", 405, {"GET"}),
    ("PUT", "/fhir/ValueSet/$expand", 405, {"GET", "POST"}),
    ("DELETE", "/fhir/CodeSystem", 405, {"GET"}),
    ("GET", "/fhir/r5/no-such-thing", 404, None),
    ("PATCH", "/fhir/r5/metadata", 405, {"GET"}),
    ("DELETE", "/fhir/r5/ConceptMap/$translate", 405, {"GET", "POST"}),
    ("GET", "/sandbox/fhir/Patient/a/b/c", 404, None),
    ("DELETE", "/sandbox/fhir/metadata", 405, {"GET"}),
]


def assert_allow(reply: Reply, method: str, allowed: set[str] | None) -> None:
    if allowed is None:
        assert "Allow" not in reply.headers
        return
    listed = {m.strip() for m in reply.headers["Allow"].split(",")}
    assert allowed <= listed, listed
    assert method not in listed


@pytest.mark.parametrize(("method", "path", "status", "allowed"), CDS_ERRORS)
def test_cds_and_sandbox_api__errors_are_json(
    live_server: LiveServer, method: str, path: str, status: int, allowed: set[str] | None
) -> None:
    body = signing_request() if method in ("POST", "PUT", "PATCH") else None
    reply = send(live_server, method, path, body)
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"] == "application/json"
    error = reply.json()
    assert set(error) >= {"error", "message"}
    assert isinstance(error["error"], str) and error["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert_allow(reply, method, allowed)


@pytest.mark.parametrize(("method", "path", "status", "allowed"), FHIR_ERRORS)
def test_fhir_areas__errors_are_operation_outcomes(
    live_server: LiveServer, method: str, path: str, status: int, allowed: set[str] | None
) -> None:
    body = {"resourceType": "Parameters"} if method in ("POST", "PUT", "PATCH") else None
    reply = send(live_server, method, path, body)
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"].startswith("application/fhir+json")
    outcome = reply.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "error"
    assert outcome["issue"][0]["details"]["text"]
    assert_allow(reply, method, allowed)


def test_unknown_cds_path__message_lists_the_routes(live_server: LiveServer) -> None:
    reply = send(live_server, "GET", "/cds-services/a/b/c")
    assert reply.json()["error"] == "not-found"
    assert "POST /cds-services/{id}" in reply.json()["message"]


def test_cds_service_off__its_paths_still_answer_json(tmp_path: Path, serve) -> None:
    app = create_app(cds_settings(tmp_path, content={"cds_hooks": ""}))
    server = serve(app)
    for method, path in (("GET", "/cds-services"), ("POST", f"/cds-services/{ORDER_SIGN}")):
        body = signing_request() if method == "POST" else None
        reply = send(server, method, path, body)
        assert reply.status == 404, reply.body
        assert reply.headers["Content-Type"] == "application/json"
        assert "[content] cds_hooks" in reply.json()["message"]
