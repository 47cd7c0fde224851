"""The resources in suggestions are consistent orders: an EHR that accepts the age card's suggestion
stores no text, display, other coding or coverage information still naming the old code; a quantity
suggestion leaves one quantity[x]."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from plugin.cds_hooks.suggestions import COVERAGE_INFORMATION, CPT_OID, recode, set_quantity
from plugin.terminology import get_registry
from tests.cds_hooks.stubs import (
    APPOINTMENT_BOOK,
    CPT,
    ORDER_SIGN,
    appointment,
    appointment_book,
    cards_of,
    order_sign,
    service_request,
)

LOCAL = "https://ehr.example.org/order-catalog"
UNDER_6 = "2020-11-21"  # 5 on the 2026-11-20 date of service


def cpt_display(app: Any, code: str) -> str:
    code_system = get_registry(app).get(CPT)
    return next(c["display"] for c in code_system["concept"] if c["code"] == code)


def suggested(response: dict[str, Any]) -> dict[str, Any]:
    [card] = cards_of(response, topic="age-criteria")
    [suggestion] = card["suggestions"]
    [action] = suggestion["actions"]
    assert action["type"] == "update"
    return action["resource"]


def under_6_order(code: dict[str, Any], **extra: Any) -> dict[str, Any]:
    order = service_request("sr-1", "33952", occurrence="2026-11-20")
    order["code"] = code
    order.update(extra)
    return order


def test_age_suggestion__text_and_display_were_the_old_codes__both_become_33951s(call, cds_app) -> None:
    old, new = cpt_display(cds_app, "33952"), cpt_display(cds_app, "33951")
    order = under_6_order({"coding": [{"system": CPT, "code": "33952", "display": old}], "text": old})
    resource = suggested(call(ORDER_SIGN, order_sign([order], birth_date=UNDER_6)))
    assert resource["code"] == {"coding": [{"system": CPT, "code": "33951", "display": new}], "text": new}


@pytest.mark.parametrize(
    "text",
    [
        "ECMO cannulation (CPT 33952)",  # names the old code
        "OLD-DISPLAY",  # the old code's display from the terminology content, in other case and spacing
        "Adult VA ECMO cannulation, right femoral",  # the user's own wording for the old choice
    ],
)
def test_age_suggestion__any_old_code_text__replaced_by_the_counterparts_display(
    call, cds_app, text: str
) -> None:
    if text == "OLD-DISPLAY":
        text = "  " + cpt_display(cds_app, "33952").upper().replace(" ", "  ")
    order = under_6_order({"coding": [{"system": CPT, "code": "33952"}], "text": text})
    resource = suggested(call(ORDER_SIGN, order_sign([order], birth_date=UNDER_6)))
    assert resource["code"]["text"] == cpt_display(cds_app, "33951")
    assert resource["code"]["coding"] == [
        {"system": CPT, "code": "33951", "display": cpt_display(cds_app, "33951")}
    ]


def test_age_suggestion__no_text__none_added(call) -> None:
    order = under_6_order({"coding": [{"system": CPT, "code": "33952"}]})
    resource = suggested(call(ORDER_SIGN, order_sign([order], birth_date=UNDER_6)))
    assert "text" not in resource["code"]


def test_age_suggestion__local_coding_kept_unless_it_names_the_old_code(call, cds_app) -> None:
    neutral = {"system": LOCAL, "code": "ECMO-CANN", "display": "ECMO cannulation"}
    by_code = {"system": LOCAL, "code": "ECMO-33952", "display": "Percutaneous ECMO cannulation 33952"}
    by_display = {"system": LOCAL, "code": "ECMO-PERC", "display": cpt_display(cds_app, "33952")}
    order = under_6_order(
        {"coding": [neutral, {"system": CPT, "code": "33952"}, by_code, by_display], "text": "ECMO"}
    )
    resource = suggested(call(ORDER_SIGN, order_sign([order], birth_date=UNDER_6)))
    assert resource["code"]["coding"] == [
        neutral,
        {"system": CPT, "code": "33951", "display": cpt_display(cds_app, "33951")},
    ]


def test_age_suggestion__cpt_oid_coding_and_existing_counterpart__recoded_once(call, cds_app) -> None:
    order = under_6_order(
        {
            "coding": [
                {"system": CPT, "code": "33952"},
                {"system": CPT_OID, "code": "33952", "display": "old"},
                {"system": CPT, "code": "33951"},
            ]
        }
    )
    resource = suggested(call(ORDER_SIGN, order_sign([order], birth_date=UNDER_6)))
    new = cpt_display(cds_app, "33951")
    assert resource["code"]["coding"] == [
        {"system": CPT, "code": "33951", "display": new},
        {"system": CPT_OID, "code": "33951", "display": new},
    ]


def test_age_suggestion__coverage_information_for_33952_dropped_rest_of_order_kept(call) -> None:
    coverage_33952 = {
        "url": COVERAGE_INFORMATION,
        "extension": [
            {"url": "covered", "valueCode": "conditional"},
            {"url": "billingCode", "valueCoding": {"system": CPT, "code": "33952"}},
        ],
    }
    other = {"url": "https://ehr.example.org/ext/ordering-unit", "valueString": "PICU"}
    order = under_6_order(
        {"coding": [{"system": CPT, "code": "33952"}]},
        extension=[coverage_33952, other],
        note=[{"text": "Bedside cannulation, 33952 per surgeon"}],
        orderDetail=[{"text": "VA ECMO"}],
    )
    resource = suggested(call(ORDER_SIGN, order_sign([order], birth_date=UNDER_6)))
    assert resource["extension"] == [other]
    # The clinician's own notes and details are not rewritten.
    assert resource["note"] == order["note"] and resource["orderDetail"] == order["orderDetail"]
    assert {k: v for k, v in resource.items() if k not in ("code", "extension")} == {
        k: v for k, v in order.items() if k not in ("code", "extension")
    }


def test_appointment_book__code_in_contained_request__recoded_there_too(call, cds_app) -> None:
    booked = appointment("appt-1", "33952", start="2026-11-20T08:00:00-05:00")
    booked["serviceType"][0]["text"] = "ECMO cannulation 33952"
    booked["contained"] = [
        {
            "resourceType": "ServiceRequest",
            "id": "req",
            "status": "draft",
            "intent": "order",
            "code": {"coding": [{"system": CPT, "code": "33952"}], "text": "ECMO 33952"},
            "subject": {"reference": "Patient/pat-1"},
        }
    ]
    booked["basedOn"] = [{"reference": "#req"}]
    resource = suggested(call(APPOINTMENT_BOOK, appointment_book([booked], birth_date=UNDER_6)))
    new = cpt_display(cds_app, "33951")
    for concept in (resource["serviceType"][0], resource["contained"][0]["code"]):
        assert concept == {"coding": [{"system": CPT, "code": "33951", "display": new}], "text": new}


def test_recode__counterpart_display_unknown__display_and_text_dropped() -> None:
    order = {
        "resourceType": "ServiceRequest",
        "code": {"coding": [{"system": CPT, "code": "33952", "display": "old name"}], "text": "old name"},
    }
    original = copy.deepcopy(order)
    assert recode(order, "33952", "33951", None)["code"] == {"coding": [{"system": CPT, "code": "33951"}]}
    assert order == original  # the request's own resource is not touched


def test_recode__code_not_on_the_order__resource_unchanged() -> None:
    order = {
        "resourceType": "ServiceRequest",
        "code": {"coding": [{"system": CPT, "code": "33958"}], "text": "reposition"},
        "extension": [{"url": COVERAGE_INFORMATION, "extension": []}],
    }
    assert recode(order, "33952", "33951", "new") == order


def test_mue_suggestion__quantity_set_unit_kept_no_second_quantity() -> None:
    order = {
        "resourceType": "ServiceRequest",
        "quantityQuantity": {"value": 2, "unit": "procedure"},
        "quantityRange": {"low": {"value": 1}},
    }
    assert set_quantity(order, 1) == {
        "resourceType": "ServiceRequest",
        "quantityQuantity": {"value": 1, "unit": "procedure"},
    }
