"""What each scenario's birth date means on any date of service, and the age cards that follow.

A scenario is defined by a relation between the birth date and the date of service ("the day before
the 6th birthday", "born on 29 February"), never by an age tuple, because an age like 5y11m30d does
not exist on every date. `birth_for(kind, on)` computes the birth date from that definition for
whatever date of service it is given, so the sandbox can place every scenario on today's date, and
`scenario_dates(spec, as_of, rng)` is the generator's choice of date of service for a scenario.

What each kind means on every date (also in each scenario's description):

- `day-before`: the oldest child who is still 5 on the date of service, i.e. the child whose 6th
  birthday is the next day. On 28 February of a leap year nobody has a 6th birthday on the 29th (that
  birth year was common), so the child turns 6 on 1 March, two days later.
- `day-of`: the youngest child who is 6, i.e. whose 6th birthday is the date of service. On
  29 February nobody has a 6th birthday, so the child turned 6 the day before.
- `leap-feb28`: born on 29 February and still under 6. On its own date (28 February of a common year
  six years after a leap year) the child is 5 and turns 6 the next day, on 1 March. On any other date
  the child is the oldest one born on a 29 February who is still under 6 (between 2 and 5 then).
- `leap-mar01`: born on 29 February and 6 or older. On its own date (1 March of such a year) the child
  turns 6 that day; on any other date it is the youngest one born on a 29 February who is 6 or older.
- `partial-year` / `partial-month`: the birth date is only the year (or year and month) six years
  back, which leaves the age 5 or 6. On 31 December a year-only birth date six years back is 6 for
  every day of that year, and on the last day of a month a year-month one is 6 for every day of that
  month (except a 28 February after a 29 February birth), so on those dates the age is decided; the
  generator then moves its date of service one day back, and a shifted record gets the cards of the
  decided age.
- `exact` / `adult-partial-year`: a patient of a given age (years, months, days) on the date; where
  that age does not exist on the date, the youngest patient who is older.
- `missing`: no birth date.

If no 29 February is near enough (leap-feb28 in the years around 2100, which is not a leap year, or
leap-mar01 in the first years of the calendar), the leap kinds fall back to `day-before` / `day-of`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random

from plugin.dates import (
    Age,
    DateRange,
    age_range,
    anniversary,
    birth_date_for,
    latest_birth_for_years,
    parse_fhir_date,
)
from plugin.sandbox.bundles import ExpectedCard
from plugin.sandbox.scenarios import AGE, AGE_UNCERTAIN, NO_BIRTH_DATE, Spec

# The CPT age split (the CPT 2015 ECMO/ECLS code descriptors, as the age-criteria rule cites): 33951 is
# reported from birth through 5 years, 33952 from age 6. (min, max) whole years; None = no limit.
AGE_BANDS: dict[str, tuple[int | None, int | None]] = {"33951": (None, 5), "33952": (6, None)}
SIXTH = 6


def birth_for(kind: str, on: dt.date, age: Age | None = None) -> str | None:
    """Patient.birthDate (FHIR date, maybe partial) that gives a scenario `kind` its meaning on `on`."""
    if kind == "day-before":
        return (latest_birth_for_years(SIXTH, on) + dt.timedelta(days=1)).isoformat()
    if kind == "day-of":
        return latest_birth_for_years(SIXTH, on).isoformat()
    if kind == "leap-feb28":
        born = _leap_day_birth(on, under_six=True)
        return born.isoformat() if born else birth_for("day-before", on)
    if kind == "leap-mar01":
        born = _leap_day_birth(on, under_six=False)
        return born.isoformat() if born else birth_for("day-of", on)
    if kind == "partial-year":
        return f"{on.year - SIXTH:04d}"
    if kind == "partial-month":
        return f"{on.year - SIXTH:04d}-{on.month:02d}"
    if kind == "missing":
        return None
    if age is None:
        raise ValueError(f"a birth date of kind {kind!r} needs an age")
    born = birth_date_for(age, on)
    return f"{born.year:04d}" if kind == "adult-partial-year" else born.isoformat()


def _leap_day_birth(on: dt.date, *, under_six: bool) -> dt.date | None:
    """Born on a 29 February: the oldest still under 6 on `on`, or the youngest 6 or older."""
    if under_six:
        years = range(on.year - SIXTH, on.year + 1)
    else:
        years = range(on.year - SIXTH, max(on.year - 20, 0), -1)
    for year in years:
        if year < 1 or not calendar.isleap(year):
            continue
        born = dt.date(year, 2, 29)
        if born > on:
            return None
        if (anniversary(born, SIXTH) > on) == under_six:
            return born
    return None


def scenario_dates(spec: Spec, as_of: dt.date, rng: random.Random) -> tuple[dt.date, str | None]:
    """The generator's (date of service, Patient.birthDate or None) for a spec, as of a date.

    The date of service is `as_of`, except where the scenario only means what it says on another
    date: the leap-day ones on the latest 28 February / 1 March (of a common year six years after a
    leap year) not after `as_of`, and the partial ones a day earlier when `as_of` decides the age.
    """
    order = as_of
    if spec.birth in ("leap-feb28", "leap-mar01"):
        year = as_of.year if as_of >= dt.date(as_of.year, 3, 1) else as_of.year - 1
        while not calendar.isleap(year - SIXTH) or calendar.isleap(year):
            year -= 1
        order = dt.date(year, 2, 28) if spec.birth == "leap-feb28" else dt.date(year, 3, 1)
    elif _decides_partial_age(spec.birth, order):
        order -= dt.timedelta(days=1)
    age = None
    if spec.birth in ("exact", "adult-partial-year"):
        # The generator's randomness is drawn in this order; changing it changes every bundle.
        age = Age(rng.randint(*spec.age_years), rng.randint(0, 11), rng.randint(0, 27))
    return order, birth_for(spec.birth, order, age)


def _decides_partial_age(kind: str, on: dt.date) -> bool:
    """31 December for a year-only birth date, a month's last day for a year-month one."""
    if kind == "partial-year":
        return (on.month, on.day) == (12, 31)
    return kind == "partial-month" and (on + dt.timedelta(days=1)).day == 1


def age_cards(code: str, birth_date: str | None, on: dt.date) -> list[ExpectedCard]:
    """The age cards the age rule's stated condition gives for an order of `code` on `on`.

    Worked out from the CPT age split, not from what the service returns, so a replay can catch a
    wrong service: every possible age outside the code's band -> age-criteria; possible ages on both
    sides of the band's edge -> data-quality (undecidable); no usable birth date -> data-quality.
    """
    band = AGE_BANDS.get(code)
    if band is None:
        return []
    if birth_date is None:
        return [NO_BIRTH_DATE]
    birth = parse_fhir_date(birth_date, allow_time=False)
    ages = age_range(birth, DateRange.of(on)) if birth else None
    if ages is None:
        return [NO_BIRTH_DATE]
    low, high = band
    if (low is None or ages.low >= low) and (high is None or ages.high <= high):
        return []
    if (low is not None and ages.high < low) or (high is not None and ages.low > high):
        return [AGE]
    return [AGE_UNCERTAIN]


def expected_cards(spec: Spec, birth_date: str | None, on: dt.date) -> list[ExpectedCard]:
    """Every card a scenario should get on `on`: its age cards, then its own, the note and payer."""
    if not spec.in_family:
        return []
    return age_cards(spec.code, birth_date, on) + spec.cards()
