"""The product's one clock: what "today" is for the age rule, the sandbox and the synthetic generator.

Every date that depends on "now" is read here, so a test or a demo can pin it:
- tests call `pin(date)` (or use the `pinned` context manager) and `unpin()` afterwards;
- a deployment or demo sets the config key `clock.today` (YYYY-MM-DD) or the environment variable
  `CPT_PLUGIN_TODAY`, applied by `configure()` when the app is created.

Only the calendar date is pinned: `now()` keeps the real time of day on the pinned date. Timestamps
that record when something happened (audit lines, stored feedback, JWT `exp`/`iat` checks) stay on
the real clock on purpose: pinning a demo's date must not make tokens expire or logs lie.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager

ENV_VAR = "CPT_PLUGIN_TODAY"

_pinned: dt.date | None = None


def now() -> dt.datetime:
    """The current UTC instant, moved to the pinned date when one is set."""
    real = dt.datetime.now(dt.UTC)
    if _pinned is None:
        return real
    return real.replace(year=_pinned.year, month=_pinned.month, day=_pinned.day)


def today() -> dt.date:
    """The request date: the UTC calendar date the request is answered on (or the pinned date)."""
    return _pinned if _pinned is not None else dt.datetime.now(dt.UTC).date()


def pin(day: dt.date | None) -> None:
    """Make `today()` answer `day` from now on; None returns to the real date."""
    global _pinned
    if day is not None and not isinstance(day, dt.date):
        raise TypeError(f"pin() takes a datetime.date, not {type(day).__name__}")
    _pinned = day.date() if isinstance(day, dt.datetime) else day


def unpin() -> None:
    pin(None)


def pinned_date() -> dt.date | None:
    return _pinned


@contextmanager
def pinned(day: dt.date) -> Iterator[dt.date]:
    """`with clock.pinned(date(2028, 2, 29)):` - today() is that date inside the block."""
    before = _pinned
    pin(day)
    try:
        yield day
    finally:
        pin(before)


def parse_day(value: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"{where}: {value!r} is not a date like 2028-02-29") from exc


def configure(configured: str | None) -> dt.date | None:
    """Apply `clock.today` from the settings, else CPT_PLUGIN_TODAY; both unset leaves the clock real.

    The environment variable wins over the file so a demo can move the date without editing config.
    """
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        day = parse_day(from_env, ENV_VAR)
    elif configured:
        day = parse_day(configured, "clock.today")
    else:
        return None
    pin(day)
    return day
