"""The sandbox page on a server that requires JWTs (sandbox enabled explicitly), in headless Chromium:
without a token the 401 is explained in the page; a pasted token signed by the configured issuer
goes with the /cds-services calls only, and the hook answers with cards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugin.storage import get_store
from tests.conftest import LiveServer

from .conftest import Issuer, production_app

pytestmark = pytest.mark.browser

UNDER_6 = "under6-day-before-6th-birthday"
ORDER_SIGN = "ecmo-cannulation-order-sign"


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def secure_sandbox(tmp_path: Path, issuer: Issuer) -> Iterator[tuple[LiveServer, Any]]:
    app = production_app(tmp_path, issuer, sandbox="enabled = true")
    server = LiveServer(app).start()
    try:
        yield server, app
    finally:
        server.stop()


def load_under_6(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/sandbox")
    page.wait_for_function("document.getElementById('p-name').textContent !== '–'")
    page.select_option("#patient", UNDER_6)
    page.wait_for_function("document.getElementById('age').textContent.startsWith('5 y 11 m 30 d')")


def test_page__jwt_required__401_explained_then_token_gets_cards(
    browser: Any, secure_sandbox: tuple[LiveServer, Any], issuer: Issuer
) -> None:
    server, app = secure_sandbox
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    sent: list[Any] = []
    page.on("request", lambda request: sent.append(request))
    try:
        load_under_6(page, server.url)

        # No token: the call is refused and the page says why and what to do, instead of breaking.
        page.click("#fire-sign")
        alert = page.wait_for_selector("#cards .auth-error", timeout=15000)
        text = alert.inner_text()
        assert "requires a JWT signed by a trusted issuer" in text
        assert "paste one in the Bearer token field" in text
        assert f"{server.url}/cds-services/{ORDER_SIGN}" in text
        assert page.query_selector("#cards .card") is None
        assert "401" in page.inner_text("#status")

        # A token from the configured issuer for this service URL: cards.
        page.fill("#bearer-token", issuer.token(f"{server.url}/cds-services/{ORDER_SIGN}"))
        page.click("#fire-sign")
        card = page.wait_for_selector('.card[data-topic="age-criteria"]', timeout=15000)
        assert page.query_selector("#cards .auth-error") is None
        assert "33951" in card.inner_text()

        # Feedback is a /cds-services call too: a token for its URL gets it stored.
        page.fill("#bearer-token", issuer.token(f"{server.url}/cds-services/{ORDER_SIGN}/feedback"))
        uuid = card.get_attribute("data-uuid")
        card.query_selector(".accept").click()
        page.wait_for_function(
            "document.querySelector('.card[data-topic=\"age-criteria\"] .feedback-status')"
            ".textContent.startsWith('Feedback recorded')"
        )
        assert [row["outcome"] for row in get_store(app).list_feedback() if row["card_uuid"] == uuid] == [
            "accepted"
        ]

        # The same token again is a replay: refused, and the page names the likely causes.
        page.click("#fire-sign")
        refused = page.wait_for_selector("#cards .auth-error", timeout=15000).inner_text()
        assert "refused the token (401)" in refused and "accepted once" in refused
        assert f"This token's aud is {server.url}/cds-services/{ORDER_SIGN}/feedback" in refused

        # The token went with /cds-services calls only, and the page stored it nowhere.
        with_token = [r for r in sent if "authorization" in r.all_headers()]
        assert len(with_token) == 3
        assert all(r.url.startswith(f"{server.url}/cds-services/") for r in with_token)
        assert any(r.url.startswith(f"{server.url}/sandbox/api/") for r in sent)
        stored = page.evaluate("() => localStorage.length + sessionStorage.length + document.cookie.length")
        assert stored == 0
    finally:
        page.close()
