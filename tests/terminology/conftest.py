"""Terminology test content built inline, so tests run whatever fhir_bundles/ holds.

`tx_client` serves an app whose registry holds only the resources below: a small hierarchical
code system in two versions, a case-insensitive one, a supplement, a CPT-shaped fragment (our own
paraphrases, not AMA text) with an HCPCS modifier, value sets over them and two concept maps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin.app import create_app

SHAPES = "http://example.org/fhir/CodeSystem/shapes"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
APPLICABILITY = "https://fhir.cpt-plugin.org/CodeSystem/modifier-applicability"
R4 = "/fhir"
R5 = "/fhir/r5"


def shapes(version: str = "2.0.0", extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "id": f"shapes-{version}",
        "url": SHAPES,
        "version": version,
        "name": "Shapes",
        "title": "Shapes",
        "status": "active",
        "language": "en",
        "caseSensitive": True,
        "hierarchyMeaning": "is-a",
        "content": "complete",
        "property": [
            {"code": "sides", "uri": "http://example.org/fhir/sides", "type": "integer"},
            {"code": "status", "uri": "http://hl7.org/fhir/concept-properties#status", "type": "code"},
            {
                "code": "notSelectable",
                "uri": "http://hl7.org/fhir/concept-properties#notSelectable",
                "type": "boolean",
            },
        ],
        "concept": [
            {
                "code": "polygon",
                "display": "Polygon",
                "definition": "A closed figure with straight sides",
                "property": [{"code": "notSelectable", "valueBoolean": True}],
                "concept": [
                    {
                        "code": "triangle",
                        "display": "Triangle",
                        "designation": [{"language": "de", "value": "Dreieck"}],
                        "property": [{"code": "sides", "valueInteger": 3}],
                    },
                    {
                        "code": "quadrilateral",
                        "display": "Quadrilateral",
                        "property": [{"code": "sides", "valueInteger": 4}],
                        "concept": [
                            {
                                "code": "square",
                                "display": "Square",
                                "designation": [{"language": "de", "value": "Quadrat"}],
                                "property": [{"code": "sides", "valueInteger": 4}],
                            },
                            {
                                "code": "rhombus",
                                "display": "Rhombus",
                                "property": [
                                    {"code": "sides", "valueInteger": 4},
                                    {"code": "status", "valueCode": "retired"},
                                ],
                            },
                        ],
                    },
                ],
            },
            {"code": "circle", "display": "Circle", "definition": "All points at one distance from a centre"},
            *(extra or []),
        ],
    }


def value_set(vid: str, compose: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "ValueSet",
        "id": vid,
        "url": f"http://example.org/fhir/ValueSet/{vid}",
        "version": "1.0.0",
        "name": vid.title().replace("-", ""),
        "status": "active",
        "compose": compose,
        **more,
    }


def cpt_fragment() -> dict[str, Any]:
    def concept(code: str, display: str, **props: Any) -> dict[str, Any]:
        properties = []
        for name, value in props.items():
            key = {bool: "valueBoolean", int: "valueInteger"}.get(type(value), "valueCode")
            properties.append({"code": name.replace("_", "-"), key: value})
        return {"code": code, "display": display, "property": properties}

    return {
        "resourceType": "CodeSystem",
        "id": "cpt-test-fragment",
        "url": CPT,
        "version": "2026",
        "name": "CptTestFragment",
        "status": "active",
        "caseSensitive": True,
        "content": "fragment",
        "property": [
            {"code": "modifier", "type": "boolean"},
            {"code": "age-min", "type": "integer"},
            {"code": "age-max", "type": "integer"},
            {"code": "approach", "type": "code"},
        ],
        "concept": [
            concept(
                "33951",
                "Percutaneous peripheral ECMO cannula insertion, birth through 5 years",
                modifier=False,
                age_min=0,
                age_max=5,
                approach="percutaneous",
            ),
            concept(
                "33952",
                "Percutaneous peripheral ECMO cannula insertion, 6 years and older",
                modifier=False,
                age_min=6,
                approach="percutaneous",
            ),
            concept(
                "33953",
                "Open peripheral ECMO cannula insertion, birth through 5 years",
                modifier=False,
                age_min=0,
                age_max=5,
                approach="open",
            ),
            concept(
                "33954",
                "Open peripheral ECMO cannula insertion, 6 years and older",
                modifier=False,
                age_min=6,
                approach="open",
            ),
            concept("62", "Two surgeons", modifier=True),
            concept("80", "Assistant surgeon", modifier=True),
            concept("59", "Distinct procedural service", modifier=True),
        ],
    }


def hcpcs_fragment() -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "id": "hcpcs-test-fragment",
        "url": HCPCS,
        "version": "2026",
        "name": "HcpcsTestFragment",
        "status": "active",
        "content": "fragment",
        "concept": [{"code": "LT", "display": "Left side"}, {"code": "RT", "display": "Right side"}],
    }


def applicability_map() -> dict[str, Any]:
    def target(status: str, base: str, comment: str) -> dict[str, Any]:
        return {
            "code": status,
            "equivalence": "relatedto",
            "comment": comment,
            "dependsOn": [{"property": f"{APPLICABILITY}#base-code", "system": CPT, "value": base}],
        }

    return {
        "resourceType": "ConceptMap",
        "id": "test-modifier-applicability",
        "url": "https://fhir.cpt-plugin.org/ConceptMap/test-modifier-applicability",
        "version": "1",
        "status": "active",
        "group": [
            {
                "source": CPT,
                "target": APPLICABILITY,
                "element": [
                    {
                        "code": "62",
                        "target": [target("not-paid-medicare", "33952", "co-surgeon indicator is 0")],
                    },
                    {
                        "code": "80",
                        "target": [target("documentation-required", "33952", "assistant needs records")],
                    },
                    {
                        "code": "59",
                        "target": [target("not-applicable", "33952", "no column-2 pair to bypass")],
                    },
                ],
            }
        ],
    }


def age_map() -> dict[str, Any]:
    return {
        "resourceType": "ConceptMap",
        "id": "test-age-band",
        "url": "https://fhir.cpt-plugin.org/ConceptMap/test-age-band",
        "version": "1",
        "status": "active",
        "group": [
            {
                "source": CPT,
                "target": CPT,
                "element": [
                    {
                        "code": "33952",
                        "target": [
                            {
                                "code": "33951",
                                "equivalence": "narrower",
                                "comment": "same procedure, birth through 5 years",
                            }
                        ],
                    },
                    {
                        "code": "33951",
                        "target": [
                            {
                                "code": "33952",
                                "equivalence": "narrower",
                                "comment": "same procedure, 6 years and older",
                            }
                        ],
                    },
                ],
            }
        ],
    }


def content() -> list[dict[str, Any]]:
    older = shapes("1.0.0")
    older["concept"] = [c for c in older["concept"] if c["code"] != "circle"]
    return [
        shapes(),
        older,
        {
            "resourceType": "CodeSystem",
            "id": "colours",
            "url": "http://example.org/fhir/CodeSystem/colours",
            "name": "Colours",
            "status": "active",
            "content": "complete",
            "concept": [{"code": "Red", "display": "Red"}, {"code": "Blue", "display": "Blue"}],
        },
        {
            "resourceType": "CodeSystem",
            "id": "shapes-fr",
            "url": "http://example.org/fhir/CodeSystem/shapes-fr",
            "version": "1",
            "name": "ShapesFr",
            "status": "active",
            "content": "supplement",
            "supplements": SHAPES,
            "concept": [{"code": "square", "designation": [{"language": "fr", "value": "Carré"}]}],
        },
        cpt_fragment(),
        hcpcs_fragment(),
        value_set("all-shapes", {"include": [{"system": SHAPES}]}),
        value_set(
            "polygons",
            {
                "include": [
                    {"system": SHAPES, "filter": [{"property": "concept", "op": "is-a", "value": "polygon"}]}
                ]
            },
        ),
        value_set(
            "round-and-square",
            {"include": [{"system": SHAPES, "concept": [{"code": "circle"}, {"code": "square"}]}]},
        ),
        value_set(
            "four-sided",
            {"include": [{"system": SHAPES, "filter": [{"property": "sides", "op": "=", "value": "4"}]}]},
        ),
        value_set("shapes-v1", {"include": [{"system": SHAPES, "version": "1.0.0"}]}),
        value_set(
            "not-polygons",
            {
                "include": [{"system": SHAPES}],
                "exclude": [
                    {"system": SHAPES, "filter": [{"property": "concept", "op": "is-a", "value": "polygon"}]}
                ],
            },
        ),
        value_set(
            "imports-polygons", {"include": [{"valueSet": ["http://example.org/fhir/ValueSet/polygons"]}]}
        ),
        value_set(
            "ecmo-insertion-6-plus",
            {"include": [{"system": CPT, "concept": [{"code": "33952"}, {"code": "33954"}]}]},
        ),
        value_set(
            "ecmo-insertion",
            {"include": [{"system": CPT, "filter": [{"property": "modifier", "op": "=", "value": "false"}]}]},
        ),
        value_set(
            "cpt-base-only",
            {
                "include": [
                    {
                        "system": CPT,
                        "filter": [
                            {"property": "modified", "op": "=", "value": "false"},
                            {"property": "modifier", "op": "=", "value": "false"},
                        ],
                    }
                ]
            },
        ),
        applicability_map(),
        age_map(),
        {
            "resourceType": "Questionnaire",
            "id": "q1",
            "url": "http://example.org/fhir/Questionnaire/q1",
            "status": "draft",
            "name": "Q1",
            "title": "A questionnaire",
        },
    ]


@pytest.fixture
def tx_app(tmp_path: Path) -> Flask:
    folder = tmp_path / "content"
    folder.mkdir()
    for index, resource in enumerate(content()):
        (folder / f"{index:02d}-{resource['id']}.json").write_text(json.dumps(resource), encoding="utf-8")
    settings = {
        "storage": {"url": f"sqlite:///{tmp_path / 'feedback.db'}"},
        "security": {"require_jwt": False, "issuers": []},
        # Only the inline content: the CDS service, whose rules read the published content, stays off.
        "content": {
            "fhir_bundles": str(tmp_path / "no-bundles"),
            "paths": [str(folder)],
            "packages": [],
            "cds_hooks": "",
        },
    }
    application = create_app(settings)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def tx(tx_app: Flask) -> FlaskClient:
    return tx_app.test_client()


@pytest.fixture
def tx_live(tx_app: Flask, serve: Any) -> Any:
    return serve(tx_app)


def post(client: FlaskClient, path: str, *params: dict[str, Any], **headers: str) -> Any:
    body = {"resourceType": "Parameters", "parameter": list(params)}
    return client.post(path, json=body, headers={"Content-Type": "application/fhir+json", **headers})


def param(name: str, value: Any, kind: str | None = None) -> dict[str, Any]:
    if kind is None:
        kind = {bool: "Boolean", int: "Integer", dict: "Coding"}.get(type(value), "String")
    if kind == "resource":
        return {"name": name, "resource": value}
    return {"name": name, f"value{kind}": value}


def out(response: Any, name: str) -> Any:
    """The value of the first output parameter with that name (None when absent)."""
    for p in response.get_json()["parameter"]:
        if p["name"] == name:
            for key, value in p.items():
                if key.startswith("value") or key in ("resource", "part"):
                    return value
    return None


def issues(response: Any) -> list[dict[str, Any]]:
    found = out(response, "issues")
    return found["issue"] if found else []


def message_ids(issue_list: list[dict[str, Any]]) -> list[str]:
    return [
        ext["valueString"]
        for issue in issue_list
        for ext in issue.get("extension", [])
        if ext["url"].endswith("operationoutcome-message-id")
    ]
