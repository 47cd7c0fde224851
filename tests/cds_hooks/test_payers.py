"""Payer notes from the active Coverage, and the CRD coverage-information system action on order-sign.

Scenario facts: Coverage.payor[0].display (how the payer is recognised), ServiceRequest.priority.
"""

from __future__ import annotations

import pytest

from tests.cds_hooks.stubs import (
    APPOINTMENT_BOOK,
    ORDER_SELECT,
    ORDER_SIGN,
    appointment,
    appointment_book,
    cards_of,
    order_select,
    order_sign,
    service_request,
)

COVERAGE_INFORMATION = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"


def coverage_parts(action):
    [ext] = [e for e in action["resource"]["extension"] if e["url"] == COVERAGE_INFORMATION]
    parts = {}
    for part in ext["extension"]:
        value = next(v for k, v in part.items() if k.startswith("value"))
        parts.setdefault(part["url"], []).append(value)
    return parts


@pytest.mark.parametrize(
    ("payor", "rule", "must_say"),
    [
        (
            "Medicare Part B",
            "payer-medicare",
            ["| 33952 | 000", "modifier **25**", "No ECMO national coverage"],
        ),
        (
            "Blue Cross Blue Shield of Florida",
            "payer-blue-plan",
            ["potentially reversible", "bridge to heart"],
        ),
        (
            "Aetna",
            "payer-policy-not-verified",
            ["No ECMO Clinical Policy Bulletin found; not verified", "What to check"],
        ),
        (
            "Cigna Healthcare",
            "payer-policy-not-verified",
            ["No ECMO coverage policy found; not verified", "What to check"],
        ),
        (
            "UnitedHealthcare",
            "payer-policy-not-verified",
            ["not required for emergency or urgent care", "What to check"],
        ),
    ],
)
def test_each_payer__its_card(call, payor, rule, must_say) -> None:
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952")], payer=payor))
    [card] = cards_of(response, topic="payer-policy")
    assert card["extension"]["org.cpt-plugin.rule"]["id"] == rule
    assert card["indicator"] == "info"
    for text in must_say:
        assert text in card["detail"], text
    # Commercial prior-authorization patterns are labelled as inference, and never shown for Medicare.
    commercial = "General guidance for commercial plans, our inference (not a payer rule)"
    assert (commercial in card["detail"]) is (rule != "payer-medicare")
    if rule == "payer-medicare":
        assert "business days" not in card["detail"] and "prior-authorization" not in card["detail"]


@pytest.mark.parametrize("payor", ["Acme Health Cooperative", "Humana"])
def test_unknown_payer__no_payer_card_and_indeterminate_coverage(call, payor) -> None:
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952")], payer=payor))
    assert cards_of(response, topic="payer-policy") == []
    [action] = response["systemActions"]
    parts = coverage_parts(action)
    assert parts["covered"] == ["indeterminate"] and parts["pa-needed"] == ["indeterminate"]


def test_no_coverage_on_file__no_payer_card_and_no_coverage_information(call) -> None:
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952")]))
    assert cards_of(response, topic="payer-policy") == []
    assert "systemActions" not in response


@pytest.mark.parametrize(
    ("priority", "urgency"), [("stat", "emergent"), ("routine", "planned"), (None, "not stated")]
)
def test_prior_authorization_advice__emergent_versus_planned(call, priority, urgency) -> None:
    order = service_request("sr-1", "33952", priority=priority)
    [card] = cards_of(call(ORDER_SIGN, order_sign([order], payer="Aetna")), topic="payer-policy")
    assert f"This order: {urgency if urgency != 'not stated' else 'urgency not stated'}." in card["detail"]
    assert ("Emergent cannulation" in card["detail"]) is (urgency != "planned")
    assert ("Planned cannulation" in card["detail"]) is (urgency != "emergent")


def test_order_sign__coverage_information_on_each_family_order_only(call) -> None:
    orders = [service_request("sr-1", "33952"), service_request("sr-2", "77001")]
    response = call(ORDER_SIGN, order_sign(orders, payer="Medicare"))
    [action] = response["systemActions"]
    assert action["type"] == "update" and action["resource"]["id"] == "sr-1"
    original = orders[0]
    assert {k: v for k, v in action["resource"].items() if k != "extension"} == original
    parts = coverage_parts(action)
    assert parts["coverage"] == [{"reference": "Coverage/cov-1"}]
    assert parts["covered"] == ["indeterminate"]
    assert parts["doc-needed"] == ["conditional"]
    assert parts["billingCode"] == [{"system": "http://www.ama-assn.org/go/cpt", "code": "33952"}]
    assert parts["date"] == ["2026-11-25"]
    assert len(parts["coverage-assertion-id"]) == 1


def test_blue_plan__coverage_indeterminate_with_the_policy_attributed(call) -> None:
    # Only several Blue plans use BCBSA 8.01.60, so the member's plan's coverage is not known.
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952")], payer="Highmark BCBS"))
    parts = coverage_parts(response["systemActions"][0])
    assert parts["covered"] == ["indeterminate"] and "doc-needed" not in parts
    assert "used by several Blue plans" in parts["reason"][0]["text"]


def test_order_select__no_system_actions(call) -> None:
    order = service_request("sr-1", "33952")
    response = call(ORDER_SELECT, order_select([order], ["ServiceRequest/sr-1"], payer="Medicare"))
    assert "systemActions" not in response
    assert len(cards_of(response, topic="payer-policy")) == 1


def test_appointment_book__planned_advice_and_coverage_on_the_appointment(call) -> None:
    body = appointment_book([appointment("apt-1", "33952")], payer="Cigna", birth_date="2020-12-02")
    response = call(APPOINTMENT_BOOK, body)
    [payer] = cards_of(response, topic="payer-policy")
    assert "This order: planned." in payer["detail"] and "Planned cannulation" in payer["detail"]
    [age] = cards_of(response, topic="age-criteria")  # 5 on 2026-12-01, the appointment's own date
    updated = age["suggestions"][0]["actions"][0]["resource"]
    assert updated["resourceType"] == "Appointment"
    assert updated["serviceType"][0]["coding"][0]["code"] == "33951"
    [action] = response["systemActions"]
    assert action["resource"]["resourceType"] == "Appointment"


def _medicare_reasons(call, codes: list[str]) -> dict[str, tuple[str, dict[str, list]]]:
    orders = [service_request(f"sr-{i}", code) for i, code in enumerate(codes)]
    response = call(ORDER_SIGN, order_sign(orders, payer="Medicare"))
    found = {}
    for action in response["systemActions"]:
        parts = coverage_parts(action)
        found[parts["billingCode"][0]["code"]] = (parts["reason"][0]["text"], parts)
    return found


def test_medicare_coverage_reason__assistant_sentence_follows_each_codes_pfs_indicator(call) -> None:
    # PFS CY2023: 33952 and 33987 assistant indicator 0 (paid only with documentation of medical
    # necessity); 33946 and 33948 indicator 1 (never paid).
    reasons = _medicare_reasons(call, ["33952", "33946", "33948", "33987"])
    for code in ("33952", "33987"):
        text, parts = reasons[code]
        assert f"assistant-at-surgery indicator of {code} is 0" in text
        assert "paid only when the documentation shows it was medically necessary" in text
        assert "never paid" not in text
        assert parts["doc-needed"] == ["conditional"] and parts["doc-purpose"] == ["withclaim"]
    for code in ("33946", "33948"):
        text, parts = reasons[code]
        assert f"indicator of {code} is 1: an assistant at surgery is never paid." in text
        assert "medically necessary" not in text and "(e.g. 33952)" not in text
        # No documentation requirement that the PFS indicator does not give.
        assert "doc-needed" not in parts and "doc-purpose" not in parts
    for text, _ in reasons.values():
        assert text.startswith("Medicare: no ECMO national coverage determination was found")
        assert "No ECMO LCD was found; that none applies is not verified." in text


def test_coverage_reason__names_only_the_sources_its_sentences_cite(call) -> None:
    medicare = _medicare_reasons(call, ["33952", "33946"])
    for text, _ in medicare.values():
        sources = text.split("· Sources: ", 1)[1]
        assert "NCD Manual" in sources and "Medicare Coverage Database" in sources
        assert "Triple-S" not in sources and "Da Vinci" not in sources
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952")], payer="Aetna"))
    text = coverage_parts(response["systemActions"][0])["reason"][0]["text"]
    assert text.startswith("This payer's ECMO coverage policy is not verified.")
    assert text.endswith("· Sources: none (the reason says what is not verified)")


def test_blue_child__hmsa_described_as_the_research_read_it(call) -> None:
    # HMSA MM.12.006 (Ref: studyres copy): separate criteria for neonates; it also covers children and adults.
    body = order_sign([service_request("sr-1", "33951")], birth_date="2021-06-01", payer="HMSA")
    [card] = cards_of(call(ORDER_SIGN, body), topic="payer-policy")
    assert "has separate criteria for neonates and also covers children" in card["detail"]
    assert "separate neonatal and pediatric criteria" not in card["detail"]


def test_medicare_card__assistant_sentence_names_each_ordered_code_with_indicator_0(call) -> None:
    # PFS CY2023: 33951 and 33953 have assistant indicator 0 like 33952; 33946 has 1 (never paid).
    orders = [service_request("sr-1", "33953"), service_request("sr-2", "33946")]
    [card] = cards_of(call(ORDER_SIGN, order_sign(orders, payer="Medicare")), topic="payer-policy")
    assert "An assistant at surgery for 33953 (PFS assistant-at-surgery indicator 0)" in card["detail"]
    only_xxx = [service_request("sr-1", "33946"), service_request("sr-2", "33948")]
    [card] = cards_of(call(ORDER_SIGN, order_sign(only_xxx, payer="Medicare")), topic="payer-policy")
    assert "An assistant at surgery for" not in card["detail"]
