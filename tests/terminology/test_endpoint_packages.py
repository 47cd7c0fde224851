"""FHIR-version packages per endpoint (`[terminology] r4_packages` / `r5_packages`): a site loads e.g.
hl7.fhir.r4.core for /fhir and hl7.fhir.r5.core for /fhir/r5, and each endpoint answers with its own
version of the core code systems. The packages here are tiny stand-ins built by the test."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from plugin.app import create_app
from plugin.terminology import get_registry
from tests.terminology.conftest import R4, R5

GENDER_CS = "http://hl7.org/fhir/administrative-gender"
GENDER_VS = "http://hl7.org/fhir/ValueSet/administrative-gender"


def _package(path: Path, fhir_version: str) -> Path:
    code_system = {
        "resourceType": "CodeSystem",
        "id": "administrative-gender",
        "url": GENDER_CS,
        "version": fhir_version,
        "status": "active",
        "content": "complete",
        "caseSensitive": True,
        "concept": [
            {"code": code, "display": code.title()} for code in ("male", "female", "other", "unknown")
        ],
    }
    value_set = {
        "resourceType": "ValueSet",
        "id": "administrative-gender",
        "url": GENDER_VS,
        "version": fhir_version,
        "status": "active",
        "compose": {"include": [{"system": GENDER_CS}]},
    }
    index = {
        "index-version": 1,
        "files": [
            {"filename": "CodeSystem-administrative-gender.json", "resourceType": "CodeSystem"},
            {"filename": "ValueSet-administrative-gender.json", "resourceType": "ValueSet"},
            {"filename": "StructureDefinition-huge.json", "resourceType": "StructureDefinition"},
        ],
    }
    files: dict[str, bytes] = {
        "package/package.json": json.dumps({"name": "test.core", "version": fhir_version}).encode(),
        "package/.index.json": json.dumps(index).encode(),
        "package/CodeSystem-administrative-gender.json": json.dumps(code_system).encode(),
        "package/ValueSet-administrative-gender.json": json.dumps(value_set).encode(),
        # Not a terminology resource by the index, so never parsed (it is not even JSON).
        "package/StructureDefinition-huge.json": b"{ not json",
    }
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _client(tmp_path: Path) -> tuple[Any, FlaskClient]:
    settings = {
        "storage": {"url": f"sqlite:///{tmp_path / 'feedback.db'}"},
        "content": {"cds_hooks": ""},
        "terminology": {
            "r4_packages": [str(_package(tmp_path / "r4.tgz", "4.0.1"))],
            "r5_packages": [str(_package(tmp_path / "r5.tgz", "5.0.0"))],
        },
    }
    app = create_app(settings)
    return app, app.test_client()


def _used_code_systems(body: dict[str, Any]) -> list[str]:
    return [p["valueUri"] for p in body["expansion"]["parameter"] if p["name"] == "used-codesystem"]


def test_endpoint_packages__each_endpoint_expands_its_own_fhir_version(tmp_path) -> None:
    _, client = _client(tmp_path)
    r4 = client.get(f"{R4}/ValueSet/$expand", query_string={"url": GENDER_VS}).get_json()
    r5 = client.get(f"{R5}/ValueSet/$expand", query_string={"url": GENDER_VS}).get_json()
    assert _used_code_systems(r4) == [f"{GENDER_CS}|4.0.1"]
    assert _used_code_systems(r5) == [f"{GENDER_CS}|5.0.0"]
    assert [c["code"] for c in r5["expansion"]["contains"]] == ["male", "female", "other", "unknown"]


def test_endpoint_packages__are_listed_in_that_endpoints_terminology_capabilities(tmp_path) -> None:
    _, client = _client(tmp_path)
    caps = client.get(f"{R5}/metadata", query_string={"mode": "terminology"}).get_json()
    versions = [v["code"] for cs in caps["codeSystem"] if cs["uri"] == GENDER_CS for v in cs["version"]]
    assert versions == ["5.0.0"]


def test_endpoint_packages__stay_out_of_the_shared_registry(tmp_path) -> None:
    app, _ = _client(tmp_path)
    assert get_registry(app).get(GENDER_CS) is None
    assert get_registry(app, "R4").get(GENDER_CS)["version"] == "4.0.1"


def test_endpoint_packages__not_configured__the_endpoint_sees_its_core_content_over_the_shared(
    client, app
) -> None:
    registry = get_registry(app, "R5")
    assert registry is not get_registry(app) and registry.parent is get_registry(app)
    assert get_registry(app).get(GENDER_CS) is None
    response = client.get(f"{R5}/ValueSet/$expand", query_string={"url": GENDER_VS})
    assert response.status_code == 200
    assert _used_code_systems(response.get_json()) == [f"{GENDER_CS}|5.0.0"]
