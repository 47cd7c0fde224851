"""The one age arithmetic (plugin/dates.py), shared by the CDS age rule and the sandbox.

Properties over arbitrary dates, so no calendar day can find a case the examples missed.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.dates import (
    Age,
    age_on,
    age_parts,
    anniversary,
    birth_date_for,
    latest_birth_for_years,
    month_anniversary,
)

DAYS = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2400, 12, 31))
AGES = st.builds(Age, st.integers(0, 110), st.integers(0, 11), st.integers(0, 30))
ONE_DAY = dt.timedelta(days=1)


@given(birth=DAYS, on=DAYS)
def test_age_parts__years_are_the_whole_year_age_of_the_cds_rule(birth: dt.date, on: dt.date) -> None:
    birth, on = min(birth, on), max(birth, on)
    assert age_parts(birth, on).years == age_on(birth, on)


@given(birth=DAYS, years=st.integers(0, 120))
def test_anniversary__is_the_first_day_of_that_whole_year_age(birth: dt.date, years: int) -> None:
    day = anniversary(birth, years)
    assert age_on(birth, day) == years
    if years:
        assert age_on(birth, day - ONE_DAY) == years - 1


@given(birth=DAYS, months=st.integers(0, 1500))
def test_month_anniversary__never_before_the_plain_month_add(birth: dt.date, months: int) -> None:
    day = month_anniversary(birth, months)
    assert age_parts(birth, day) == Age(months // 12, months % 12, 0)


@given(age=AGES, on=DAYS)
@settings(max_examples=300)
def test_birth_date_for__latest_birth_at_least_that_old__on_every_date(age: Age, on: dt.date) -> None:
    birth = birth_date_for(age, on)
    assert age_parts(birth, on) >= age
    if birth < on:
        assert age_parts(birth + ONE_DAY, on) < age
    # Exactly the age whenever some birth date gives it; the nearest older age otherwise.
    got = age_parts(birth, on)
    if got != age:
        assert (got.years, got.months) >= (age.years, age.months)


@given(on=DAYS, years=st.integers(0, 100))
def test_latest_birth_for_years__youngest_of_that_age(on: dt.date, years: int) -> None:
    birth = latest_birth_for_years(years, on)
    assert age_on(birth, on) == years
    assert age_on(birth + ONE_DAY, on) == years - 1


@pytest.mark.parametrize(
    ("age", "on", "birth"),
    [
        # 5y11m30d does not exist on 7 December 2026: born 8 December 2020 is 5y11m29d, a day older is 6.
        (Age(5, 11, 30), dt.date(2026, 12, 7), dt.date(2020, 12, 7)),
        (Age(5, 11, 29), dt.date(2026, 12, 7), dt.date(2020, 12, 8)),
        (Age(6), dt.date(2028, 2, 29), dt.date(2022, 2, 28)),  # nobody born in 2022 has a 29 February
        (Age(6), dt.date(2027, 3, 1), dt.date(2021, 3, 1)),
        (Age(5, 11), dt.date(2027, 3, 31), dt.date(2021, 4, 30)),  # 31 April does not exist
    ],
)
def test_birth_date_for__hard_dates(age: Age, on: dt.date, birth: dt.date) -> None:
    assert birth_date_for(age, on) == birth


def test_birth_date_for__before_the_calendar__clear_error() -> None:
    with pytest.raises(ValueError, match="before year 1"):
        birth_date_for(Age(10), dt.date(5, 1, 1))
