"""Shift every date in a FHIR bundle by a whole number of days, keeping each value's precision.

Only values under date-typed elements move: FHIR names them `birthDate`, `...DateTime`, `...Instant`,
`...Date`, and the well-known plain ones (`start`/`end` of a Period, `issued`, `created`, `date`, ...).
A value must also parse as a FHIR date, dateTime or instant, so an identifier that merely looks like
a date in a string element is left alone. Partial dates keep their precision ("1976-01" + 40 days is
"1976-02"); times and zone offsets are kept as written, so every interval between two full dates or
two timestamps is unchanged.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any

DATE_VALUE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})(?P<rest>T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
PLAIN_DATE_KEYS = frozenset(
    {
        "start",
        "end",
        "issued",
        "created",
        "date",
        "authoredOn",
        "lastUpdated",
        "recorded",
        "timestamp",
        "dateAsserted",
        "dateWritten",
        "sent",
        "received",
        "occurrenceDateTime",
        "instant",
        "when",
        "dateTime",
        "onsetDateTime",
        "abatementDateTime",
        "effectiveDateTime",
        "performedDateTime",
    }
)


def is_date_key(key: str) -> bool:
    bare = key.lstrip("_")
    return (
        bare in PLAIN_DATE_KEYS
        or bare.endswith(("DateTime", "Instant", "Date"))
        or bare in ("birthDate", "deceasedDateTime")
    )


def shift_value(value: str, days: int) -> str:
    """Shift one FHIR date/dateTime/instant string; its precision and time of day stay as they were."""
    match = DATE_VALUE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a FHIR date, dateTime or instant")
    year = int(match["y"])
    if match["d"]:
        moved = dt.date(year, int(match["m"]), int(match["d"])) + dt.timedelta(days=days)
        return f"{moved.year:04d}-{moved.month:02d}-{moved.day:02d}" + (match["rest"] or "")
    if match["m"]:
        month = int(match["m"])
        # A month moves with its middle day, so a shift of a few days keeps it where a reader expects.
        middle = dt.date(year, month, (calendar.monthrange(year, month)[1] + 1) // 2)
        moved = middle + dt.timedelta(days=days)
        return f"{moved.year:04d}-{moved.month:02d}"
    moved = dt.date(year, 7, 2) + dt.timedelta(days=days)
    return f"{moved.year:04d}"


def shift_resource(node: Any, days: int) -> Any:
    """Shift in place every date under date-typed keys of a resource, bundle or any JSON tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and is_date_key(key) and DATE_VALUE.match(value):
                node[key] = shift_value(value, days)
            elif isinstance(value, dict | list):
                shift_resource(value, days)
    elif isinstance(node, list):
        for item in node:
            shift_resource(item, days)
    return node


def collect_dates(node: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, value) of every value shift_resource would move, in document order (for tests and checks)."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else key
            if isinstance(value, str) and is_date_key(key) and DATE_VALUE.match(value):
                found.append((where, value))
            elif isinstance(value, dict | list):
                found.extend(collect_dates(value, where))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.extend(collect_dates(item, f"{path}[{index}]"))
    return found
