"""Browser clients get CORS (preflight without a token, headers on every answer); oversized bodies
get a 413 in the caller's dialect, over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from plugin.app import create_app
from tests.conftest import test_settings as base_settings

SERVICE_URL = "/cds-services/ecmo-cannulation-order-select"


def make_app(tmp_path: Path, **sections: dict) -> object:
    settings = base_settings(tmp_path)
    settings["audit"] = {"log": "off"}
    settings.update(sections)
    return create_app(settings)


def test_preflight_from_the_sandbox__allows_authorization_and_content_type(secure_server) -> None:
    response = requests.options(
        secure_server.url + SERVICE_URL,
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=5,
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_refused_call_from_a_browser__still_readable_cross_origin(secure_server) -> None:
    response = requests.post(
        secure_server.url + SERVICE_URL,
        json={},
        headers={"Origin": "https://sandbox.cds-hooks.org"},
        timeout=5,
    )
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]


def test_configured_origins__only_those_echoed(tmp_path: Path, serve) -> None:
    server = serve(make_app(tmp_path, cors={"origins": ["https://ehr.example.org"]}))
    ok = requests.get(f"{server.url}/", headers={"Origin": "https://ehr.example.org"}, timeout=5)
    assert ok.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
    assert "Origin" in ok.headers["Vary"]
    other = requests.get(f"{server.url}/", headers={"Origin": "https://evil.example.org"}, timeout=5)
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = requests.options(
        server.url + SERVICE_URL,
        headers={"Origin": "https://evil.example.org", "Access-Control-Request-Method": "POST"},
        timeout=5,
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Headers" not in preflight.headers


def test_same_origin_request__no_cors_headers(tmp_path: Path, serve) -> None:
    server = serve(make_app(tmp_path))
    response = requests.get(f"{server.url}/", timeout=5)
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("path", [SERVICE_URL, f"{SERVICE_URL}/feedback"])
def test_oversized_cds_body__413_json(tmp_path: Path, serve, path: str) -> None:
    server = serve(make_app(tmp_path, limits={"max_body_bytes": 10_000}))
    response = requests.post(
        server.url + path,
        data=b'{"hook": "' + b"x" * 20_000 + b'"}',
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": "payload-too-large",
        "message": "The request body is larger than 10000 bytes.",
    }


def test_oversized_chunked_body__413(tmp_path: Path, serve) -> None:
    """No Content-Length: the limit still holds while the body streams in."""
    server = serve(make_app(tmp_path, limits={"max_body_bytes": 10_000}))

    def chunks():
        for _ in range(30):
            yield b"x" * 1000

    response = requests.post(
        server.url + SERVICE_URL, data=chunks(), headers={"Content-Type": "application/json"}, timeout=5
    )
    assert response.status_code == 413


def test_oversized_fhir_body__413_operation_outcome(tmp_path: Path, serve) -> None:
    server = serve(make_app(tmp_path, limits={"max_body_bytes": 10_000}))
    response = requests.post(
        f"{server.url}/fhir/ValueSet/$expand",
        data=b"x" * 20_000,
        headers={"Content-Type": "application/fhir+json"},
        timeout=5,
    )
    assert response.status_code == 413
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "too-long"


def test_chunked_body_under_the_limit__reaches_the_handler_whole(tmp_path: Path, serve) -> None:
    server = serve(make_app(tmp_path, limits={"max_body_bytes": 10_000}))
    parameters = {
        "resourceType": "Parameters",
        "parameter": [{"name": "url", "valueUri": "https://fhir.cpt-plugin.org/ValueSet/ecmo-ecls-family"}],
    }
    body = json.dumps(parameters).encode() + b" " * 5_000  # many chunks, still under the limit
    assert len(body) < 10_000

    def chunks():
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    response = requests.post(
        f"{server.url}/fhir/ValueSet/$expand",
        data=chunks(),
        headers={"Content-Type": "application/fhir+json"},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    assert response.json()["expansion"]["contains"]
