"""Time shift: every date moves by the same number of days, precision and intervals kept."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from plugin.dates import Age, birth_date_for, parse_age
from plugin.dates import age_parts as age_on
from plugin.sandbox.timeshift import collect_dates, shift_resource, shift_value

from .conftest import synthea_files


@pytest.mark.parametrize(
    ("value", "days", "expected"),
    [
        ("2020-02-29", 365, "2021-02-28"),
        ("1976-01-16T19:28:31+00:00", 10, "1976-01-26T19:28:31+00:00"),
        ("2019-03-31T23:59:46.123Z", -1, "2019-03-30T23:59:46.123Z"),
        ("1976-01", 40, "1976-02"),
        ("1976-01", -20, "1975-12"),
        ("1976", 200, "1977"),
        ("1976", 100, "1976"),
        ("2026-11-25T08:30", 1, "2026-11-26T08:30"),
    ],
)
def test_shift_value__keeps_precision_and_time(value: str, days: int, expected: str) -> None:
    assert shift_value(value, days) == expected


def test_shift_value__not_a_date__clear_error() -> None:
    with pytest.raises(ValueError, match="not a FHIR date"):
        shift_value("yesterday", 1)


def test_shift_resource__synthea_bundle__every_interval_kept() -> None:
    source = json.loads(synthea_files()[0].read_text())
    before = collect_dates(source)
    shifted = shift_resource(copy.deepcopy(source), 1234)
    after = collect_dates(shifted)
    assert [p for p, _ in before] == [p for p, _ in after]
    assert len(before) > 100
    for (_path, old), (_same, new) in zip(before, after, strict=True):
        assert len(old) == len(new)
        if len(old) >= 10:
            moved = dt.datetime.fromisoformat(new.replace("Z", "+00:00"))
            original = dt.datetime.fromisoformat(old.replace("Z", "+00:00"))
            assert moved - original == dt.timedelta(days=1234)


def test_shift_resource__leaves_non_date_strings_alone() -> None:
    resource = {
        "resourceType": "Observation",
        "identifier": [{"value": "2020-01-01"}],
        "valueString": "1999-12-31",
        "effectiveDateTime": "2020-01-01T00:00:00Z",
    }
    shifted = shift_resource(copy.deepcopy(resource), 1)
    assert shifted["identifier"] == resource["identifier"]
    assert shifted["valueString"] == "1999-12-31"
    assert shifted["effectiveDateTime"] == "2020-01-02T00:00:00Z"


@pytest.mark.parametrize("spec", ["5y11m", "40y", "18m", "5y11m20d", "0y1d"])
def test_birth_date_for__age_is_exactly_as_asked(spec: str) -> None:
    age = parse_age(spec)
    for on in (dt.date(2026, 11, 25), dt.date(2026, 6, 15), dt.date(2027, 1, 10), dt.date(2028, 2, 29)):
        assert age_on(birth_date_for(age, on), on) == age


def test_birth_date_for__age_that_no_date_gives__nearest_one_day_older() -> None:
    # 5y11m on 31 March would need a birth on 31 April.
    on = dt.date(2026, 3, 31)
    assert age_on(birth_date_for(Age(5, 11), on), on) == Age(5, 11, 1)


def test_age_on__leap_day_birthday__six_on_first_of_march() -> None:
    born = dt.date(2020, 2, 29)
    assert age_on(born, dt.date(2026, 2, 28)) == Age(5, 11, 30)
    assert age_on(born, dt.date(2026, 3, 1)) == Age(6)
    assert age_on(born, dt.date(2028, 2, 29)) == Age(8)


def test_parse_age__months_past_a_year__normalised() -> None:
    assert parse_age("18m") == Age(1, 6)
    assert str(parse_age("5y11m")) == "5y11m"


@pytest.mark.parametrize("bad", ["", "abc", "5x", "5y40d", "y"])
def test_parse_age__bad_spec__readable_error(bad: str) -> None:
    with pytest.raises(ValueError, match="age"):
        parse_age(bad)
