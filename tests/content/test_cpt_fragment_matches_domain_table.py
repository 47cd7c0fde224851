"""The CPT fragment against the domain family table (written out here, so a wrong edit fails)."""

from __future__ import annotations

import re
from typing import Any

import pytest

CPT = "http://www.ama-assn.org/go/cpt"


def prop(concept: dict[str, Any], code: str) -> Any:
    return next(
        (
            v
            for p in concept.get("property", [])
            if p["code"] == code
            for k, v in p.items()
            if k.startswith("value")
        ),
        None,
    )


# code: (age-min, age-max, approach, action, global days, add-on) per the domain file section 1a.
FAMILY = {
    "33946": (0, None, None, "initiate", "XXX", False),
    "33947": (0, None, None, "initiate", "XXX", False),
    "33948": (0, None, None, "manage", "XXX", False),
    "33949": (0, None, None, "manage", "XXX", False),
    "33951": (0, 5, "percutaneous", "insert", "000", False),
    "33952": (6, None, "percutaneous", "insert", "000", False),
    "33953": (0, 5, "open", "insert", "000", False),
    "33954": (6, None, "open", "insert", "000", False),
    "33955": (0, 5, "central", "insert", "000", False),
    "33956": (6, None, "central", "insert", "000", False),
    "33957": (0, 5, "percutaneous", "reposition", "000", False),
    "33958": (6, None, "percutaneous", "reposition", "000", False),
    "33959": (0, 5, "open", "reposition", "000", False),
    "33962": (6, None, "open", "reposition", "000", False),
    "33963": (0, 5, "central", "reposition", "000", False),
    "33964": (6, None, "central", "reposition", "000", False),
    "33965": (0, 5, "percutaneous", "remove", "000", False),
    "33966": (6, None, "percutaneous", "remove", "000", False),
    "33969": (0, 5, "open", "remove", "000", False),
    "33984": (6, None, "open", "remove", "000", False),
    "33985": (0, 5, "central", "remove", "000", False),
    "33986": (6, None, "central", "remove", "000", False),
    "33987": (0, None, "open", "graft", "ZZZ", True),
    "33988": (0, None, "central", "vent", "000", False),
    "33989": (0, None, "central", "remove-vent", "000", False),
}
MODES = {"33946": "VV", "33947": "VA", "33948": "VV", "33949": "VA"}
CPT_MODIFIERS = {
    "22",
    "25",
    "26",
    "50",
    "51",
    "52",
    "53",
    "57",
    "58",
    "59",
    "62",
    "63",
    "66",
    "73",
    "74",
    "76",
    "77",
    "78",
    "79",
    "80",
    "81",
    "82",
}
# Phrases of the CPT descriptor style that our own wording must not reproduce.
DESCRIPTOR_PHRASES = [
    "insertion of peripheral (arterial and/or venous) cannula(e)",
    "(arterial and/or venous)",
    "cannula(e)",
    "provided by physician;",
    "includes fluoroscopic guidance, when performed",
    "extracorporeal membrane oxygenation (ecmo)/extracorporeal life support (ecls)",
    "6 years and older (includes",
    "birth through 5 years of age (includes",
]


@pytest.fixture(scope="module")
def cpt(content: Any) -> dict:
    return content.concepts(CPT)


def test_the_fragment_holds_exactly_the_25_family_codes_and_the_listed_modifiers(cpt: dict) -> None:
    family = {c for c, concept in cpt.items() if prop(concept, "modifier") is False}
    modifiers = {c for c, concept in cpt.items() if prop(concept, "modifier") is True}
    assert family == set(FAMILY)
    assert len(family) == 25
    assert modifiers == CPT_MODIFIERS
    assert set(cpt) == family | modifiers


@pytest.mark.parametrize("code", sorted(FAMILY))
def test_each_code_has_the_age_band_approach_action_global_and_add_on_of_the_domain_table(
    cpt: dict, code: str
) -> None:
    age_min, age_max, approach, action, global_days, add_on = FAMILY[code]
    concept = cpt[code]
    assert prop(concept, "age-min") == age_min
    assert prop(concept, "age-max") == age_max
    assert prop(concept, "approach") == approach
    assert prop(concept, "action") == action
    assert prop(concept, "global-days") == global_days
    assert prop(concept, "add-on") is add_on
    assert prop(concept, "ecmo-mode") == MODES.get(code)


def test_33952_is_for_6_and_older_and_percutaneous(cpt: dict) -> None:
    concept = cpt["33952"]
    assert prop(concept, "age-min") == 6
    assert prop(concept, "age-max") is None
    assert prop(concept, "approach") == "percutaneous"
    assert "percutaneous" in concept["display"].lower()
    assert "6 and older" in concept["display"]
    assert "adults included" in concept["definition"]
    assert "not required" in concept["definition"]


def test_33987_is_the_only_add_on_code(cpt: dict) -> None:
    add_ons = [c for c, concept in cpt.items() if prop(concept, "add-on") is True]
    assert add_ons == ["33987"]
    assert "33952 is not a valid primary code" in cpt["33987"]["definition"]


def test_exactly_the_percutaneous_codes_say_percutaneous_so_a_text_filter_finds_them(cpt: dict) -> None:
    for code, expected in FAMILY.items():
        says = "percutaneous" in cpt[code]["display"].lower()
        assert says == (expected[2] == "percutaneous"), code


def test_modifier_00_is_not_a_concept_anywhere(content: Any) -> None:
    for system in (CPT, "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"):
        assert "00" not in content.concepts(system)
    used = set()
    for resource in content.files.values():
        for include in resource.get("compose", {}).get("include", []):
            used |= {c["code"] for c in include.get("concept", [])}
        for group in resource.get("group", []):
            for element in group["element"]:
                used.add(element["code"])
                used |= {t.get("code") for t in element["target"]}
    assert "22" in used
    assert "00" not in used


@pytest.mark.parametrize("code", sorted(FAMILY) + sorted(CPT_MODIFIERS))
def test_displays_and_definitions_are_our_words_not_descriptor_text(cpt: dict, code: str) -> None:
    concept = cpt[code]
    for text in (concept["display"], concept.get("definition", "")):
        lowered = text.lower()
        assert not lowered.startswith("extracorporeal membrane oxygenation"), text
        for phrase in DESCRIPTOR_PHRASES:
            assert phrase not in lowered, (code, phrase)
    assert len(concept["display"]) <= 130


def test_every_concept_carries_its_sources_and_an_as_of_date(cpt: dict) -> None:
    for code, concept in cpt.items():
        assert prop(concept, "source"), code
        assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", prop(concept, "as-of")), code


def test_the_resource_says_the_displays_are_ours_and_carries_the_ama_statement(content: Any) -> None:
    cs = content.get(CPT)
    assert cs["content"] == "fragment"
    assert "OUR OWN PLAIN-LANGUAGE WORDS, NOT AMA DESCRIPTOR TEXT" in cs["description"]
    assert cs["copyright"].startswith(
        "CPT © Copyright 2023 American Medical Association. All rights reserved. "
        "AMA and CPT are registered trademarks of the American Medical Association."
    )
    assert "not a CPT edition" in cs["description"]
    declared = {p["code"]: p for p in cs["property"]}
    for code, kind in {
        "age-min": "integer",
        "age-max": "integer",
        "approach": "code",
        "action": "code",
        "add-on": "boolean",
        "global-days": "string",
        "modifier": "boolean",
        "source": "string",
        "as-of": "dateTime",
    }.items():
        assert declared[code]["type"] == kind
        assert declared[code]["uri"].startswith("https://fhir.cpt-plugin.org/")


def test_unverified_facts_are_marked_as_such(cpt: dict) -> None:
    assert "Not verified" in cpt["33964"]["definition"]
    assert "Medium confidence" in cpt["33986"]["definition"]
