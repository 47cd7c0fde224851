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
        (None, encounter("HH"), "setting-not-verified"),
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
    if expected_rule and expected_rule != "setting-not-verified":
        [card] = cards_of(response, topic="site-of-service")
        assert card["indicator"] == "warning"
        assert "non-facility" in card["detail"] or "office" in card["detail"]


def test_office_pos_11__card_names_where_it_was_found(call) -> None:
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952", pos="11")]))
    [card] = cards_of(response, topic="site-of-service")
    assert card["summary"].endswith("non-facility: POS 11 (office) on ServiceRequest.locationCode")


def test_documentation__lists_only_what_the_order_does_not_show_and_links_the_form(call) -> None:
    order = service_request(
        "sr-1", "33952", reason=True, body_site=True, text="VV ECMO, 25 Fr drainage cannula"
    )
    response = call(ORDER_SIGN, order_sign([order]))
    [card] = cards_of(response, topic="documentation")
    assert card["indicator"] == "info"
    assert card["summary"] == "Cannulation note for 33952: still to show Imaging guidance used"
    detail = card["detail"]
    assert "Not yet shown by the order for **33952**: **Imaging guidance used**." in detail
    assert "fluoroscopic guidance is included in 33952 when performed; it is not required" in detail
    # No reference table, and nothing a coding source rates low or does not name.
    assert "| Element |" not in detail
    for weak in ("Consent", "Cannula size", "Complications", "Disposition"):
        assert weak not in detail
    assert card["links"] == [
        {
            "label": "ECMO/ECLS cannulation note (Questionnaire)",
            "url": "http://localhost/fhir/Questionnaire/ecmo-cannulation-note",
            "type": "absolute",
        },
        {
            "label": "CPT 33952: what the code covers, its age band and edits",
            "url": "http://localhost/codes/33952",
            "type": "absolute",
        },
    ]


def test_documentation__nothing_missing__no_card(call) -> None:
    order = service_request(
        "sr-1", "33952", reason=True, body_site=True, text="VV ECMO under fluoroscopic guidance"
    )
    assert cards_of(call(ORDER_SIGN, order_sign([order])), topic="documentation") == []


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
    assert card["detail"].startswith("Not yet shown by the order for **33952**: **Indication; ")
    assert "may be the indication: J80 ARDS" in card["detail"]


def test_documentation__only_for_insertion_codes(call) -> None:
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33966")]))
    assert cards_of(response, topic="documentation") == []


# A payer's own facility list (UnitedHealthcare's multiple-procedure policy: POS 26, 31, 34, 41, 42, 51-53,
# 56, 61 besides CMS's 19, 21-24) holds for that payer only; elsewhere such a POS is not classified.
@pytest.mark.parametrize("payer", ["Aetna", "Medicare Part B", "Acme Health Plan", None])
def test_other_payer_in_a_uhc_listed_pos__setting_not_verified(call, payer) -> None:
    order = service_request("sr-1", "33952", pos="31")
    response = call(ORDER_SIGN, order_sign([order], payer=payer))
    [card] = cards_of(response, topic="site-of-service")
    assert card["extension"]["org.cpt-plugin.rule"]["id"] == "setting-not-verified"
    assert card["indicator"] == "info"
    assert "is not verified" in card["summary"]
    assert "Whether it counts as a facility is not verified." in card["detail"]
    # UnitedHealthcare's list is neither applied nor stated as fact for another payer.
    assert "UnitedHealthcare" not in card["detail"]
    assert "POS 31 (" not in card["detail"]


def test_uhc_in_a_pos_its_policy_lists_as_facility__no_setting_card(call) -> None:
    order = service_request("sr-1", "33952", pos="31")
    response = call(ORDER_SIGN, order_sign([order], payer="UnitedHealthcare"))
    assert cards_of(response, topic="site-of-service") == []


def test_uhc_in_a_pos_on_no_list__not_verified_and_says_so_of_uhc_list(call) -> None:
    order = service_request("sr-1", "33952", pos="12")
    response = call(ORDER_SIGN, order_sign([order], payer="UnitedHealthcare"))
    [card] = cards_of(response, topic="site-of-service")
    assert card["extension"]["org.cpt-plugin.rule"]["id"] == "setting-not-verified"
    assert "POS 12 is not on UnitedHealthcare's facility list either." in card["detail"]


@pytest.mark.parametrize("payer", ["Aetna", "UnitedHealthcare"])
def test_office_pos_11__non_facility_for_every_payer_from_the_cms_code_set(call, payer) -> None:
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952", pos="11")], payer=payer))
    [card] = cards_of(response, topic="site-of-service")
    assert card["extension"]["org.cpt-plugin.rule"]["id"] == "non-facility-setting"
    assert "UnitedHealthcare's" not in card["detail"]


def test_uhc_facility_list_is_attributed_to_uhc_in_the_fact_table(cds_app) -> None:
    table = cds_app.extensions["cds_hooks"].tables.files["place-of-service"]
    [uhc] = table["payerFacility"]
    assert uhc["payer"] == "uhc" and uhc["confidence"] == "Medium"
    assert uhc["finding"].startswith("UnitedHealthcare's")
    assert "openpayer" in uhc["source"]["label"] and uhc["source"]["url"].startswith(
        "https://www.uhcprovider.com"
    )
    assert "facilityOtherPayers" not in table


def test_home_health_encounter__setting_not_verified_not_called_non_facility(call) -> None:
    # Only the office (POS 11) is a sourced non-facility setting; a home-health encounter is not judged.
    order = service_request("sr-1", "33952")
    response = call(ORDER_SIGN, order_sign([order], encounter_resource=encounter("HH"), payer="Aetna"))
    [card] = cards_of(response, topic="site-of-service")
    assert card["indicator"] == "info"
    assert "encounter class HH" in card["summary"] and "not verified" in card["summary"]
    assert "An encounter class is not a place of service, and no source maps this one" in card["detail"]
    assert "not a facility" not in card["detail"]
