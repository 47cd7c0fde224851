"""/openapi.json documents the whole HTTP surface: every route (Flask's and the CDS adapter's) with its
methods, every documented method answers, requests generated from it as valid are mostly accepted,
and generated requests get no 5xx and answers that conform to it (a small in-process sample;
`make fuzz` runs 10,000+ against gunicorn)."""

from __future__ import annotations

import atexit
import logging
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from plugin.app import create_app
from plugin.cds_hooks.adapter import routes as cds_routes
from tests.conftest import test_settings as base_settings
from tests.fuzz.acceptance import measure

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Flask's own /static route: the app has no static folder, so nothing is served there.
UNDOCUMENTED_ENDPOINTS = {"static"}
METHODS = ("get", "post", "put", "patch", "delete")


def make_app(tmp_path: Path) -> Flask:
    settings_ = base_settings(tmp_path)
    settings_["audit"] = {"log": "off"}
    return create_app(settings_)


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([a-zA-Z_]+)>", r"{\1}", rule)


def served_routes(app: Flask) -> dict[str, set[str]]:
    """path (as OpenAPI writes it) -> methods, for every Flask route and every CDS adapter route."""
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNDOCUMENTED_ENDPOINTS:
            continue
        path = openapi_path(rule.rule.rstrip("/") or "/")
        found.setdefault(path, set()).update(m.lower() for m in (rule.methods or ()) if m.lower() in METHODS)
    for route in cds_routes(app.extensions["cds_hooks"]):
        found.setdefault(route.path, set()).update(m.lower() for m in route.methods)
    return found


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return make_app(tmp_path_factory.mktemp("openapi"))


@pytest.fixture(scope="module")
def document(app: Flask) -> dict[str, Any]:
    return app.test_client().get("/openapi.json").get_json()


def test_every_route__documented_with_its_methods(app: Flask, document: dict[str, Any]) -> None:
    missing = [
        f"{m.upper()} {path}"
        for path, methods in served_routes(app).items()
        for m in sorted(methods)
        if m not in document["paths"].get(path, {})
    ]
    assert not missing, f"routes missing from the OpenAPI document: {missing}"


def served_methods(path: str, served: dict[str, set[str]]) -> set[str]:
    """The methods served at a documented path: its own route's, or - for a concrete path such as
    /sandbox/fhir/Patient - those of the templated routes it is an instance of."""
    if path in served:
        return served[path]
    segments = path.split("/")
    methods: set[str] = set()
    for template, found in served.items():
        parts = template.split("/")
        if len(parts) == len(segments) and all(
            p == s or (p.startswith("{") and p.endswith("}")) for p, s in zip(parts, segments, strict=True)
        ):
            methods |= found
    return methods


def test_every_documented_method__is_a_route(app: Flask, document: dict[str, Any]) -> None:
    served = served_routes(app)
    extra = [
        f"{m.upper()} {path}"
        for path, item in document["paths"].items()
        for m in item
        if m in METHODS and m not in served_methods(path, served)
    ]
    assert not extra, f"documented but not served: {extra}"


def _example_request(path: str, operation: dict[str, Any]) -> tuple[str, dict[str, str], Any]:
    """The documented request with documented values: path and required query parameters from their
    example (or first enum value), the body from the media type's example."""
    query: dict[str, str] = {}
    for param in operation.get("parameters", []):
        schema = param.get("schema", {})
        value = param.get("example", schema.get("example", (schema.get("enum") or [None])[0]))
        if param["in"] == "path":
            assert value is not None, f"{path}: path parameter {param['name']} has no example"
            path = path.replace("{" + param["name"] + "}", str(value))
        elif param["in"] == "query" and param.get("required") and value is not None:
            query[param["name"]] = str(value)
    content = operation.get("requestBody", {}).get("content", {})
    body = next((c["example"] for c in content.values() if "example" in c), None)
    if body is None and content:
        body = {"resourceType": "Parameters"} if any("fhir" in t for t in content) else {}
    return path, query, body


def test_every_documented_method__answers(app: Flask, document: dict[str, Any]) -> None:
    """Sent as documented, no operation is a missing route (404), a wrong method (405) or a failure."""
    client = app.test_client()
    wrong = []
    for template, item in document["paths"].items():
        for method in (m for m in item if m in METHODS):
            path, query, body = _example_request(template, item[method])
            kwargs: dict[str, Any] = {"query_string": query}
            if body is not None:
                kwargs["json"] = body
            reply = client.open(path, method=method.upper(), **kwargs)
            answer = reply.get_data(as_text=True)[:200]
            reply.close()
            if reply.status_code in (404, 405) or reply.status_code >= 500:
                wrong.append(f"{method.upper()} {path} -> {reply.status_code}: {answer}")
    assert not wrong, "\n".join(wrong)


# At least this share of the operations accepts most (over half) of the requests generated from the
# document as valid, and at least this share of all those requests is accepted. Measured: 108 of 109
# operations and 98% of the requests (10 per operation here; 30 per operation with
# `python -m tests.fuzz.acceptance`: 108 of 109, 2995 of 3038). The one below half, and why:
# order-select requires its selections to name draft orders, which JSON Schema cannot say. Each
# sandbox resource type has its own search path (its parameters depend on the type), and
# $batch-validate-code is POST only (its `validation` resources cannot ride in a query string).
MIN_OPERATIONS_MOSTLY_ACCEPTED = 0.99
MIN_REQUESTS_ACCEPTED = 0.98


def test_generated_valid_requests__mostly_accepted(app: Flask) -> None:
    logging.disable(logging.WARNING)
    try:
        tallies = measure(app, max_examples=10, exclude=("/sandbox/static/{filename}",))
    finally:
        logging.disable(logging.NOTSET)
    mostly = [t for t in tallies if t.rate > 0.5]
    refused = [f"{t.label}: {dict(t.statuses)}" for t in tallies if t.rate <= 0.5]
    share = len(mostly) / len(tallies)
    assert share >= MIN_OPERATIONS_MOSTLY_ACCEPTED, f"{share:.0%} mostly accepted; refused: {refused}"
    requests = sum(t.total for t in tallies)
    accepted = sum(t.accepted for t in tallies)
    assert accepted / requests >= MIN_REQUESTS_ACCEPTED, f"{accepted}/{requests}; refused: {refused}"


# Built at import: schemathesis' lazy fixture loader does not work with pytest 9 (it reads a removed
# private attribute), so the app under test gets its own temporary folder here.
_FUZZ_DIR = Path(tempfile.mkdtemp(prefix="cpt-plugin-fuzz-"))
atexit.register(shutil.rmtree, _FUZZ_DIR, True)
# Static files are left to `make fuzz` (real HTTP): through the in-process WSGI transport their file
# handles are never closed, which this suite turns into errors.
schema = schemathesis.openapi.from_wsgi("/openapi.json", make_app(_FUZZ_DIR)).exclude(
    path="/sandbox/static/{filename}"
)


@schema.parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_generated_requests__no_server_error_and_conform(case) -> None:
    case.call_and_validate(checks=CHECKS)
