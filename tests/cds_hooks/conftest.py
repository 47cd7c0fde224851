"""Fixtures for the CDS Hooks tests: an app with the terminology fixture content, a pinned clock,
sequential uuids, and a helper that posts a hook and checks the answer against the response schema."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin import clock
from plugin.app import create_app
from plugin.cds_hooks import cards
from plugin.cds_hooks.schemas import response_problems

NOW = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)


def cds_settings(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "storage": {"url": f"sqlite:///{tmp_path / 'feedback.db'}"},
        "security": {"require_jwt": False, "issuers": []},
        # Generous, so a loopback FHIR server on a loaded machine still answers in time; the tests about
        # a server that does not answer shorten it (short_fetch_timeout).
        "limits": {"fetch_timeout_seconds": 10.0},
    }
    for key, value in extra.items():
        settings[key] = {**settings.get(key, {}), **value}
    return settings


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[dt.datetime]:
    with clock.pinned(NOW.date()):
        yield NOW


@pytest.fixture(autouse=True)
def sequential_uuids(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = itertools.count(1)

    def sequential() -> str:
        return f"00000000-0000-4000-8000-{next(counter):012d}"

    monkeypatch.setattr(cards, "new_uuid", sequential)
    monkeypatch.setattr(cards, "new_card_uuid", sequential)


@pytest.fixture
def cds_app(tmp_path: Path) -> Flask:
    application = create_app(cds_settings(tmp_path))
    application.config["TESTING"] = True
    return application


@pytest.fixture
def short_fetch_timeout(cds_app: Flask) -> float:
    """A 1 s fetch timeout on the test app, for the tests whose FHIR server answers late."""
    cds_app.config["PLUGIN"]["limits"]["fetch_timeout_seconds"] = 1.0
    return 1.0


@pytest.fixture
def app(cds_app: Flask) -> Flask:
    """The shared `client` and `live_server` fixtures serve the CDS test app."""
    return cds_app


@pytest.fixture
def cds_client(cds_app: Flask) -> FlaskClient:
    return cds_app.test_client()


@pytest.fixture
def call(cds_app: Flask, cds_client: FlaskClient) -> Iterator[Callable[..., dict[str, Any]]]:
    """POST a hook request; assert 200 and a response valid against the schema and the invariants."""

    def _call(service_id: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = cds_client.post(f"/cds-services/{service_id}", json=body)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        response = reply.get_json()
        problems = response_problems(cds_app.extensions["cds_hooks"].schemas, response)
        assert problems == [], problems
        return response

    yield _call
