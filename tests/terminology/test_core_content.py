"""The FHIR core code systems shipped with the terminology engine (plugin/terminology/data/core):
each endpoint answers in its own FHIR version's content, as published in the FHIR specification
(R4 4.0.1 at /fhir, R5 5.0.0 at /fhir/r5), with no configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from plugin.terminology import CORE_CONTENT
from tests.terminology.conftest import R4, R5

GENDER_CS = "http://hl7.org/fhir/administrative-gender"
STATUS_CS = "http://hl7.org/fhir/publication-status"
GENDER_VS = "http://hl7.org/fhir/ValueSet/administrative-gender"


def _used(body: dict[str, Any], name: str) -> list[str]:
    return [p["valueUri"] for p in body["expansion"]["parameter"] if p["name"] == name]


@pytest.mark.parametrize(("base", "version"), [(R4, "4.0.1"), (R5, "5.0.0")])
def test_core_content__gender_value_set_expands_in_the_endpoints_fhir_version(client, base, version) -> None:
    body = client.get(f"{base}/ValueSet/$expand", query_string={"url": GENDER_VS}).get_json()
    assert _used(body, "used-codesystem") == [f"{GENDER_CS}|{version}"]
    assert {c["code"]: c["display"] for c in body["expansion"]["contains"]} == {
        "male": "Male",
        "female": "Female",
        "other": "Other",
        "unknown": "Unknown",
    }


@pytest.mark.parametrize("base", [R4, R5])
def test_core_content__a_value_set_excluding_core_codes_expands(client, base) -> None:
    value_set = {
        "resourceType": "ValueSet",
        "url": "http://example.org/fhir/ValueSet/gender-and-status",
        "status": "active",
        "compose": {
            "include": [
                {"valueSet": [GENDER_VS]},
                {"system": STATUS_CS, "concept": [{"code": "active"}]},
            ],
            "exclude": [{"system": GENDER_CS, "concept": [{"code": "other"}, {"code": "unknown"}]}],
        },
    }
    params = {"resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource": value_set}]}
    response = client.post(f"{base}/ValueSet/$expand", json=params)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["expansion"]["total"] == 3
    assert sorted(c["code"] for c in body["expansion"]["contains"]) == ["active", "female", "male"]


@pytest.mark.parametrize("base", [R4, R5])
def test_core_content__validates_a_gender_code(client, base) -> None:
    response = client.get(
        f"{base}/CodeSystem/$validate-code", query_string={"url": GENDER_CS, "code": "female"}
    )
    result = {
        p["name"]: next(v for k, v in p.items() if k.startswith("value"))
        for p in response.get_json()["parameter"]
        if p["name"] in ("result", "display")
    }
    assert result == {"result": True, "display": "Female"}


def test_core_content__files_are_the_published_resources_with_their_provenance() -> None:
    for version, folder in CORE_CONTENT.items():
        files = sorted(p.name for p in Path(folder).glob("*.json"))
        assert files == [
            "CodeSystem-administrative-gender.json",
            "CodeSystem-publication-status.json",
            "ValueSet-administrative-gender.json",
            "ValueSet-publication-status.json",
        ]
        expected = {"R4": "4.0.1", "R5": "5.0.0"}[version]
        for file in files:
            assert json.loads((Path(folder) / file).read_text(encoding="utf-8"))["version"] == expected
    readme = (Path(CORE_CONTENT["R4"]).parent / "README.md").read_text(encoding="utf-8")
    assert "CC0" in readme and "hl7.fhir.r5.core" in readme
