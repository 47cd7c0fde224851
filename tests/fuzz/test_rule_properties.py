"""Hypothesis properties of the rules, through the real CDS pipeline (in-process, real content):

- age in whole years changes exactly once a year, on the anniversary (29 February -> 1 March in a
  common year), and the age advice on a 33952 order changes exactly once, on the 6th birthday;
- for any mix of draft orders, every answer is valid CDS Hooks (schema and invariants), every card
  names its rule and topic, ids are unique, an order set without an ECMO/ECLS code gets no cards,
  and the advice does not depend on the order in which the EHR lists the draft orders.
"""

from __future__ import annotations

import calendar
import datetime as dt
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.app import create_app
from plugin.cds_hooks.schemas import response_problems
from plugin.dates import age_on, anniversary
from tests.conftest import test_settings as base_settings

CPT = "http://www.ama-assn.org/go/cpt"
ORDER_SELECT = "ecmo-cannulation-order-select"
TOPICS = {"age-criteria", "documentation", "coding-edit", "site-of-service", "payer-policy", "data-quality"}
# The family (33946-33989 as published), plus codes often ordered alongside, plus unrelated codes.
FAMILY = ["33946", "33947", "33948", "33949", "33951", "33952", "33953", "33954", "33955", "33956",
          "33957", "33958", "33959", "33962", "33963", "33964", "33965", "33966", "33969", "33984",
          "33985", "33986", "33987", "33988", "33989"]  # fmt: skip
ALONGSIDE = ["76000", "77001", "76937", "93312", "36556"]
UNRELATED = ["99213", "71045", "80053", "45378"]
PAYERS = [
    "Medicare Part B",
    "Aetna",
    "Cigna Healthcare",
    "UnitedHealthcare",
    "Blue Cross Blue Shield",
    "Acme",
]


@pytest.fixture(scope="module")
def app() -> Flask:
    folder = Path(tempfile.mkdtemp(prefix="cpt-plugin-props-"))
    settings_ = base_settings(folder)
    settings_["audit"] = {"log": "off", "database": False}
    application = create_app(settings_)
    application.config["TESTING"] = True
    return application


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def reference_age(birth: dt.date, day: dt.date) -> int:
    """Anniversaries passed, counted one by one (independent of the code under test)."""
    years = 0
    while True:
        year = birth.year + years + 1
        if birth.month == 2 and birth.day == 29 and not calendar.isleap(year):
            next_anniversary = dt.date(year, 3, 1)
        else:
            next_anniversary = birth.replace(year=year)
        if next_anniversary > day:
            return years
        years += 1


@settings(max_examples=400, deadline=None)
@given(
    birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2090, 12, 31)),
    start=st.integers(min_value=0, max_value=3650),
)
def test_age__changes_exactly_once_a_year_on_the_anniversary(birth: dt.date, start: int) -> None:
    days = [birth + dt.timedelta(days=start + i) for i in range(370)]
    ages = [age_on(birth, d) for d in days]
    assert ages == [reference_age(birth, d) for d in days]
    changes = [d for prev, d, a, b in zip(days, days[1:], ages, ages[1:], strict=False) if a != b]
    assert 1 <= len(changes) <= 2
    for day in changes:
        age = age_on(birth, day)
        assert age_on(birth, day - dt.timedelta(days=1)) == age - 1
        assert day == anniversary(birth, age)


def order(order_id: str, code: str, occurrence: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": CPT, "code": code}]},
        "subject": {"reference": "Patient/prop-1"},
        "occurrenceDateTime": occurrence,
        "quantityQuantity": {"value": quantity},
    }


def request(orders: list[dict[str, Any]], birth: str, payer: str | None = None) -> dict[str, Any]:
    coverage_entries = []
    if payer:
        coverage = {
            "resourceType": "Coverage",
            "id": "cov-1",
            "status": "active",
            "beneficiary": {"reference": "Patient/prop-1"},
            "payor": [{"display": payer}],
        }
        coverage_entries = [{"resource": coverage}]
    return {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/doc-1",
            "patientId": "prop-1",
            "selections": [f"ServiceRequest/{o['id']}" for o in orders],
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": o} for o in orders],
            },
        },
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "prop-1", "birthDate": birth},
            "coverage": {"resourceType": "Bundle", "type": "searchset", "entry": coverage_entries},
            "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": []},
            "consents": {"resourceType": "Bundle", "type": "searchset", "entry": []},
        },
    }


def post(client: FlaskClient, body: dict[str, Any]) -> dict[str, Any]:
    reply = client.post(f"/cds-services/{ORDER_SELECT}", json=body)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()


def age_rules(response: dict[str, Any]) -> frozenset[str]:
    return frozenset(
        c["extension"]["org.cpt-plugin.rule"]["id"] for c in response["cards"]
        if c["source"]["topic"]["code"] == "age-criteria"
    )  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(birth=st.dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2024, 12, 31)))
def test_age_advice_on_33952__changes_exactly_once_at_the_6th_birthday(
    client: FlaskClient, birth: dt.date
) -> None:
    sixth = anniversary(birth, 6)
    window = [sixth + dt.timedelta(days=offset) for offset in range(-4, 5)]
    advice = [
        age_rules(post(client, request([order("sr-1", "33952", day.isoformat())], birth.isoformat())))
        for day in window
    ]
    changes = [
        day for day, before, after in zip(window[1:], advice, advice[1:], strict=False) if before != after
    ]
    assert changes == [sixth], (birth, list(zip(window, advice, strict=True)))
    assert advice[0] and not advice[-1]  # advice (to use 33951) before, none from the 6th birthday on


order_lists = st.lists(
    st.tuples(
        st.sampled_from(FAMILY + ALONGSIDE + UNRELATED),
        st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2027, 12, 31)),
        st.integers(min_value=1, max_value=3),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=order_lists,
    birth=st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2025, 6, 30)),
    payer=st.one_of(st.none(), st.sampled_from(PAYERS)),
    rotate=st.integers(min_value=1, max_value=3),
)
def test_any_order_mix__valid_answer_named_rules_and_order_independent(
    app: Flask,
    client: FlaskClient,
    items: list[tuple[str, dt.date, int]],
    birth: dt.date,
    payer: str | None,
    rotate: int,
) -> None:
    orders = [order(f"sr-{i}", code, day.isoformat(), qty) for i, (code, day, qty) in enumerate(items)]
    response = post(client, request(orders, birth.isoformat(), payer))
    assert response_problems(app.extensions["cds_hooks"].schemas, response) == []

    ids = [c["uuid"] for c in response["cards"]]
    ids += [s["uuid"] for c in response["cards"] for s in c.get("suggestions", [])]
    assert len(ids) == len(set(ids))
    for card in response["cards"]:
        assert card["source"]["topic"]["code"] in TOPICS
        assert card["extension"]["org.cpt-plugin.rule"]["id"]
        assert len(card["summary"]) < 140
    if not any(code in FAMILY for code, _, _ in items):
        assert response["cards"] == []

    shifted = orders[rotate % len(orders) :] + orders[: rotate % len(orders)]
    again = post(client, request(shifted, birth.isoformat(), payer))

    def advice(r: dict[str, Any]) -> list[tuple[str, str, str]]:
        return sorted(
            (c["extension"]["org.cpt-plugin.rule"]["id"], c["indicator"], c["summary"]) for c in r["cards"]
        )

    assert advice(again) == advice(response)
