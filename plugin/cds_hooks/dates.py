"""FHIR dates as calendar-date ranges, and age in whole years on a date of service.

A FHIR `date` or `dateTime` may be partial ("2020", "2020-11"), so it is read as the range of calendar
days it could mean. A `dateTime` with a time keeps the calendar date it was written in: an order for
"2026-11-20T23:30:00-05:00" is on 20 November where it was placed, even though that instant is
21 November in UTC. Converting to UTC first would move the date of service across a birthday.

Whole-year age follows the anniversary rule: a person is N on the Nth anniversary of birth. Someone
born on 29 February reaches the anniversary on 1 March in a common year (Maryland Code, General
Provisions 1-303(b); the same rule as in the UK, Hong Kong and New Zealand), so on 28 February of a
common year they are still the younger age.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

# FHIR R4 date / dateTime lexical forms (http://hl7.org/fhir/R4/datatypes.html#dateTime).
_DATE = r"(?P<y>[0-9]{4})(-(?P<m>0[1-9]|1[0-2])(-(?P<d>0[1-9]|[12][0-9]|3[01]))?)?"
_TIME = (
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)
_DATE_RE = re.compile(rf"^{_DATE}$")
_DATETIME_RE = re.compile(rf"^{_DATE}({_TIME})?$")


class DateRange(NamedTuple):
    """The calendar days a (possibly partial) FHIR date can mean, inclusive (an immutable record;
    a named tuple because every request builds a few and it is the cheapest to build)."""

    low: dt.date
    high: dt.date
    text: str

    @property
    def precise(self) -> bool:
        return self.low == self.high

    @classmethod
    def of(cls, day: dt.date) -> DateRange:
        return cls(day, day, day.isoformat())


def parse_fhir_date(value: Any, *, allow_time: bool = True) -> DateRange | None:
    """A FHIR date/dateTime string as a DateRange in its own calendar; None when it is not one."""
    if not isinstance(value, str):
        return None
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        # The common full date (birthDate, a date-only occurrence): read without the regex. The
        # calendar check refuses what the pattern would (month 13, day 00, 30 February, year 0).
        digits = value[:4] + value[5:7] + value[8:]
        if digits.isascii() and digits.isdigit():
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                return None
            return DateRange(day, day, value)
    match = (_DATETIME_RE if allow_time else _DATE_RE).match(value.strip())
    if not match:
        return None
    year = int(match["y"])
    if year < 1:
        return None
    text = value.strip()[:10]
    if match["m"] is None:
        return DateRange(dt.date(year, 1, 1), dt.date(year, 12, 31), text[:4])
    month = int(match["m"])
    last_day = calendar.monthrange(year, month)[1]
    if match["d"] is None:
        return DateRange(dt.date(year, month, 1), dt.date(year, month, last_day), text[:7])
    day = int(match["d"])
    if day > last_day:
        return None
    return DateRange.of(dt.date(year, month, day))


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years completed on `day` (anniversary rule; 29 February -> 1 March in common years)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def anniversary(birth: dt.date, years: int) -> dt.date:
    """The day a person born on `birth` reaches `years` whole years."""
    year = birth.year + years
    if birth.month == 2 and birth.day == 29 and not calendar.isleap(year):
        return dt.date(year, 3, 1)
    return birth.replace(year=year)


@dataclass(frozen=True)
class AgeRange:
    """Youngest and oldest whole-year age the patient can have on the date of service."""

    low: int
    high: int

    @property
    def text(self) -> str:
        return age_text(self.low, self.high)


def age_text(low: int, high: int) -> str:
    return str(low) if low == high else f"{low} to {high}"


def age_bounds(birth: DateRange, service: DateRange) -> tuple[int, int] | None:
    """(youngest, oldest) whole-year age consistent with both ranges; None when birth is after the
    date of service."""
    if birth.low > service.high:
        return None
    return max(0, age_on(birth.high, service.low)), age_on(birth.low, service.high)


def age_range(birth: DateRange, service: DateRange) -> AgeRange | None:
    """Every age consistent with both ranges; None when birth is after the date of service."""
    bounds = age_bounds(birth, service)
    return AgeRange(*bounds) if bounds else None
