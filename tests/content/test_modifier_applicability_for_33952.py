"""How every listed modifier applies to 33952 per the ConceptMap (expected values: the domain file)."""

from __future__ import annotations

from typing import Any

import pytest

CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
APPLICABILITY = "https://fhir.cpt-plugin.org/CodeSystem/modifier-applicability"
BASE_CODE = f"{APPLICABILITY}#base-code"

EXPECTED = {
    (CPT, "22"): "usable",
    (CPT, "25"): "other-line",
    (CPT, "26"): "not-applicable",
    (CPT, "50"): "not-applicable",
    (CPT, "51"): "usable",
    (CPT, "52"): "usable",
    (CPT, "53"): "usable",
    (CPT, "57"): "not-applicable",
    (CPT, "58"): "usable",
    (CPT, "59"): "ncci-bypass-only",
    (CPT, "62"): "not-paid-medicare",
    (CPT, "63"): "clinically-inconsistent",
    (CPT, "66"): "not-paid-medicare",
    (CPT, "73"): "facility-claim-only",
    (CPT, "74"): "facility-claim-only",
    (CPT, "76"): "usable",
    (CPT, "77"): "usable",
    (CPT, "78"): "usable",
    (CPT, "79"): "usable",
    (CPT, "80"): "documentation-required",
    (CPT, "81"): "documentation-required",
    (CPT, "82"): "documentation-required",
    (HCPCS, "XE"): "ncci-bypass-only",
    (HCPCS, "XS"): "ncci-bypass-only",
    (HCPCS, "XP"): "ncci-bypass-only",
    (HCPCS, "XU"): "ncci-bypass-only",
    (HCPCS, "LT"): "usable",
    (HCPCS, "RT"): "usable",
    (HCPCS, "AS"): "documentation-required",
    (HCPCS, "TC"): "not-applicable",
    (HCPCS, "FT"): "other-line",
    (HCPCS, "GC"): "usable",
    (HCPCS, "CA"): "depends-on-unverified-ipo-status",
    (HCPCS, "Q0"): "usable",
    (HCPCS, "Q1"): "usable",
    (HCPCS, "PO"): "facility-claim-only",
    (HCPCS, "PN"): "facility-claim-only",
    (HCPCS, "ER"): "facility-claim-only",
}
NOT_USABLE = {"not-applicable", "not-paid-medicare", "clinically-inconsistent", "other-line"}


@pytest.fixture(scope="module")
def targets(content: Any) -> dict[tuple[str, str], dict[str, Any]]:
    cm = content.get("ConceptMap/cpt-33952-modifier-applicability")
    found = {}
    for group in cm["group"]:
        assert group["target"] == APPLICABILITY
        for element in group["element"]:
            assert len(element["target"]) == 1, element["code"]
            found[(group["source"], element["code"])] = element["target"][0]
    return found


def test_every_listed_modifier_has_exactly_the_expected_applicability(targets: dict) -> None:
    assert {key: t["code"] for key, t in targets.items()} == EXPECTED


def test_62_and_66_are_not_paid_by_medicare_with_the_indicator_as_reason(targets: dict) -> None:
    assert "co-surgeon indicator 0" in targets[(CPT, "62")]["comment"]
    assert "team surgeon indicator 0" in targets[(CPT, "66")]["comment"]
    for code in ("62", "66"):
        assert targets[(CPT, code)]["comment"].startswith("Medicare will not pay")


@pytest.mark.parametrize(
    ("key", "phrase"),
    [
        ((CPT, "26"), "PC/TC indicator is 0"),
        ((HCPCS, "TC"), "PC/TC indicator is 0"),
        ((CPT, "50"), "bilateral indicator 0"),
        ((CPT, "57"), "000 global"),
        ((CPT, "63"), "Appendix F"),
        ((CPT, "59"), "modifier indicator 1"),
        ((CPT, "80"), "medically necessary"),
        ((HCPCS, "CA"), "NOT verified"),
    ],
)
def test_the_reason_names_the_rule_behind_it(targets: dict, key: tuple[str, str], phrase: str) -> None:
    assert phrase in targets[key]["comment"]


def test_each_target_is_about_33952_and_carries_source_and_as_of(targets: dict) -> None:
    for key, target in targets.items():
        assert target["dependsOn"] == [{"property": BASE_CODE, "system": CPT, "value": "33952"}], key
        assert target["equivalence"] == "wider"
        assert "Source: " in target["comment"] and "As of 20" in target["comment"], key


def test_the_usable_value_set_is_the_map_minus_the_unusable_categories(content: Any, targets: dict) -> None:
    usable = {key for key, t in targets.items() if t["code"] not in NOT_USABLE}
    assert content.value_set_codes("ValueSet/cpt-33952-modifiers") == usable
    assert (CPT, "62") not in usable and (CPT, "22") in usable


def test_applicability_codes_are_defined_and_modifiers_exist_in_their_code_systems(
    content: Any, targets: dict
) -> None:
    categories = content.concepts(APPLICABILITY)
    assert {
        "usable",
        "documentation-required",
        "ncci-bypass-only",
        "not-paid-medicare",
        "not-applicable",
        "clinically-inconsistent",
        "facility-claim-only",
        "other-line",
    } <= set(categories)
    assert all(c["definition"] for c in categories.values())
    for system, code in targets:
        assert content.prop(content.concepts(system)[code], "modifier") is True


def test_the_hcpcs_fragment_holds_the_16_listed_modifiers(content: Any) -> None:
    assert set(content.concepts(HCPCS)) == {
        "XE",
        "XS",
        "XP",
        "XU",
        "LT",
        "RT",
        "AS",
        "TC",
        "FT",
        "GC",
        "CA",
        "Q0",
        "Q1",
        "PO",
        "PN",
        "ER",
    }
