"""The product's one clock: pinned by tests, by `[clock] today`, or by CPT_PLUGIN_TODAY for demos."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from plugin import clock
from plugin.app import create_app
from plugin.config import ConfigError
from tests.conftest import test_settings as base_settings


def test_pinned__today_is_that_date_inside_only() -> None:
    real = dt.datetime.now(dt.UTC).date()
    with clock.pinned(dt.date(2028, 2, 29)):
        assert clock.today() == dt.date(2028, 2, 29)
        assert clock.now().date() == dt.date(2028, 2, 29)
    assert clock.today() in (real, real + dt.timedelta(days=1))  # a run may cross midnight


def test_config_today__pins_the_clock_and_the_sandbox_uses_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(clock.ENV_VAR, raising=False)
    app = create_app({**base_settings(tmp_path), "clock": {"today": "2027-12-31"}})
    assert clock.today() == dt.date(2027, 12, 31)
    body = {"scenario": "under6-day-before-6th-birthday", "hook": "order-sign", "shiftToToday": True}
    built = app.test_client().post("/sandbox/api/request", json=body).get_json()
    assert built["orderDate"] == "2027-12-31"
    assert built["request"]["prefetch"]["patient"]["birthDate"] == "2022-01-01"


def test_environment_variable__wins_over_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(clock.ENV_VAR, "2028-03-01")
    create_app({**base_settings(tmp_path), "clock": {"today": "2027-12-31"}})
    assert clock.today() == dt.date(2028, 3, 1)


@pytest.mark.parametrize("bad", ["2027-02-30", "tomorrow", 20271231])
def test_config_today__not_a_date__error_names_the_key(tmp_path: Path, bad) -> None:
    with pytest.raises(ConfigError, match="clock.today"):
        create_app({**base_settings(tmp_path), "clock": {"today": bad}})


def test_environment_variable__not_a_date__error_names_the_variable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(clock.ENV_VAR, "31/12/2027")
    with pytest.raises(ValueError, match=clock.ENV_VAR):
        create_app(base_settings(tmp_path))
