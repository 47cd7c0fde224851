"""Card links lead somewhere: every link a card of any sandbox scenario carries answers, and a card
about a family code links to that code's page (/codes/{code}), where the reference material lives."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from plugin import clock
from plugin.sandbox.hookrequest import CONTRACT_SERVICES
from plugin.sandbox.scenarios import SPECS

TODAY = dt.date(2026, 12, 31)


def cards_for(client: FlaskClient, scenario: str, hook: str) -> list[dict]:
    built = client.post(
        "/sandbox/api/request", json={"scenario": scenario, "hook": hook, "shiftToToday": True}
    )
    assert built.status_code == 200, built.get_data(as_text=True)
    answer = client.post(f"/cds-services/{CONTRACT_SERVICES[hook]}", json=built.get_json()["request"])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["cards"]


@pytest.fixture(scope="module")
def all_cards(app_module_client: FlaskClient) -> list[tuple[str, str, dict]]:
    found = []
    with clock.pinned(TODAY):
        for spec in SPECS:
            for hook in CONTRACT_SERVICES:
                found += [(spec.name, hook, card) for card in cards_for(app_module_client, spec.name, hook)]
    assert found, "no scenario drew a card"
    return found


@pytest.fixture(scope="module")
def app_module_client(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    from plugin.app import create_app

    from .conftest import sandbox_settings

    app = create_app(sandbox_settings(tmp_path_factory.mktemp("links")))
    app.config["TESTING"] = True
    return app.test_client()


def test_every_card_link__absolute_and_answers(all_cards, app_module_client: FlaskClient) -> None:
    checked = 0
    for scenario, hook, card in all_cards:
        for link in card.get("links", []):
            assert link["type"] == "absolute", (scenario, hook, link)
            parts = urlsplit(link["url"])
            assert parts.scheme in ("http", "https") and parts.netloc, (scenario, hook, link)
            if parts.netloc != "localhost":
                continue  # a publisher's page (CMS, AMA, a payer): not fetched by tests
            # A person opens the link: a browser's Accept for the pages, a FHIR client's for the API.
            accept = "application/fhir+json" if parts.path.startswith("/fhir") else "text/html"
            page = app_module_client.get(parts.path, headers={"Accept": accept})
            assert page.status_code == 200, (scenario, hook, card["summary"], link["url"])
            checked += 1
    assert checked > 0


def test_cards_about_33952_link_to_its_page(all_cards) -> None:
    topics = {
        card["source"]["topic"]["code"]
        for _, _, card in all_cards
        if any(urlsplit(link["url"]).path == "/codes/33952" for link in card.get("links", []))
    }
    # The age card of an under-6 order of 33952 and the documentation card of a 33952 order at least.
    assert {"age-criteria", "documentation"} <= topics, topics
