"""Calendar ages and FHIR date strings: the arithmetic the sandbox uses to place a patient at an age.

Age is counted in completed calendar years, months and days, the way a birthday is: a child born on
2020-11-26 is 5 on 2026-11-25 and 6 on 2026-11-26. Someone born on 29 February completes a year on
1 March in a common year (the anniversary has not been reached on 28 February).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

FHIR_DATE = re.compile(r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?)?$")
AGE_SPEC = re.compile(r"^(?:(?P<y>\d+)y)?(?:(?P<m>\d+)m)?(?:(?P<d>\d+)d)?$")


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


def parse_date(value: str) -> dt.date:
    """A full FHIR date (YYYY-MM-DD) or the date part of a dateTime."""
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a FHIR date (YYYY-MM-DD)") from exc


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar month arithmetic; a day past the end of the target month becomes its last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def age_on(birth: dt.date, on: dt.date) -> Age:
    """Completed years, months and days from birth to `on` (on >= birth)."""
    if on < birth:
        raise ValueError(f"{on} is before the birth date {birth}")
    months = (on.year - birth.year) * 12 + (on.month - birth.month)
    if on.day < birth.day:
        months -= 1
    # Anniversaries that fall on a missing day (29 Feb, 31 Apr) are reached the day after the month ends.
    while months > 0 and _anniversary(birth, months) > on:
        months -= 1
    days = (on - _anniversary(birth, months)).days
    return Age(months // 12, months % 12, days)


def _anniversary(birth: dt.date, months: int) -> dt.date:
    index = birth.year * 12 + (birth.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    if birth.day > last:
        return dt.date(year, month + 1, last) + dt.timedelta(days=1)
    return dt.date(year, month + 1, birth.day)


def birth_date_for(age: Age, on: dt.date) -> dt.date:
    """The birth date that makes the patient exactly `age` old on `on`.

    Some ages have no such date (5y11m on 31 March needs a birth on 31 April); then the nearest
    birth date giving that many years and months and one day more is returned.
    """
    birth = add_months(on, -(age.years * 12 + age.months)) - dt.timedelta(days=age.days)
    candidates = [birth + dt.timedelta(days=offset) for offset in (0, -1, 1, -2, 2, -3, 3)]
    candidates = [c for c in candidates if c <= on]
    for candidate in candidates:
        if age_on(candidate, on) == age:
            return candidate
    for candidate in sorted(candidates, reverse=True):
        found = age_on(candidate, on)
        if (found.years, found.months) == (age.years, age.months) and found.days > age.days:
            return candidate
    raise ValueError(f"no birth date gives {age} on {on}")


def birth_range(birth_date: str) -> tuple[dt.date, dt.date]:
    """Earliest and latest possible birth day for a FHIR date of any precision (YYYY, YYYY-MM, full)."""
    match = FHIR_DATE.match(birth_date)
    if not match:
        raise ValueError(f"{birth_date!r} is not a FHIR date")
    year = int(match["y"])
    if match["d"]:
        day = dt.date(year, int(match["m"]), int(match["d"]))
        return day, day
    if match["m"]:
        month = int(match["m"])
        return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def age_range(birth_date: str, on: dt.date) -> tuple[Age, Age]:
    """Youngest and oldest possible age on `on` for a birth date of any precision."""
    earliest, latest = birth_range(birth_date)
    latest = min(latest, on)
    return age_on(latest, on), age_on(earliest, on)
