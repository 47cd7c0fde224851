"""What the cards say, read as a certified coder would: each sentence fits the order it is on and says no
more than its sources. One test per finding of the coder's review (Blue policy on a child, PTP row notes,
modifier 25, contradictory suggestions, Medicare global and prior authorization, modifiers on the 33952
line, low-confidence documentation, places of service, 29 February births).

Scenario facts: Patient.birthDate, ServiceRequest CPT codes, Coverage.payor display.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.cds_hooks.card_checks import contradictions
from tests.cds_hooks.stubs import ORDER_SIGN, cards_of, order_sign, service_request

CPT = "http://www.ama-assn.org/go/cpt"


def details(cards: list[dict[str, Any]]) -> str:
    return "\n".join(c["summary"] + "\n" + c["detail"] for c in cards)


# --- Blue plan policy: adults only, used by several Blue plans --------------------------------------


def test_blue_plan_five_year_old__no_adult_criteria_and_coverage_not_conditional(call) -> None:
    order = service_request("sr-1", "33951", occurrence="2026-11-20")
    response = call(
        ORDER_SIGN, order_sign([order], birth_date="2021-06-01", payer="Blue Cross Blue Shield of Texas")
    )
    [card] = cards_of(response, topic="payer-policy")
    text = card["summary"] + card["detail"]
    assert "criteria apply" not in text
    assert "medically necessary in adults" not in text
    assert "BCBSA 8.01.60 is a policy for adults, so its criteria are not the ones to check" in text
    [action] = response["systemActions"]
    [coverage] = [e for e in action["resource"]["extension"] if e["url"].endswith("ext-coverage-information")]
    covered = [p["valueCode"] for p in coverage["extension"] if p["url"] == "covered"]
    assert covered == ["indeterminate"]


def test_blue_plan_adult__policy_attributed_not_asserted(call) -> None:
    response = call(
        ORDER_SIGN, order_sign([service_request("sr-1", "33952")], payer="Blue Cross Blue Shield of Texas")
    )
    [card] = cards_of(response, topic="payer-policy")
    assert "criteria apply" not in card["summary"]
    assert "used by several Blue plans" in card["summary"] + card["detail"]
    assert "medically necessary in adults" in card["detail"]


# --- PTP: row notes on their own pairs, nothing addressed to us ------------------------------------


def test_ptp_row_note__only_on_the_pair_it_is_about(call) -> None:
    orders = [service_request("sr-1", "33952"), service_request("sr-2", "36410")]
    [card] = cards_of(call(ORDER_SIGN, order_sign(orders)), topic="coding-edit")
    assert "Fluoroscopy (76000)" not in card["detail"]
    orders = [service_request("sr-1", "33952"), service_request("sr-2", "76000")]
    [card] = cards_of(call(ORDER_SIGN, order_sign(orders)), topic="coding-edit")
    assert "Fluoroscopy (76000) is included in 33952 when performed" in card["detail"]


def test_ptp_anesthesia_pair__no_source_keeping_note(call) -> None:
    orders = [service_request("sr-1", "33952"), service_request("sr-2", "01924")]
    [card] = cards_of(call(ORDER_SIGN, order_sign(orders)), topic="coding-edit")
    for internal in ("domain summary", "Confirm against", "CMS file", "snapshot summary"):
        assert internal not in card["detail"]


# --- Modifier 25 and the scope of a PTP edit -----------------------------------------------------


def test_em_pair__modifier_25_is_a_significant_separate_em_on_the_em_line(call) -> None:
    orders = [service_request("sr-1", "33952"), service_request("sr-2", "99291")]
    [card] = cards_of(call(ORDER_SIGN, order_sign(orders)), topic="coding-edit")
    assert "separate session, site or encounter" not in card["detail"]
    assert "significant and separately identifiable" in card["detail"]
    assert "goes on the **99291** line, not on 33952" in card["detail"]
    assert "Modifier **59**" not in card["detail"]


@pytest.mark.parametrize("other", ["99155", "33958", "76000", "99291", "36556"])
def test_every_ptp_card__says_same_provider_and_same_date(call, other) -> None:
    orders = [service_request("sr-1", "33952"), service_request("sr-2", other)]
    [card] = cards_of(call(ORDER_SIGN, order_sign(orders)), topic="coding-edit")
    assert "same provider" in card["detail"] and "same date of service" in card["detail"]


def test_sedation_by_another_provider__the_note_says_whom_the_edit_concerns(call) -> None:
    orders = [service_request("sr-1", "33952"), service_request("sr-2", "99156")]
    [card] = cards_of(call(ORDER_SIGN, order_sign(orders)), topic="coding-edit")
    assert "Moderate sedation by another provider." not in card["detail"]
    assert "the edit concerns the same provider reporting both codes" in card["detail"]


# --- One request, one story ---------------------------------------------------------------------


def test_adult_with_33951_and_33952__age_and_code_pair_cards_agree(call) -> None:
    orders = [service_request("sr-1", "33951"), service_request("sr-2", "33952")]
    response = call(ORDER_SIGN, order_sign(orders))
    [age] = cards_of(response, topic="age-criteria")
    assert age["summary"].endswith("change the order to 33952")
    assert contradictions(response) == []
    [pair] = cards_of(response, topic="coding-edit")
    assert "Remove the 33952 order" not in str(pair.get("suggestions"))


# --- Medicare: what applies to the codes ordered ---------------------------------------------------


@pytest.mark.parametrize("codes", [["33946"], ["33948"], ["33946", "33948"]])
def test_medicare_without_a_000_global_code__no_000_global_sentence(call, codes) -> None:
    orders = [service_request(f"sr-{i}", code) for i, code in enumerate(codes)]
    [card] = cards_of(call(ORDER_SIGN, order_sign(orders, payer="Medicare")), topic="payer-policy")
    assert "000 global" not in card["detail"] and "global 000" not in card["detail"]
    assert "with 33952" not in card["detail"]


def test_medicare__no_commercial_prior_authorization_timing(call) -> None:
    order = service_request("sr-1", "33952", priority="routine")
    [card] = cards_of(call(ORDER_SIGN, order_sign([order], payer="Medicare")), topic="payer-policy")
    assert "business days" not in card["detail"]
    assert "ACA" not in card["detail"]


# --- Modifiers on the 33952 line --------------------------------------------------------------------


@pytest.mark.parametrize("modifier", ["25", "FT"])
def test_33952_with_an_em_line_modifier__invalid_and_not_in_the_usable_set(cds_client, modifier) -> None:
    reply = cds_client.get(
        "/fhir/CodeSystem/$validate-code", query_string={"url": CPT, "code": f"33952:{modifier}"}
    )
    params = {p["name"]: p for p in reply.get_json()["parameter"]}
    assert params["result"]["valueBoolean"] is False
    assert "goes on another claim line" in params["message"]["valueString"]
    reply = cds_client.get(
        "/fhir/ValueSet/$validate-code",
        query_string={
            "url": "https://fhir.cpt-plugin.org/ValueSet/cpt-33952-modifiers",
            "system": CPT,
            "code": modifier,
        },
    )
    params = {p["name"]: p for p in reply.get_json()["parameter"]}
    assert params["result"]["valueBoolean"] is False


# --- Documentation, places of service, 29 February ------------------------------------------------


def test_documentation__no_must_for_low_confidence_or_unsourced_elements(call) -> None:
    [card] = cards_of(call(ORDER_SIGN, order_sign([service_request("sr-1", "33952")])), topic="documentation")
    assert "must document" not in card["detail"]
    for weak in ("Consent", "Cannula size", "Complications", "Disposition"):
        assert weak not in card["summary"] + card["detail"]


def test_facility_places_of_service__not_called_where_ecmo_is_billed(cds_client) -> None:
    for path in ("ValueSet/facility-place-of-service", "CodeSystem/cms-pos-fragment"):
        reply = cds_client.get(f"/fhir/{path}")
        if reply.status_code == 404:  # read by url instead of id
            continue
        assert "where ECMO cannulation is billed" not in reply.get_json()["description"]


def test_29_february_birth__no_state_statute_stated_as_general_law(call) -> None:
    order = service_request("sr-1", "33952", occurrence="2026-02-28")
    response = call(ORDER_SIGN, order_sign([order], birth_date="2020-02-29"))
    [card] = cards_of(response, topic="age-criteria")
    assert "Maryland" not in card["detail"]
    assert "becomes a year older on 1 March" not in card["detail"]


def test_ptp_pair_on_different_dates__no_code_pair_card(call) -> None:
    # A PTP edit concerns one provider, one patient, one date of service.
    orders = [
        service_request("sr-1", "33952", occurrence="2026-11-20"),
        service_request("sr-2", "33958", occurrence="2026-11-22"),
    ]
    assert cards_of(call(ORDER_SIGN, order_sign(orders)), topic="coding-edit") == []


def test_add_on_without_primary_and_over_its_mue__one_coding_card_for_the_order(call) -> None:
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33987", quantity=2)]))
    [card] = cards_of(response, topic="coding-edit")
    assert card["summary"].startswith("Add-on 33987 is reportable only with")
    assert "**2 units of 33987 exceed its MUE of 1 per day" in card["detail"]
    assert [s["label"] for s in card["suggestions"]] == [
        "Remove the 33987 order (ServiceRequest/sr-1)",
        "Set the quantity of the 33987 order (ServiceRequest/sr-1) to 1",
    ]
    assert card["selectionBehavior"] == "at-most-one"
    # Both rules' sources stay on the card.
    assert "Rule `ncci-add-on-without-primary`" in card["detail"]
    assert "Rule `ncci-mue-exceeded`" in card["detail"]


def test_adult_33957_with_33946__age_card_changes_the_order_and_pair_card_suggests_nothing(call) -> None:
    orders = [service_request("sr-1", "33946"), service_request("sr-2", "33957")]
    response = call(ORDER_SIGN, order_sign(orders))
    [age] = cards_of(response, topic="age-criteria")
    assert age["suggestions"][0]["actions"][0]["resource"]["id"] == "sr-2"
    [pair] = cards_of(response, topic="coding-edit")
    assert "suggestions" not in pair
    assert "No change is suggested on this card: a card above already suggests a change" in pair["detail"]
