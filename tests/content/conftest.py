"""The published content, loaded once per session: resources by canonical url, concepts by code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FHIR_BUNDLES = Path(__file__).resolve().parents[2] / "fhir_bundles"
BASE = "https://fhir.cpt-plugin.org"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def published_files() -> list[Path]:
    return sorted(
        p for p in FHIR_BUNDLES.rglob("*.json") if "synthetic" not in p.relative_to(FHIR_BUNDLES).parts
    )


class Content:
    def __init__(self) -> None:
        self.files = {p: json.loads(p.read_text(encoding="utf-8")) for p in published_files()}
        self.by_url: dict[str, dict[str, Any]] = {}
        for resource in self.files.values():
            assert resource["url"] not in self.by_url, f"two resources with url {resource['url']}"
            self.by_url[resource["url"]] = resource

    def get(self, url_or_path: str) -> dict[str, Any]:
        url = url_or_path if "://" in url_or_path else f"{BASE}/{url_or_path}"
        return self.by_url[url]

    def concepts(self, system: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}

        def walk(concepts: list[dict[str, Any]]) -> None:
            for concept in concepts:
                found[concept["code"]] = concept
                walk(concept.get("concept", []))

        walk(self.get(system)["concept"])
        return found

    def value_set_codes(self, path: str) -> set[tuple[str, str]]:
        """(system, code) pairs listed in a ValueSet's compose (our value sets enumerate their codes)."""
        codes = set()
        for include in self.get(path)["compose"]["include"]:
            for concept in include.get("concept", []):
                codes.add((include["system"], concept["code"]))
        return codes

    @staticmethod
    def prop(concept: dict[str, Any], code: str) -> Any:
        """The value of a concept property, or None when the concept does not carry it."""
        for p in concept.get("property", []):
            if p["code"] == code:
                return next(v for k, v in p.items() if k.startswith("value"))
        return None


@pytest.fixture(scope="session")
def content() -> Content:
    return Content()
