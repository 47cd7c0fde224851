"""Age-split counterparts both ways, the approach/age map, and the age value sets."""

from __future__ import annotations

from typing import Any

import pytest

CPT = "http://www.ama-assn.org/go/cpt"
AGE_BAND = "https://fhir.cpt-plugin.org/CodeSystem/ecmo-age-band"
AXIS = "https://fhir.cpt-plugin.org/CodeSystem/ecmo-procedure-axis"
# under-6 code, 6-and-older code: insert, reposition, remove x percutaneous, open, central (domain file 1a).
PAIRS = [
    ("33951", "33952"),
    ("33953", "33954"),
    ("33955", "33956"),
    ("33957", "33958"),
    ("33959", "33962"),
    ("33963", "33964"),
    ("33965", "33966"),
    ("33969", "33984"),
    ("33985", "33986"),
]
NO_AGE_SPLIT = {"33946", "33947", "33948", "33949", "33987", "33988", "33989"}


def age_map(content: Any) -> dict[str, list[dict]]:
    cm = content.get("ConceptMap/ecmo-age-band")
    [group] = cm["group"]
    assert group["source"] == CPT and group["target"] == CPT
    return {e["code"]: e["target"] for e in group["element"]}


@pytest.mark.parametrize(("young", "older"), PAIRS)
def test_each_age_split_pair_maps_both_ways_with_the_target_age_band(
    content: Any, young: str, older: str
) -> None:
    mapped = age_map(content)
    [to_older] = mapped[young]
    [to_young] = mapped[older]
    assert to_older["code"] == older
    assert to_older["dependsOn"] == [{"property": AGE_BAND, "system": AGE_BAND, "value": "6-and-older"}]
    assert to_young["code"] == young
    assert to_young["dependsOn"] == [{"property": AGE_BAND, "system": AGE_BAND, "value": "under-6"}]


def test_only_age_split_codes_are_mapped(content: Any) -> None:
    assert set(age_map(content)) == {c for pair in PAIRS for c in pair}
    assert not NO_AGE_SPLIT & set(age_map(content))


def test_33952_translates_to_33951_for_under_6(content: Any) -> None:
    [target] = age_map(content)["33952"]
    assert target["code"] == "33951"
    assert target["dependsOn"][0]["value"] == "under-6"


def test_counterparts_share_action_and_approach_and_differ_in_age(content: Any) -> None:
    cpt = content.concepts(CPT)
    for young, older in PAIRS:
        for prop in ("action", "approach"):
            assert content.prop(cpt[young], prop) == content.prop(cpt[older], prop)
        assert content.prop(cpt[young], "age-max") == 5 and content.prop(cpt[older], "age-min") == 6


def _approach_targets(content: Any) -> dict[tuple, str]:
    cm = content.get("ConceptMap/ecmo-approach-age-to-cpt")
    [group] = cm["group"]
    assert group["source"] == AXIS and group["target"] == CPT
    keyed = {}
    for element in group["element"]:
        for target in element["target"]:
            axes = tuple(
                sorted(
                    (d["property"].rsplit("#", 1)[-1].rsplit("/", 1)[-1], d["value"])
                    for d in target["dependsOn"]
                )
            )
            key = (element["code"], axes)
            assert key not in keyed, f"{key} maps to two codes"
            keyed[key] = target["code"]
    return keyed


def test_the_approach_map_derives_every_family_code_from_its_properties(content: Any) -> None:
    cpt = content.concepts(CPT)
    keyed = _approach_targets(content)
    expected = {}
    for code, concept in cpt.items():
        if content.prop(concept, "modifier"):
            continue
        axes = [(p, content.prop(concept, p)) for p in ("approach", "ecmo-mode") if content.prop(concept, p)]
        if content.prop(concept, "age-max") == 5:
            axes.append(("ecmo-age-band", "under-6"))
        elif content.prop(concept, "age-min") == 6:
            axes.append(("ecmo-age-band", "6-and-older"))
        expected[(content.prop(concept, "action"), tuple(sorted(axes)))] = code
    assert keyed == expected
    assert keyed[("insert", (("approach", "percutaneous"), ("ecmo-age-band", "6-and-older")))] == "33952"
    assert keyed[("insert", (("approach", "percutaneous"), ("ecmo-age-band", "under-6")))] == "33951"
    assert keyed[("initiate", (("ecmo-mode", "VA"),))] == "33947"


def test_insertion_value_sets_split_by_age(content: Any) -> None:
    older = content.value_set_codes("ValueSet/ecmo-insertion-age-6-and-older")
    young = content.value_set_codes("ValueSet/ecmo-insertion-under-6")
    assert older == {(CPT, c) for c in ("33952", "33954", "33956")}
    assert young == {(CPT, c) for c in ("33951", "33953", "33955")}
    assert (CPT, "33951") not in older and (CPT, "33952") in older
    assert content.value_set_codes("ValueSet/ecmo-cannula-insertion") == older | young


def test_family_value_sets_by_age_include_the_codes_without_an_age_split(content: Any) -> None:
    family = content.value_set_codes("ValueSet/ecmo-ecls-family")
    assert len(family) == 25
    older = {c for _, c in content.value_set_codes("ValueSet/ecmo-codes-age-6-and-older")}
    young = {c for _, c in content.value_set_codes("ValueSet/ecmo-codes-under-6")}
    assert older == {o for _, o in PAIRS} | NO_AGE_SPLIT
    assert young == {y for y, _ in PAIRS} | NO_AGE_SPLIT
    for url in ("ValueSet/ecmo-codes-age-6-and-older", "ValueSet/ecmo-codes-under-6"):
        assert "no age split" in content.get(url)["description"]


def test_age_band_code_system_has_the_two_bands(content: Any) -> None:
    bands = content.concepts(AGE_BAND)
    assert set(bands) == {"under-6", "6-and-older"}
    assert content.prop(bands["under-6"], "age-max") == 5
    assert content.prop(bands["6-and-older"], "age-min") == 6
