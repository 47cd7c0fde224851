"""Page fixtures: the default app (synthetic sandbox on), and the sandbox tests' headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.conftest import browser  # noqa: F401 - the same Debian Chromium fixture

ROOT = Path(__file__).resolve().parents[2]
FHIR_BUNDLES = ROOT / "fhir_bundles"
MODIFIER_MAP = FHIR_BUNDLES / "conceptmaps" / "cpt-33952-modifier-applicability.json"
BASE_CODE = "https://fhir.cpt-plugin.org/CodeSystem/modifier-applicability#base-code"


def modifier_map_rows(base_code: str = "33952") -> dict[str, str]:
    """modifier -> applicability category, straight from the published ConceptMap file."""
    concept_map = json.loads(MODIFIER_MAP.read_text(encoding="utf-8"))
    return {
        element["code"]: target["code"]
        for group in concept_map["group"]
        for element in group["element"]
        for target in element["target"]
        if any(d["property"] == BASE_CODE and d["value"] == base_code for d in target.get("dependsOn", []))
    }


def family_codes() -> list[str]:
    value_set = json.loads((FHIR_BUNDLES / "valuesets" / "ecmo-ecls-family.json").read_text(encoding="utf-8"))
    return [c["code"] for include in value_set["compose"]["include"] for c in include["concept"]]


def every_fact(node: Any) -> list[dict[str, Any]]:
    """Every dict carrying a "text" and "refs" anywhere in a page's JSON: the page's facts."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "text" in node and "refs" in node:
            found.append(node)
        for value in node.values():
            found += every_fact(value)
    elif isinstance(node, list):
        for value in node:
            found += every_fact(value)
    return found


@pytest.fixture
def json_get(client: Any) -> Any:
    def get(path: str) -> Any:
        return client.get(path, headers={"Accept": "application/json"})

    return get
