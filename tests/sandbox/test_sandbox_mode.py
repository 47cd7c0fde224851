"""The sandbox follows the server's mode: on in development mode, off (404 naming the key) once the
server requires JWTs or trusts issuers, unless `[sandbox] enabled` says otherwise. Over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from plugin.app import create_app
from plugin.config import ConfigError, load_settings
from tests.conftest import LiveServer

from .conftest import Issuer, production_app, sandbox_settings

SANDBOX_PATHS = [
    "/sandbox",
    "/sandbox/api/patients",
    "/sandbox/fhir",
    "/sandbox/fhir/metadata",
    "/sandbox/fhir/Patient?_id=x",
    "/sandbox/static/sandbox.js",
]
KEY_HINT = "set enabled = true under [sandbox]"


@pytest.fixture
def serve_app():
    started: list[LiveServer] = []

    def _serve(app):
        server = LiveServer(app).start()
        started.append(server)
        return server

    yield _serve
    for server in started:
        server.stop()


def test_production_mode__sandbox_off_by_default__404_names_the_key(tmp_path: Path, serve_app) -> None:
    server = serve_app(production_app(tmp_path, Issuer()))
    for path in SANDBOX_PATHS:
        response = requests.get(server.url + path, timeout=10)
        assert response.status_code == 404, path
        assert KEY_HINT in response.text and "sandbox is disabled" in response.text, path


def test_production_mode__each_part_answers_in_its_own_format(tmp_path: Path, serve_app) -> None:
    server = serve_app(production_app(tmp_path, Issuer()))
    fhir = requests.get(f"{server.url}/sandbox/fhir/Patient/abc", timeout=10)
    assert fhir.headers["Content-Type"].startswith("application/fhir+json")
    outcome = fhir.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "not-found"
    assert "security.require_jwt is true" in outcome["issue"][0]["details"]["text"]

    api = requests.post(f"{server.url}/sandbox/api/request", json={"scenario": "adult-aetna"}, timeout=10)
    assert api.status_code == 404 and api.json()["error"] == "sandbox-disabled"
    assert KEY_HINT in api.json()["message"]

    page = requests.get(f"{server.url}/sandbox", headers={"Accept": "text/html"}, timeout=10)
    assert page.headers["Content-Type"].startswith("text/html")
    assert '<p id="sandbox-disabled">' in page.text
    as_json = requests.get(f"{server.url}/sandbox", headers={"Accept": "application/json"}, timeout=10)
    assert as_json.json()["error"] == "sandbox-disabled"


def test_production_mode__rest_of_the_server_unaffected(tmp_path: Path, serve_app) -> None:
    issuer = Issuer()
    server = serve_app(production_app(tmp_path, issuer))
    assert requests.get(f"{server.url}/fhir/metadata", timeout=10).status_code == 200
    assert requests.get(f"{server.url}/cds-services", timeout=10).status_code == 401
    token = issuer.token(f"{server.url}/cds-services")
    discovery = requests.get(
        f"{server.url}/cds-services", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert discovery.status_code == 200 and discovery.json()["services"]


def test_production_mode__enabled_explicitly__served(tmp_path: Path, serve_app) -> None:
    server = serve_app(production_app(tmp_path, Issuer(), sandbox="enabled = true"))
    page = requests.get(f"{server.url}/sandbox", timeout=10)
    assert page.status_code == 200
    assert 'id="bearer-token"' in page.text and "required by this service" in page.text
    assert f'data-cds-base="{server.url}/cds-services"' in page.text
    metadata = requests.get(f"{server.url}/sandbox/fhir/metadata", timeout=10)
    assert metadata.status_code == 200 and metadata.json()["resourceType"] == "CapabilityStatement"


def test_issuers_with_optional_jwt__off_by_default__token_field_optional_when_on(
    tmp_path: Path, serve_app
) -> None:
    off = serve_app(production_app(tmp_path / "off", Issuer(), require_jwt=False))
    assert requests.get(f"{off.url}/sandbox/api/patients", timeout=10).status_code == 404
    on = serve_app(production_app(tmp_path / "on", Issuer(), require_jwt=False, sandbox="enabled = true"))
    page = requests.get(f"{on.url}/sandbox", timeout=10).text
    assert 'id="bearer-token"' in page and "Bearer token (optional)" in page


def test_development_mode__on_by_default__no_token_field(tmp_path: Path, serve_app) -> None:
    server = serve_app(create_app(sandbox_settings(tmp_path)))
    page = requests.get(f"{server.url}/sandbox", timeout=10)
    assert page.status_code == 200 and "bearer-token" not in page.text
    assert requests.get(f"{server.url}/sandbox/api/patients", timeout=10).json()["patients"]


def test_development_mode__disabled_explicitly__404_says_it_is_configured(tmp_path: Path, serve_app) -> None:
    settings = sandbox_settings(tmp_path)
    settings["sandbox"]["enabled"] = False
    server = serve_app(create_app(settings))
    response = requests.get(f"{server.url}/sandbox/api/patients", timeout=10)
    assert response.status_code == 404
    assert "sandbox.enabled is false in the configuration" in response.json()["message"]


@pytest.mark.parametrize("value", ['"yes"', "1"])
def test_sandbox_enabled__not_a_boolean__config_error_names_the_key(tmp_path: Path, value: str) -> None:
    config = tmp_path / "plugin.toml"
    config.write_text(f"[sandbox]\nenabled = {value}\n")
    with pytest.raises(ConfigError, match=r"sandbox\.enabled: expected true or false"):
        load_settings(config_file=config)
