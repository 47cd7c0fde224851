"""NCCI edits among the draft orders (PTP 2024-07-01, add-on 2024-06-03, MUE 2024-07-01).

Scenario facts: a 40-year-old (born 1986-03-14); ServiceRequest.code CPT codes; quantityQuantity.value.
"""

from __future__ import annotations

from tests.cds_hooks.stubs import (
    ORDER_SELECT,
    ORDER_SIGN,
    cards_of,
    order_select,
    order_sign,
    service_request,
)


def rules_of(response):
    return sorted(
        c["extension"]["org.cpt-plugin.rule"]["id"] for c in cards_of(response, topic="coding-edit")
    )


def test_40_year_old_33952_77001_33987__coding_edit_cards_for_both(call) -> None:
    orders = [
        service_request("sr-1", "33952"),
        service_request("sr-2", "77001"),
        service_request("sr-3", "33987"),
    ]
    response = call(ORDER_SIGN, order_sign(orders))
    assert rules_of(response) == ["ncci-add-on-without-primary", "ncci-ptp-modifier-bypass"]
    [fluoro] = cards_of(response, rule="ncci-ptp-modifier-bypass")
    assert fluoro["indicator"] == "warning"
    assert fluoro["summary"].startswith("77001 is not paid separately with 33952 for the same provider")
    for modifier in ("59", "XE", "XS", "XP", "XU"):
        assert modifier in fluoro["summary"]
    assert "included in 33952 when performed; it is not required" in fluoro["detail"]
    assert fluoro["suggestions"][0]["actions"] == [
        {
            "type": "delete",
            "description": "Delete ServiceRequest/sr-2 (CPT 77001)",
            "resourceId": "ServiceRequest/sr-2",
        }
    ]
    refs = [r["reference"] for r in fluoro["extension"]["davinci-crd.associated-resource"]]
    assert refs == ["ServiceRequest/sr-1", "ServiceRequest/sr-2"]
    [add_on] = cards_of(response, rule="ncci-add-on-without-primary")
    assert "only with 33953, 33954, 33955 or 33956; none of them is ordered" in add_on["summary"]
    # Whether a modifier can bypass an add-on edit is not in the sources: the card does not say.
    assert "modifier" not in add_on["summary"] + add_on["detail"]
    assert "33952 is not a primary code for 33987." in add_on["detail"]
    assert cards_of(response, rule="ncci-mue-exceeded") == []
    assert cards_of(response, topic="age-criteria") == []


def test_quantity_2__mue_card_mai_3_no_modifier_bypass(call) -> None:
    orders = [service_request("sr-1", "33952", quantity=2), service_request("sr-2", "77001")]
    response = call(ORDER_SIGN, order_sign(orders))
    [card] = cards_of(response, rule="ncci-mue-exceeded")
    assert card["summary"] == "2 units of 33952 exceed its MUE of 1 per day (MAI 3); no modifier bypasses it"
    assert "76, 77, RT or LT do not get past it" in card["detail"]
    [suggestion] = card["suggestions"]
    assert suggestion["isRecommended"] is True
    assert suggestion["actions"][0]["resource"]["quantityQuantity"] == {"value": 1}


def test_same_code_on_two_orders__units_add_up_against_the_mue(call) -> None:
    orders = [service_request("sr-1", "33952"), service_request("sr-2", "33952")]
    [card] = cards_of(call(ORDER_SIGN, order_sign(orders)), rule="ncci-mue-exceeded")
    assert card["summary"].startswith("2 units of 33952")
    assert "suggestions" not in card  # which order to drop is the clinician's call


def test_reposition_33958_alongside__not_separately_reportable_mod_ind_0(call) -> None:
    orders = [service_request("sr-1", "33952"), service_request("sr-2", "33958")]
    [card] = cards_of(call(ORDER_SIGN, order_sign(orders)), rule="ncci-ptp-no-bypass")
    assert (
        card["summary"]
        == "33958 is not separately reportable with 33952 by the same provider on the same date"
        " (NCCI; no modifier bypasses it)"
    )
    assert "modifier indicator **0**" in card["detail"]
    # NCCI's edit (High) is stated; CPT's same-session wording, read only in a paraphrase (Low), is not.
    detail = card["detail"]
    assert "The repositioning codes are not paid with 33952 for the same provider on the same date" in detail
    assert "Repositioning at the same session as the insertion is not reported separately" not in detail


def test_33951_with_33952__mutually_exclusive_no_bypass(call) -> None:
    orders = [service_request("sr-1", "33951"), service_request("sr-2", "33952")]
    response = call(ORDER_SIGN, order_sign(orders))
    [card] = cards_of(response, rule="ncci-ptp-no-bypass")
    assert "33952 is not separately reportable with 33951" in card["summary"]
    assert "Mutually exclusive" in card["detail"]
    # the 40-year-old's 33951 also gets the age card that says which one to keep
    [age] = cards_of(response, topic="age-criteria")
    assert age["suggestions"][0]["actions"][0]["resource"]["id"] == "sr-1"


def test_33954_with_33952__mutually_exclusive_but_modifier_allowed(call) -> None:
    orders = [service_request("sr-1", "33954"), service_request("sr-2", "33952")]
    [card] = cards_of(call(ORDER_SIGN, order_sign(orders)), rule="ncci-ptp-modifier-bypass")
    # Mutually exclusive, not bundled: the summary does not call 33952 part of 33954.
    assert card["summary"].startswith("33952 is not paid separately with 33954")
    assert "bundled" not in card["summary"]


def test_critical_care_99291_same_day__modifier_25(call) -> None:
    orders = [service_request("sr-1", "33952"), service_request("sr-2", "99291")]
    [card] = cards_of(call(ORDER_SIGN, order_sign(orders)), rule="ncci-ptp-em-modifier-25")
    assert "modifier 25 on the E/M line" in card["summary"]
    assert "significant and separately identifiable" in card["detail"]
    assert "separate session" not in card["detail"]


def test_no_edit_pairs__initiation_and_ultrasound_guidance_are_silent(call) -> None:
    orders = [
        service_request("sr-1", "33952"),
        service_request("sr-2", "33946"),
        service_request("sr-3", "76937"),
    ]
    assert rules_of(call(ORDER_SIGN, order_sign(orders))) == []


def test_add_on_33987_with_its_primary_33954__no_card(call) -> None:
    orders = [service_request("sr-1", "33954"), service_request("sr-2", "33987")]
    assert "ncci-add-on-without-primary" not in rules_of(call(ORDER_SIGN, order_sign(orders)))


def test_order_select__edits_only_for_pairs_touching_a_selection(call) -> None:
    orders = [
        service_request("sr-1", "33952"),
        service_request("sr-2", "77001"),
        service_request("sr-3", "33958"),
    ]
    response = call(ORDER_SELECT, order_select(orders, ["ServiceRequest/sr-2"]))
    assert rules_of(response) == ["ncci-ptp-modifier-bypass"]
    # the unselected 33952 gets no age, documentation or payer advice of its own
    assert cards_of(response, topic="documentation") == []


def test_ptp_table_built_from_the_release_answers_pair_by_pair(cds_app) -> None:
    # The table lists the release's pairs code by code (cpt-plugin content build); 36410 is an
    # explicit modifier-indicator-1 pair, 36400 one at indicator 0, E/M pairs bypass with 25.
    tables = cds_app.extensions["cds_hooks"].tables
    assert tables.ptp_edit("33952", "36410")["modifierIndicator"] == "1"
    assert tables.ptp_edit("33952", "36400")["modifierIndicator"] == "0"
    assert tables.ptp_edit("33952", "99215")["bypassModifiers"] == ["25"]
    assert tables.ptp_edit("33952", "76937") is None
