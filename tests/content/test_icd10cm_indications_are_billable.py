"""Every ICD-10-CM code we publish is billable with its official title (FY2026 tabular, simple-icd-10-cm)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
INDICATION = "https://fhir.cpt-plugin.org/CodeSystem/ecmo-indication"


@pytest.fixture(scope="module")
def icd() -> Any:
    # The package reads its bundled tabular through a deprecated importlib.resources call.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    return simple_icd_10_cm


def published_icd_codes(content: Any) -> list[tuple[str, str, str]]:
    """(where, code, display) for every ICD-10-CM code in our value sets and concept maps."""
    found = []
    for resource in content.files.values():
        for include in resource.get("compose", {}).get("include", []):
            if include.get("system") == ICD10CM:
                found += [(resource["url"], c["code"], c.get("display")) for c in include.get("concept", [])]
        for group in resource.get("group", []):
            if group.get("target") == ICD10CM:
                for element in group["element"]:
                    found += [(resource["url"], t["code"], None) for t in element["target"] if "code" in t]
    return found


def test_the_package_has_the_fy2026_tabular(icd: Any) -> None:
    assert icd.get_description("J96.01") == "Acute respiratory failure with hypoxia"
    assert not icd.is_leaf("J96.0")


def test_every_published_code_is_billable_and_displays_the_official_title(content: Any, icd: Any) -> None:
    codes = published_icd_codes(content)
    assert len(codes) > 40
    for where, code, display in codes:
        assert icd.is_valid_item(code), (where, code)
        assert icd.is_leaf(code), f"{code} in {where} is a header, not billable"
        if display is not None:
            assert display == icd.get_description(code), (where, code)


def test_known_headers_are_not_published(content: Any) -> None:
    codes = {code for _, code, _ in published_icd_codes(content)}
    assert not codes & {"J96.0", "J96.2", "I46", "I40", "Q20", "Q21.1", "T31", "I21"}


def test_value_set_equals_the_mapping_targets_and_says_the_mapping_is_ours(content: Any) -> None:
    vs = content.get("ValueSet/ecmo-indications-icd10cm")
    cm = content.get("ConceptMap/ecmo-indication-to-icd10cm")
    targets = {t["code"] for g in cm["group"] for e in g["element"] for t in e["target"] if "code" in t}
    assert {code for _, code in content.value_set_codes("ValueSet/ecmo-indications-icd10cm")} == targets
    assert "THE MAPPING IS OURS" in vs["description"]
    assert "OUR mapping" in cm["description"]
    for group in cm["group"]:
        for element in group["element"]:
            for target in element["target"]:
                assert "Indication source:" in target["comment"]


def test_each_indication_names_its_sources(content: Any) -> None:
    for code, concept in content.concepts(INDICATION).items():
        assert content.prop(concept, "source"), code
