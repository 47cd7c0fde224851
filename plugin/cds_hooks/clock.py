"""The service's idea of now, in one place so tests can pin it (monkeypatch `now`)."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """The request date: the UTC calendar date the request is answered on."""
    return now().date()
