"""Every sandbox scenario, placed on today's date, means what its description says and gets the
cards it should from the CDS service, on every date.

"Today" is the product's one clock, pinned to hard dates (month ends after a 30-day month, 31 March,
28 and 29 February, 1 March, 31 December, a non-leap century year) and also left on the real date;
a property test then draws arbitrary dates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin import clock
from plugin.dates import age_on, anniversary
from plugin.sandbox.bundles import ExpectedCard
from plugin.sandbox.hookrequest import CONTRACT_SERVICES
from plugin.sandbox.replay import compare
from plugin.sandbox.scenario_dates import birth_for
from plugin.sandbox.scenarios import SPECS

HARD_DATES = [
    dt.date(2026, 12, 7),  # 5y11m30d does not exist on this date
    dt.date(2026, 12, 31),  # 31 December, after a 30-day month
    dt.date(2027, 5, 31),  # month end after a 30-day month
    dt.date(2027, 3, 31),  # 31 March: no 31 February a month back
    dt.date(2026, 11, 30),
    dt.date(2027, 2, 28),
    dt.date(2027, 3, 1),
    dt.date(2028, 2, 28),
    dt.date(2028, 2, 29),
    dt.date(2028, 3, 1),
    dt.date(2100, 2, 28),  # 2100 is not a leap year
    dt.date(2100, 3, 1),
]
HOOKS = list(CONTRACT_SERVICES)


def place_today(client: FlaskClient, scenario: str, hook: str) -> dict[str, Any]:
    response = client.post(
        "/sandbox/api/request", json={"scenario": scenario, "hook": hook, "shiftToToday": True}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def call_service(client: FlaskClient, hook: str, request: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(f"/cds-services/{CONTRACT_SERVICES[hook]}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["cards"]


def check_scenario_today(client: FlaskClient, scenario: str, hook: str, today: dt.date) -> dict[str, Any]:
    built = place_today(client, scenario, hook)
    assert built["orderDate"] == today.isoformat()
    orders = built["request"]["context"]["draftOrders"]["entry"]
    assert {o["resource"]["occurrenceDateTime"] for o in orders} == {today.isoformat()}
    cards = call_service(client, hook, built["request"])
    expected = [
        ExpectedCard(c["topic"], c["indicator"], c.get("rule"), tuple(c.get("hooks", HOOKS)))
        for c in built["scenario"]["expectedCards"]
    ]
    expected = [c for c in expected if hook in c.hooks]
    missing, unexpected = compare(expected, cards, built["scenario"]["match"], [])
    assert (missing, unexpected) == ([], []), f"{scenario} {hook} on {today}"
    return built


def birth_of(built: dict[str, Any]) -> str | None:
    prefetch = built["request"].get("prefetch", {})
    return prefetch.get("patient", {}).get("birthDate")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.mark.parametrize("today", [*HARD_DATES, None], ids=[*map(str, HARD_DATES), "real-date"])
def test_every_scenario_shifted_to_today__request_built_and_cards_as_expected(client, today) -> None:
    # The real date is pinned too, so a run across midnight still sees one date.
    day = today or dt.datetime.now(dt.UTC).date()
    with clock.pinned(day):
        for spec in SPECS:
            for hook in HOOKS:
                check_scenario_today(client, spec.name, hook, day)


@pytest.mark.parametrize("today", HARD_DATES, ids=str)
def test_birthday_scenarios__mean_what_the_description_says(client, today) -> None:
    with clock.pinned(today):
        before = birth_of(check_scenario_today(client, "under6-day-before-6th-birthday", "order-sign", today))
        day_of = birth_of(check_scenario_today(client, "sixth-birthday-day-of", "order-sign", today))
        feb28 = birth_of(check_scenario_today(client, "leap-day-birthday-feb28", "order-sign", today))
        mar01 = birth_of(check_scenario_today(client, "leap-day-birthday-mar01", "order-sign", today))
    before_birth = dt.date.fromisoformat(before)
    assert age_on(before_birth, today) == 5
    sixth = anniversary(before_birth, 6)
    # The 6th birthday is tomorrow, or 1 March when tomorrow is a 29 February nobody was born on.
    leap_gap = today.month == 2 and today.day == 28 and (today + dt.timedelta(days=1)).month == 2
    assert sixth == today + dt.timedelta(days=2 if leap_gap else 1)
    day_of_birth = dt.date.fromisoformat(day_of)
    assert age_on(day_of_birth, today) == 6
    leap_day = (today.month, today.day) == (2, 29)
    assert anniversary(day_of_birth, 6) == today - dt.timedelta(days=1 if leap_day else 0)
    for born, under_six in ((feb28, True), (mar01, False)):
        birth = dt.date.fromisoformat(born)
        if (birth.month, birth.day) == (2, 29):
            assert (age_on(birth, today) < 6) is under_six
        else:  # no 29 February near enough (around 2100): the day-before / day-of definition
            assert born == (before if under_six else day_of)


def test_leap_day_scenario__on_its_own_date__born_29_february_and_5() -> None:
    assert birth_for("leap-feb28", dt.date(2026, 2, 28)) == "2020-02-29"
    assert birth_for("leap-mar01", dt.date(2026, 3, 1)) == "2020-02-29"


@given(today=st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2300, 12, 31)))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_date__every_scenario_both_hooks__service_answers_200_with_expected_cards(client, today) -> None:
    with clock.pinned(today):
        for spec in SPECS:
            for hook in HOOKS:
                check_scenario_today(client, spec.name, hook, today)


def test_order_date__other_date__expected_cards_follow_that_date(client) -> None:
    # The record is not moved, only the order: a child 5 on its own date is 6 a year later.
    body = {"scenario": "under6-day-before-6th-birthday", "hook": "order-sign", "orderDate": "2030-01-01"}
    built = client.post("/sandbox/api/request", json=body).get_json()
    topics = {c["topic"] for c in built["scenario"]["expectedCards"]}
    assert "age-criteria" not in topics
    cards = call_service(client, "order-sign", built["request"])
    assert "age-criteria" not in {c["source"]["topic"]["code"] for c in cards}


@pytest.mark.parametrize(
    ("order_date", "why"),
    [
        ("2026-W48-3", "full date"),
        ("2026-11", "full date"),
        ("2027-02-29", "full date"),
        (20261125, "full date"),
        ("2019-01-01", "before the birth date"),  # the patient is born in 2020
    ],
)
def test_order_date__unusable__400_json_says_why(client, order_date, why) -> None:
    body = {"scenario": "partial-birthdate-year-only", "hook": "order-sign", "orderDate": order_date}
    response = client.post("/sandbox/api/request", json=body)
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert response.get_json()["error"] == "invalid-date" and why in response.get_json()["message"]
