"""Site of service (33952 has no non-facility price) and the cannulation note checklist.

Scenario facts: ServiceRequest.locationCode (CMS POS), Encounter.class and a contained Location with a
POS type; ServiceRequest.reasonCode, bodySite, code.text; Consent and Condition in the prefetch.
"""

from __future__ import annotations

import pytest

from tests.cds_hooks.stubs import ORDER_SIGN, cards_of, encounter, order_sign, service_request


@pytest.mark.parametrize(
    ("order_pos", "encounter_resource", "expected_rule"),
    [
        ("11", None, "non-facility-setting"),
        (None, encounter("AMB", pos="11"), "non-facility-setting"),
        (None, encounter("AMB"), "ambulatory-setting-unconfirmed"),
        (None, encounter("HH"), "non-facility-setting"),
        ("21", None, None),
        (None, encounter("IMP"), None),
        (None, encounter("AMB", pos="22"), None),
        (None, None, None),
    ],
)
def test_site_of_service(call, order_pos, encounter_resource, expected_rule) -> None:
    order = service_request("sr-1", "33952", pos=order_pos)
    response = call(ORDER_SIGN, order_sign([order], encounter_resource=encounter_resource))
    rules = [c["extension"]["org.cpt-plugin.rule"]["id"] for c in cards_of(response, topic="site-of-service")]
    assert rules == ([expected_rule] if expected_rule else [])
    if expected_rule:
        [card] = cards_of(response, topic="site-of-service")
        assert card["indicator"] == "warning"
        assert "non-facility" in card["detail"] or "office" in card["detail"]


def test_office_pos_11__card_names_where_it_was_found(call) -> None:
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952", pos="11")]))
    [card] = cards_of(response, topic="site-of-service")
    assert card["summary"].endswith("non-facility: POS 11 (office) on ServiceRequest.locationCode")


def test_documentation__order_context_shows_some_elements_and_links_the_form(call) -> None:
    order = service_request(
        "sr-1", "33952", reason=True, body_site=True, text="VV ECMO, 25 Fr drainage cannula"
    )
    consent = {"resourceType": "Consent", "id": "c1", "status": "active"}
    response = call(ORDER_SIGN, order_sign([order], consents=[consent]))
    [card] = cards_of(response, topic="documentation")
    assert card["indicator"] == "info"
    table = card["detail"]
    for shown in (
        "Indication | yes",
        "Consent | yes",
        "ECMO mode (VA or VV) | yes",
        "Cannula size, for each cannula | yes",
        "Cannula vessel or site, for each cannula | yes",
    ):
        assert shown in table
    for missing in ("Complications | not yet", "Disposition | not yet", "Imaging guidance used | not yet"):
        assert missing in table
    assert "Fluoroscopy is included in 33952 when performed; it is not required" in table
    assert card["summary"].startswith("Cannulation note for 33952: the order already shows 6 of 10 elements")
    # Element names hold commas, so the ones still to document are listed with semicolons.
    still = "Still to document: **Imaging guidance used; Complications; Concurrent procedures; Disposition**"
    assert still in card["detail"]
    [link] = card["links"]
    assert link == {
        "label": "ECMO/ECLS cannulation note (Questionnaire)",
        "url": "http://localhost/fhir/Questionnaire/ecmo-cannulation-note",
        "type": "absolute",
    }


def test_documentation__no_reason__active_conditions_offered_as_the_indication(call) -> None:
    condition = {
        "resourceType": "Condition",
        "id": "cond-1",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {
            "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J80", "display": "ARDS"}]
        },
    }
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952")], conditions=[condition]))
    [card] = cards_of(response, topic="documentation")
    assert "Indication | not yet" in card["detail"]
    assert "may be the indication: J80 ARDS" in card["detail"]


def test_documentation__only_for_insertion_codes(call) -> None:
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33966")]))
    assert cards_of(response, topic="documentation") == []
