"""The sandbox page in a real headless Chromium (Debian's, driven by Playwright) against the live app."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from plugin.storage import get_store

from .conftest import ROOT

pytestmark = pytest.mark.browser

UNDER_6 = "under6-day-before-6th-birthday"


def pick_under_6_and_sign(page: Any, base_url: str) -> Any:
    """Load the page, choose the under-6 scenario, fire order-sign; returns the age-criteria card."""
    page.goto(f"{base_url}/sandbox")
    page.wait_for_function("document.getElementById('p-name').textContent !== '–'")
    page.select_option("#patient", UNDER_6)
    page.wait_for_function("document.getElementById('age').textContent.startsWith('5 y 11 m 30 d')")
    assert page.input_value("#order-code") == "33952"
    page.click("#fire-sign")
    card = page.wait_for_selector('.card[data-topic="age-criteria"]', timeout=15000)
    return card


def accept_and_check(page: Any, card: Any, app: Flask) -> None:
    assert "card-warning" in (card.get_attribute("class") or "")
    assert card.query_selector(".card-summary").inner_text().strip()
    uuid = card.get_attribute("data-uuid")
    card.query_selector(".accept").click()
    page.wait_for_function(
        "document.querySelector('.card[data-topic=\"age-criteria\"] .feedback-status')"
        ".textContent.startsWith('Feedback recorded')"
    )
    assert page.input_value("#order-code") == "33951"
    assert page.inner_text("#order-display").startswith("33951")
    rows = [row for row in get_store(app).list_feedback() if row["card_uuid"] == uuid]
    assert len(rows) == 1
    assert rows[0]["outcome"] == "accepted" and rows[0]["service_id"] == "ecmo-cannulation-order-sign"
    assert rows[0]["accepted_suggestions"] and rows[0]["accepted_suggestions"][0]["id"]
    assert '"hook": "order-sign"' in (page.text_content("#raw-request") or "")


def override_another_card(page: Any, app: Flask) -> None:
    """Override the next card with the first reason it offers; the store keeps reason and comment."""
    other = page.wait_for_selector('.card:not([data-topic="age-criteria"])')
    uuid = other.get_attribute("data-uuid")
    reasons = other.query_selector_all(".override-reason option")
    if len(reasons) > 1:
        other.query_selector(".override-reason").select_option(index=1)
    other.query_selector(".override-comment").fill("Reviewed with the payer")
    other.query_selector(".override-button").click()
    page.wait_for_function(
        f"document.querySelector('.card[data-uuid=\"{uuid}\"] .feedback-status')"
        ".textContent.startsWith('Feedback recorded')"
    )
    rows = [row for row in get_store(app).list_feedback() if row["card_uuid"] == uuid]
    assert len(rows) == 1 and rows[0]["outcome"] == "overridden"
    assert rows[0]["override_reason"]["userComment"] == "Reviewed with the payer"
    if len(reasons) > 1:
        assert rows[0]["override_reason"]["reason"]["code"]


def test_page__under_6__sign_accept_33951_feedback_stored(
    browser: Any, live_server: Any, app: Flask, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1180})
    try:
        card = pick_under_6_and_sign(page, live_server.url)
        # Markdown in the detail is rendered, and HTML in it stays text.
        detail = card.query_selector(".card-detail")
        if detail is not None:
            assert detail.query_selector("script") is None
        accept_and_check(page, card, app)
        target = (
            ROOT / "docs" / "sandbox.png" if os.environ.get("CPT_PLUGIN_SCREENSHOT") else tmp_path / "s.png"
        )
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(target))
        assert target.stat().st_size > 10_000
    finally:
        page.close()


def test_page__narrow_375px__nothing_overflows_horizontally(browser: Any, live_server: Any) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 800})
    try:
        pick_under_6_and_sign(page, live_server.url)
        page.click("#raw-h")
        for details in page.query_selector_all("details"):
            details.evaluate("d => d.open = true")
        widths = page.evaluate(
            "() => ({doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,"
            " view: window.innerWidth})"
        )
        assert widths["doc"] <= widths["view"] and widths["body"] <= widths["view"], widths
        too_wide = page.evaluate(
            "() => [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right"
            " > window.innerWidth + 0.5 && !e.closest('pre, .table-wrap'))"
            ".map(e => e.tagName + '.' + e.className)"
        )
        assert too_wide == []
    finally:
        page.close()


def test_page__markdown_detail__escaped_then_rendered(browser: Any, live_server: Any) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{live_server.url}/sandbox")
        html = page.evaluate(
            "() => renderMarkdown('**Age** <img src=x onerror=alert(1)> see "
            "[CMS](https://www.cms.gov)\\n\\n- a\\n- `b`')"
        )
        assert "<strong>Age</strong>" in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html
        assert '<a href="https://www.cms.gov" target="_blank" rel="noopener noreferrer">CMS</a>' in html
        assert "<ul><li>a</li><li><code>b</code></li></ul>" in html
        table = page.evaluate(
            "() => renderMarkdown('| A | B |\\n|---|---|\\n| **1** | 2 |\\n\\n---\\nRule x')"
        )
        assert '<div class="table-wrap"><table><thead><tr><th>A</th><th>B</th></tr></thead>' in table
        assert "<tbody><tr><td><strong>1</strong></td><td>2</td></tr></tbody>" in table
        assert "<hr><p>Rule x</p>" in table
        unsafe = page.evaluate("() => renderMarkdown('[x](javascript:alert(1))')")
        assert "<a" not in unsafe
    finally:
        page.close()


def test_page__age_card_links_to_the_code_pages_and_they_open(browser: Any, live_server: Any) -> None:
    """The card of a 33952 order links to /codes/33952 (and its counterpart's page); the links open."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        card = pick_under_6_and_sign(page, live_server.url)
        hrefs = [a.get_attribute("href") or "" for a in card.query_selector_all("a")]
        wanted = [f"{live_server.url}/codes/33952", f"{live_server.url}/codes/33951"]
        assert all(url in hrefs for url in wanted), hrefs
        for url in wanted:
            opened = browser.new_page()
            try:
                response = opened.goto(url)
                assert response is not None and response.status == 200
                assert opened.inner_text("h1") == "CPT " + url.rsplit("/", 1)[1]
            finally:
                opened.close()
    finally:
        page.close()
