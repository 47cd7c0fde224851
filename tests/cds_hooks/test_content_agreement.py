"""The CDS content agrees with the published terminology content it leans on (one fact, one place)."""

from __future__ import annotations

from plugin.cds_hooks.cards import TOPIC_DISPLAY, TOPIC_SYSTEM
from plugin.terminology import get_registry
from tests.cds_hooks.stubs import CPT, ORDER_SIGN, cards_of, order_sign, service_request

FAMILY = "https://fhir.cpt-plugin.org/ValueSet/ecmo-ecls-family"


def concept_codes(resource):
    return [c["code"] for c in resource["concept"]]


def test_card_topics__are_the_cds_card_topic_codesystem(cds_app) -> None:
    topics = get_registry(cds_app).get(TOPIC_SYSTEM)
    assert {c["code"]: c["display"] for c in topics["concept"]} == TOPIC_DISPLAY


def test_family__is_the_published_valueset(cds_app) -> None:
    value_set = get_registry(cds_app).get(FAMILY)
    codes = {c["code"] for include in value_set["compose"]["include"] for c in include["concept"]}
    assert cds_app.extensions["cds_hooks"].tables.family == codes
    assert len(codes) == 25


def test_facility_places_of_service__agree_with_the_published_valueset(cds_app) -> None:
    value_set = get_registry(cds_app).get("https://fhir.cpt-plugin.org/ValueSet/facility-place-of-service")
    published = {c["code"] for include in value_set["compose"]["include"] for c in include["concept"]}
    assert set(cds_app.extensions["cds_hooks"].tables.files["place-of-service"]["facility"]) == published


def test_documentation_elements__are_the_published_codesystem(cds_app) -> None:
    code_system = get_registry(cds_app).get(
        "https://fhir.cpt-plugin.org/CodeSystem/ecmo-documentation-element"
    )
    rule = cds_app.extensions["cds_hooks"].rules.by_id("cannulation-note-elements")
    checked = [e["code"] for e in rule.params["elements"]]
    assert set(checked) <= set(concept_codes(code_system))
    # The card asks only for elements with a coding source better than one clinician's template.
    for concept in code_system["concept"]:
        source = next(p["valueString"] for p in concept["property"] if p["code"] == "source")
        weak = "low confidence" in source and "AAPC" not in source or "not verified" in source
        assert not (weak and concept["code"] in checked), concept["code"]


def test_every_age_split_code_has_a_counterpart_in_the_concept_map(cds_app) -> None:
    bands = cds_app.extensions["cds_hooks"].rules.context.bands
    split = [code for code in bands.limits if bands.has_limit(code)]
    assert len(split) == 18
    for code in split:
        [(target, band)] = bands.counterparts[code]
        assert bands.has_limit(target) and band in ("under-6", "6-and-older")


def test_fact_tables__family_codes_they_name_are_in_the_cpt_content(cds_app) -> None:
    cpt = set(concept_codes(get_registry(cds_app).get(CPT)))
    tables = cds_app.extensions["cds_hooks"].tables
    assert set(tables.mue) <= cpt
    assert set(tables.add_ons) <= cpt
    assert set(tables.files["medicare-pfs-indicators"]["codes"]) <= cpt


def test_codes_without_age_criteria__no_birth_date_card(call) -> None:
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33946")], birth_date=None))
    assert cards_of(response, topic="data-quality") == []
