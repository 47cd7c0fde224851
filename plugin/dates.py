"""The product's one date and age arithmetic: FHIR dates as day ranges, and ages on a date of service.

Used alike by the CDS age rule (whole years, on every request), the sandbox (placing a patient at an
age, shifting records to a date) and the synthetic generator, so the two can never disagree.

A FHIR `date` or `dateTime` may be partial ("2020", "2020-11"), so it is read as the range of calendar
days it could mean. A `dateTime` with a time keeps the calendar date it was written in: an order for
"2026-11-20T23:30:00-05:00" is on 20 November where it was placed, even though that instant is
21 November in UTC. Converting to UTC first would move the date of service across a birthday.

Age is counted in completed calendar years, months and days, the way a birthday is: a child born on
2020-11-26 is 5 on 2026-11-25 and 6 on 2026-11-26. An anniversary that falls on a day the month does
not have (29 February in a common year, 31 April) is reached on the first day of the next month, so
someone born on 29 February is a year older on 1 March in a common year and is still the younger age
on 28 February. That is the common-law reading several jurisdictions write down (one example is
Maryland Code, General Provisions 1-303(b)); where a payer or a state counts otherwise, the product
does not know it.
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
AGE_SPEC = re.compile(r"^(?:(?P<y>\d+)y)?(?:(?P<m>\d+)m)?(?:(?P<d>\d+)d)?$")


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


def parse_date(value: str) -> dt.date:
    """A full FHIR date (YYYY-MM-DD) or the date part of a dateTime; ValueError otherwise."""
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a FHIR date (YYYY-MM-DD)") from exc


# --- anniversaries --------------------------------------------------------------------------------


def month_anniversary(birth: dt.date, months: int) -> dt.date:
    """The day `months` calendar months after `birth` is reached; a missing day rolls to the next
    month's first day (29 February -> 1 March, 31 March + 1 month -> 1 May)."""
    index = birth.year * 12 + (birth.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    if birth.day > last:
        return dt.date(year, month + 1, last) + dt.timedelta(days=1)
    return dt.date(year, month + 1, birth.day)


def anniversary(birth: dt.date, years: int) -> dt.date:
    """The day a person born on `birth` reaches `years` whole years."""
    return month_anniversary(birth, 12 * years)


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years completed on `day`. The same answer as `anniversary`: comparing (month, day)
    pairs puts 29 February after 28 February, so a 29 February birth counts on 1 March in a common
    year. This form is on every CDS request, so it avoids building dates."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar month arithmetic; a day past the end of the target month becomes its last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


# --- whole-year ranges (the CDS age rule) ---------------------------------------------------------


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


# --- years, months and days (the sandbox) ---------------------------------------------------------


@dataclass(frozen=True, order=True)
class Age:
    years: int
    months: int = 0
    days: int = 0

    def __str__(self) -> str:
        parts = [f"{self.years}y"]
        if self.months:
            parts.append(f"{self.months}m")
        if self.days:
            parts.append(f"{self.days}d")
        return "".join(parts)


def parse_age(spec: str) -> Age:
    """'5y11m', '40y', '18m', '6y0m1d' -> Age. Raises ValueError with a readable message."""
    match = AGE_SPEC.match(spec.strip().lower())
    if not spec.strip() or not match or not any(match.groupdict().values()):
        raise ValueError(f"age {spec!r} is not like 5y11m, 40y or 18m")
    years, months, days = (int(match.group(k) or 0) for k in ("y", "m", "d"))
    if days >= 31:
        raise ValueError(f"age {spec!r}: days must be under 31 (use months)")
    return Age(years + months // 12, months % 12, days)


def age_parts(birth: dt.date, on: dt.date) -> Age:
    """Completed years, months and days from birth to `on` (on >= birth); `.years` equals age_on."""
    if on < birth:
        raise ValueError(f"{on} is before the birth date {birth}")
    months = (on.year - birth.year) * 12 + (on.month - birth.month)
    if on.day < birth.day:
        months -= 1
    # Anniversaries that fall on a missing day (29 Feb, 31 Apr) are reached the day after the month ends.
    while months > 0 and month_anniversary(birth, months) > on:
        months -= 1
    days = (on - month_anniversary(birth, months)).days
    return Age(months // 12, months % 12, days)


def birth_date_for(age: Age, on: dt.date) -> dt.date:
    """The latest birth date that makes the patient at least `age` old on `on`.

    That is exactly `age` whenever some birth date gives it. Some ages do not exist on some dates
    (5y11m30d on 7 December: a child born on 8 December six years back is 5y11m29d, the next day 6y),
    and then the youngest patient who is older is returned. Total: it answers on every date from
    year 1 + age, and never raises for an age that fits in the calendar.
    """
    one_day = dt.timedelta(days=1)
    try:
        # Ages only grow as the birth date moves back (never shrink), so walk from a nearby start:
        # back until old enough, then forward while the next day is still old enough.
        birth = min(add_months(on, -(age.years * 12 + age.months)) - dt.timedelta(days=age.days), on)
        while age_parts(birth, on) < age:
            birth -= one_day
        while birth < on and age_parts(birth + one_day, on) >= age:
            birth += one_day
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"no birth date gives {age} on {on}: before year 1") from exc
    return birth


def latest_birth_for_years(years: int, on: dt.date) -> dt.date:
    """The latest birth date with `years` whole years completed on `on`: the youngest patient of that
    age, whose birthday is `on` itself, or was the day before when `on` is a 29 February that the
    birth year does not have."""
    year = on.year - years
    if on.month == 2 and on.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return on.replace(year=year)


def birth_range(birth_date: str) -> tuple[dt.date, dt.date]:
    """Earliest and latest possible birth day for a FHIR date of any precision (YYYY, YYYY-MM, full)."""
    found = parse_fhir_date(birth_date, allow_time=False)
    if found is None:
        raise ValueError(f"{birth_date!r} is not a FHIR date")
    return found.low, found.high


def age_parts_range(birth_date: str, on: dt.date) -> tuple[Age, Age]:
    """Youngest and oldest possible age on `on` for a birth date of any precision."""
    earliest, latest = birth_range(birth_date)
    latest = min(latest, on)
    return age_parts(latest, on), age_parts(earliest, on)
