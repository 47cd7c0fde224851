"""The documentation-element CodeSystem, the cannulation-note Questionnaire and the card-topic CodeSystem."""

from __future__ import annotations

from typing import Any

DOC = "https://fhir.cpt-plugin.org/CodeSystem/ecmo-documentation-element"
TOPIC = "https://fhir.cpt-plugin.org/CodeSystem/cds-card-topic"
ELEMENTS = {
    "indication",
    "consent",
    "ecmo-mode",
    "cannula-size",
    "cannula-site",
    "approach",
    "imaging-guidance",
    "complications",
    "concurrent-procedures",
    "disposition",
}


def items(item_list: list[dict]) -> list[dict]:
    out = []
    for item in item_list:
        out.append(item)
        out += items(item.get("item", []))
    return out


def test_documentation_elements_are_exactly_the_ten_with_definitions_and_sources(content: Any) -> None:
    concepts = content.concepts(DOC)
    assert set(concepts) == ELEMENTS
    for code, concept in concepts.items():
        assert concept["definition"] and content.prop(concept, "source"), code


def test_imaging_guidance_says_fluoroscopy_is_included_when_performed_not_required(content: Any) -> None:
    definition = content.concepts(DOC)["imaging-guidance"]["definition"]
    assert "included in 33952 when performed" in definition
    assert "not required" in definition


def test_every_question_carries_a_documentation_code_and_every_element_is_asked(content: Any) -> None:
    q = content.get("Questionnaire/ecmo-cannulation-note")
    all_items = items(q["item"])
    asked = set()
    for item in all_items:
        if item["type"] not in {"group", "display"}:
            assert item.get("code"), item["linkId"]
        for coding in item.get("code", []):
            assert coding["system"] == DOC
            asked.add(coding["code"])
    assert asked == ELEMENTS


def test_cannula_details_repeat_per_cannula(content: Any) -> None:
    q = content.get("Questionnaire/ecmo-cannulation-note")
    [cannula] = [i for i in q["item"] if i["linkId"] == "cannula"]
    assert cannula["repeats"] is True
    assert {c["code"] for i in cannula["item"] for c in i["code"]} == {
        "cannula-size",
        "cannula-site",
        "approach",
    }


def test_answer_value_sets_offer_the_mode_approach_and_imaging_answers(content: Any) -> None:
    q = content.get("Questionnaire/ecmo-cannulation-note")
    by_link = {i["linkId"]: i for i in items(q["item"])}
    mode = content.value_set_codes(by_link["ecmo-mode"]["answerValueSet"])
    approach = content.value_set_codes(by_link["cannula.approach"]["answerValueSet"])
    imaging = content.value_set_codes(by_link["imaging-guidance.modality"]["answerValueSet"])
    assert {c for _, c in mode} == {"VA", "VV"}
    assert {c for _, c in approach} == {"percutaneous", "open", "central"}
    assert "fluoroscopy" in {c for _, c in imaging}
    assert by_link["imaging-guidance.used"]["type"] == "boolean"


def test_card_topics_are_the_six_codes_with_definitions(content: Any) -> None:
    topics = content.concepts(TOPIC)
    assert set(topics) == {
        "age-criteria",
        "documentation",
        "coding-edit",
        "site-of-service",
        "payer-policy",
        "data-quality",
    }
    assert all(t["definition"] for t in topics.values())


def test_facility_place_of_service_uses_official_cms_names(content: Any) -> None:
    pos = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
    [include] = content.get("ValueSet/facility-place-of-service")["compose"]["include"]
    assert include["system"] == pos
    assert {c["code"]: c["display"] for c in include["concept"]} == {
        "19": "Off Campus-Outpatient Hospital",
        "21": "Inpatient Hospital",
        "22": "On Campus-Outpatient Hospital",
        "23": "Emergency Room – Hospital",
        "24": "Ambulatory Surgical Center",
    }
    assert "11" not in {c["code"] for c in include["concept"]}


def test_disposition_is_marked_not_verified_and_cites_no_outside_source(content: Any) -> None:
    concept = content.concepts(DOC)["disposition"]
    assert content.prop(concept, "confidence") == "not verified"
    text = concept["definition"] + content.prop(concept, "source")
    assert "Not verified" in concept["definition"]
    # No source in the research names disposition: nothing is attributed to an organisation.
    for claim in ("Joint Commission", "aornguidelines"):
        assert claim not in text


INDICATION = "https://fhir.cpt-plugin.org/CodeSystem/ecmo-indication"


def test_indications_triple_s_calls_investigational_are_not_credited_to_it(content: Any) -> None:
    # Triple-S (BCBSA 8.01.60) calls ECMO for acute refractory cardiogenic shock and ECPR investigational.
    concepts = content.concepts(INDICATION)
    for code in ("cardiogenic-shock", "cardiac-arrest-ecpr"):
        concept = concepts[code]
        assert "investigational" in concept["definition"], code
        assert "; Triple-S 08.001.039" not in content.prop(concept, "source"), code
    assert "Triple-S 08.001.039" in content.prop(concepts["acute-respiratory-failure"], "source")


def test_elements_from_undated_articles_carry_no_borrowed_date(content: Any) -> None:
    # The AAPC articles and the clinician's template are undated in the research: 2023-01-30 is the date of
    # the CMS PFS file, not of these sources, so these elements say "date not given" instead.
    for code, concept in content.concepts(DOC).items():
        source = content.prop(concept, "source")
        if "AAPC" in source or "dictationroom" in source:
            assert content.prop(concept, "as-of") in (None, "2024-07-01"), code
            if content.prop(concept, "as-of") is None:
                assert "date not given" in source, code
    assert content.prop(content.concepts(DOC)["indication"], "as-of") is None


def test_age_bands_are_dated_by_their_own_source_not_the_pfs_file(content: Any) -> None:
    bands = content.concepts("https://fhir.cpt-plugin.org/CodeSystem/ecmo-age-band")
    assert set(bands) == {"under-6", "6-and-older"}
    for code, concept in bands.items():
        assert content.prop(concept, "as-of") == "2015-02", code
        assert "ATS coding newsletter, February 2015" in content.prop(concept, "source"), code


def test_facility_value_set__uhc_list_attributed_to_uhc_not_stated_as_general(content: Any) -> None:
    description = content.get("ValueSet/facility-place-of-service")["description"]
    assert "Other facility-rate POS codes" not in description
    assert "UnitedHealthcare's multiple-procedure policy also lists POS 26, 31" in description
    assert "not a CMS classification" in description
