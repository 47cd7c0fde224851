"""ICD-10-CM reason codes on ECMO family orders, checked against the tabular (April 1, 2026):
a header (J96.0, I46) gets a card listing the billable codes below it; a code that is not in ICD-10-CM
gets a data-quality card; a billable code (J96.01) gets neither.

Scenario facts: a 40-year-old (born 1986-03-14); ServiceRequest.reasonCode with system
http://hl7.org/fhir/sid/icd-10-cm."""

from __future__ import annotations

from tests.cds_hooks.stubs import ORDER_SIGN, cards_of, order_sign, service_request

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def with_reasons(order: dict, *codes: str) -> dict:
    order["reasonCode"] = [{"coding": [{"system": ICD10CM, "code": code}]} for code in codes]
    return order


def test_33952_for_j96_0__header_card_lists_the_billable_codes_below(call) -> None:
    response = call(ORDER_SIGN, order_sign([with_reasons(service_request("sr-1", "33952"), "J96.0")]))
    [card] = cards_of(response, rule="icd10cm-reason-not-billable")
    assert card["summary"].startswith("Reason J96.0 is an ICD-10-CM header, not billable")
    assert "Acute respiratory failure" in card["detail"] and "reasonCode[0]" in card["detail"]
    assert "J96.00, J96.01 or J96.02" in card["detail"]
    assert "highest specificity" in card["detail"] and "2026-04" in card["detail"]
    assert cards_of(response, rule="icd10cm-reason-not-a-code") == []


def test_33952_for_a_category_header__lists_eight_codes_and_counts_the_rest(call) -> None:
    response = call(ORDER_SIGN, order_sign([with_reasons(service_request("sr-1", "33952"), "I21")]))
    [card] = cards_of(response, rule="icd10cm-reason-not-billable")
    assert "(and " in card["detail"] and "more)" in card["detail"]


def test_33952_for_a_code_not_in_icd10cm__data_quality_card(call) -> None:
    response = call(ORDER_SIGN, order_sign([with_reasons(service_request("sr-1", "33952"), "J96.7", "J80")]))
    [card] = cards_of(response, rule="icd10cm-reason-not-a-code")
    assert card["summary"] == "Reason J96.7 is not an ICD-10-CM code; the indication cannot be checked"
    assert "reasonCode[0]" in card["detail"]
    assert cards_of(response, rule="icd10cm-reason-not-billable") == []


def test_33952_for_billable_j96_01__no_diagnosis_card(call) -> None:
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952", reason=True)]))
    assert cards_of(response, rule="icd10cm-reason-not-billable") == []
    assert cards_of(response, rule="icd10cm-reason-not-a-code") == []
