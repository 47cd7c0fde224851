"""Age on the date of service against the CPT age split (33951 under 6 / 33952 6 and older, and siblings).

Scenario facts: Patient.birthDate; ServiceRequest.code (CPT) and occurrenceDateTime /
occurrencePeriod.start / authoredOn; the request date (clock pinned to 2026-11-25 UTC) as last resort.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin import clock
from plugin.dates import anniversary
from plugin.terminology import get_registry
from tests.cds_hooks.stubs import (
    CPT,
    ORDER_SELECT,
    ORDER_SIGN,
    cards_of,
    order_select,
    order_sign,
    service_request,
)


def age_cards(response):
    return cards_of(response, topic="age-criteria")


def cpt_display(app, code):
    code_system = get_registry(app).get(CPT)
    return next(c["display"] for c in code_system["concept"] if c["code"] == code)


def test_day_before_6th_birthday__age_5__warning_suggests_33951(call, cds_app) -> None:
    order = service_request("sr-1", "33952", occurrence="2026-11-20", reason=True)
    response = call(ORDER_SIGN, order_sign([order], birth_date="2020-11-21"))
    [card] = age_cards(response)
    assert card["indicator"] == "warning"
    assert card["extension"]["org.cpt-plugin.rule"] == {"id": "age-band-mismatch", "version": "1.1.0"}
    assert "Age 5 on 2026-11-20" in card["summary"] and "33951" in card["summary"]
    assert len(card["summary"]) < 140
    assert card["selectionBehavior"] == "at-most-one"
    [suggestion] = card["suggestions"]
    assert suggestion["isRecommended"] is True and suggestion["uuid"]
    [action] = suggestion["actions"]
    assert action["type"] == "update" and action["description"]
    updated = action["resource"]
    assert updated["code"]["coding"][0] == {
        "system": CPT,
        "code": "33951",
        "display": cpt_display(cds_app, "33951"),
    }
    # The full ServiceRequest, everything else unchanged.
    assert {k: v for k, v in updated.items() if k != "code"} == {
        k: v for k, v in order.items() if k != "code"
    }
    assert card["source"]["topic"]["code"] == "age-criteria"
    assert card["source"]["url"].startswith("https://")
    # Sources are dated; no state statute is cited as the general rule for 29 February births.
    assert card["detail"].rstrip().endswith("ATS coding newsletter, February 2015 (as of 2015-02)")
    assert "Maryland" not in card["detail"] and "29 February" not in card["detail"]
    assert "undated" not in card["detail"]
    assert "Rule `age-band-mismatch` v1.1.0" in card["detail"]


def test_6th_birthday_itself__age_6__no_age_card(call) -> None:
    order = service_request("sr-1", "33952", occurrence="2026-11-20")
    response = call(ORDER_SIGN, order_sign([order], birth_date="2020-11-20"))
    assert age_cards(response) == []
    assert cards_of(response, topic="data-quality") == []


@pytest.mark.parametrize(
    ("code", "service_date", "expect_warning"),
    [
        ("33952", "2026-02-28", True),  # still 5
        ("33952", "2026-03-01", False),  # 6 on 1 March of a common year
        ("33951", "2026-02-28", False),
        ("33951", "2026-03-01", True),
    ],
)
def test_leap_day_birthday__turns_6_on_1_march_in_a_common_year(
    call, code, service_date, expect_warning
) -> None:
    # Born 2020-02-29; the anniversary rule of Maryland Code GP 1-303(b).
    order = service_request("sr-1", code, occurrence=service_date)
    response = call(ORDER_SIGN, order_sign([order], birth_date="2020-02-29"))
    assert (len(age_cards(response)) == 1) is expect_warning


def test_leap_day_birthday__leap_year_anniversary_is_29_february() -> None:
    born = dt.date(2020, 2, 29)
    assert anniversary(born, 6) == dt.date(2026, 3, 1)
    assert anniversary(born, 8) == dt.date(2028, 2, 29)


@pytest.mark.parametrize(
    ("occurrence", "expect_warning"),
    [
        # 23:30 on 20 Nov at UTC-5 is 04:30 on 21 Nov in UTC: the order's own calendar date (20 Nov) counts.
        ("2026-11-20T23:30:00-05:00", True),
        # 01:00 on 21 Nov at UTC+9 is still 20 Nov in UTC: the order's date is 21 Nov, the birthday.
        ("2026-11-21T01:00:00+09:00", False),
        ("2026-11-20T12:00:00Z", True),
    ],
)
def test_occurrence_datetime_with_offset__uses_the_orders_own_calendar_date(
    call, occurrence, expect_warning
) -> None:
    order = service_request("sr-1", "33952", occurrence=occurrence)
    response = call(ORDER_SIGN, order_sign([order], birth_date="2020-11-21"))
    assert (len(age_cards(response)) == 1) is expect_warning


def test_occurrence_period_start__is_the_date_of_service(call) -> None:
    order = service_request("sr-1", "33952", occurrence=None, period_start="2026-11-20T08:00:00-05:00")
    [card] = age_cards(call(ORDER_SIGN, order_sign([order], birth_date="2020-11-21")))
    assert "occurrencePeriod.start" in card["detail"]


def test_authored_on__used_when_there_is_no_occurrence(call) -> None:
    order = service_request("sr-1", "33952", occurrence=None, authored_on="2026-11-20T09:15:00-05:00")
    [card] = age_cards(call(ORDER_SIGN, order_sign([order], birth_date="2020-11-21")))
    assert "authoredOn" in card["detail"] and "2026-11-20" in card["summary"]


@pytest.mark.parametrize(("birth_date", "expect_warning"), [("2020-11-26", True), ("2020-11-25", False)])
def test_request_date__used_when_the_order_has_no_date(call, birth_date, expect_warning) -> None:
    # The clock is pinned to 2026-11-25 (UTC).
    order = service_request("sr-1", "33952", occurrence=None)
    response = call(ORDER_SIGN, order_sign([order], birth_date=birth_date))
    assert (len(age_cards(response)) == 1) is expect_warning
    if expect_warning:
        assert "the request date" in age_cards(response)[0]["detail"]


@pytest.mark.parametrize(
    ("birth_date", "today", "expect_warning"),
    [
        ("2022-03-15", "2028-03-14", True),  # the day before the 6th birthday
        ("2022-03-15", "2028-03-15", False),  # the 6th birthday
        ("2020-02-29", "2026-02-28", True),  # born 29 February, common year: still 5
        ("2020-02-29", "2026-03-01", False),
        ("2021-12-31", "2027-12-31", False),  # 31 December
        ("2022-02-28", "2028-02-29", False),  # 29 February: 6 since the day before
        ("2022-03-01", "2028-02-29", True),
    ],
)
def test_request_date__pinned_hard_dates__age_on_that_day(call, birth_date, today, expect_warning) -> None:
    order = service_request("sr-1", "33952", occurrence=None)
    with clock.pinned(dt.date.fromisoformat(today)):
        response = call(ORDER_SIGN, order_sign([order], birth_date=birth_date))
    assert (len(age_cards(response)) == 1) is expect_warning
    if expect_warning:
        assert today in age_cards(response)[0]["summary"]


@pytest.mark.parametrize(
    ("birth_date", "service_date", "expected"),
    [
        ("2020", "2026-06-01", "uncertain"),  # 5 or 6: straddles
        ("2020", "2027-01-01", "none"),  # at least 6 whatever the day
        ("2020-11", "2026-11-15", "uncertain"),  # 5 or 6
        ("2020-11", "2026-12-01", "none"),  # 6 whatever the day in November 2020
        ("2024", "2026-11-20", "mismatch"),  # 1 or 2: too young for 33952 whatever the day
    ],
)
def test_partial_birth_date__straddling_asks_to_confirm_otherwise_decides(
    call, birth_date, service_date, expected
) -> None:
    order = service_request("sr-1", "33952", occurrence=service_date)
    response = call(ORDER_SIGN, order_sign([order], birth_date=birth_date))
    uncertain = cards_of(response, rule="age-band-uncertain")
    mismatch = cards_of(response, rule="age-band-mismatch")
    assert (len(uncertain), len(mismatch)) == {"uncertain": (1, 0), "none": (0, 0), "mismatch": (0, 1)}[
        expected
    ]
    if uncertain:
        assert uncertain[0]["source"]["topic"]["code"] == "data-quality"
        assert "5 to 6" in uncertain[0]["summary"]
        assert "suggestions" not in uncertain[0]


def test_partial_service_date__year_month_occurrence_straddles(call) -> None:
    order = service_request("sr-1", "33952", occurrence="2026-11")
    response = call(ORDER_SIGN, order_sign([order], birth_date="2020-11-15"))
    assert len(cards_of(response, rule="age-band-uncertain")) == 1


@pytest.mark.parametrize(
    ("birth_date", "issue"),
    [
        (None, "no birth date"),
        ("2020-02-30", "not a valid FHIR date"),
        ("2027-01-01", "after the date of service"),
    ],
)
def test_unusable_birth_date__data_quality_card_and_no_guess(call, birth_date, issue) -> None:
    orders = [service_request("sr-1", "33952"), service_request("sr-2", "33958")]
    response = call(ORDER_SIGN, order_sign(orders, birth_date=birth_date))
    [card] = cards_of(response, topic="data-quality", rule="birth-date-unusable")
    assert card["indicator"] == "warning"
    assert issue in card["detail"]
    assert age_cards(response) == []
    # one card for the request, naming both orders
    refs = [r["reference"] for r in card["extension"]["davinci-crd.associated-resource"]]
    assert refs == ["ServiceRequest/sr-1", "ServiceRequest/sr-2"]


def test_6_or_older_with_33951__reverse_suggestion_to_33952(call) -> None:
    order = service_request("sr-1", "33951", occurrence="2026-11-20")
    [card] = age_cards(call(ORDER_SIGN, order_sign([order], birth_date="1986-03-14")))
    assert "Age 40" in card["summary"]
    assert card["suggestions"][0]["actions"][0]["resource"]["code"]["coding"][0]["code"] == "33952"


@pytest.mark.parametrize(
    ("young", "old"),
    [
        ("33953", "33954"),
        ("33955", "33956"),
        ("33957", "33958"),
        ("33959", "33962"),
        ("33963", "33964"),
        ("33965", "33966"),
        ("33969", "33984"),
        ("33985", "33986"),
    ],
)
def test_other_age_split_pairs__both_directions(call, young, old) -> None:
    child = call(ORDER_SIGN, order_sign([service_request("sr-1", old)], birth_date="2022-05-01"))
    [card] = age_cards(child)
    assert card["suggestions"][0]["actions"][0]["resource"]["code"]["coding"][0]["code"] == young
    adult = call(ORDER_SIGN, order_sign([service_request("sr-1", young)], birth_date="1990-05-01"))
    [card] = age_cards(adult)
    assert card["suggestions"][0]["actions"][0]["resource"]["code"]["coding"][0]["code"] == old


@pytest.mark.parametrize("code", ["33946", "33947", "33948", "33949", "33987", "33988", "33989"])
def test_codes_without_an_age_split__no_age_card(call, code) -> None:
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", code)], birth_date="2022-05-01"))
    assert age_cards(response) == []


def test_order_select__age_advice_only_for_the_selected_order(call) -> None:
    orders = [service_request("sr-1", "33952"), service_request("sr-2", "33958")]
    response = call(ORDER_SELECT, order_select(orders, ["ServiceRequest/sr-2"], birth_date="2022-05-01"))
    [card] = age_cards(response)
    assert card["extension"]["davinci-crd.associated-resource"] == [{"reference": "ServiceRequest/sr-2"}]
    assert "33958 order (ServiceRequest/sr-2)" in card["detail"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    birth=st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 12, 31)),
    offset_days=st.integers(min_value=-400, max_value=400),
)
def test_property__age_advice_flips_exactly_at_the_6th_birthday(call, birth, offset_days) -> None:
    birthday = anniversary(birth, 6)
    service = birthday + dt.timedelta(days=offset_days)
    for code, warn_before in (("33952", True), ("33951", False)):
        order = service_request("sr-1", code, occurrence=service.isoformat())
        response = call(ORDER_SIGN, order_sign([order], birth_date=birth.isoformat()))
        warned = len(age_cards(response)) == 1
        assert warned is ((service < birthday) is warn_before), (birth, service, code)
