"""The code pages in a real headless Chromium (Debian's, driven by Playwright) against the live app:
the page renders every section, its modifier table matches the ConceptMap the FHIR API serves, and
every link on it resolves."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest

from .conftest import ROOT, family_codes

pytestmark = pytest.mark.browser

HEADINGS = [
    "Summary", "What the code covers", "Age band and counterpart", "Approach", "What is included",
    "Documentation elements", "Modifiers", "Site of service", "Medicare indicators", "Payers",
    "Code-pair edits and MUE", "CDS rules for 33952", "Sources",
]  # fmt: skip
MAP_URL = "https://fhir.cpt-plugin.org/ConceptMap/cpt-33952-modifier-applicability"
BASE_CODE = "https://fhir.cpt-plugin.org/CodeSystem/modifier-applicability#base-code"


def served_map_rows(page: Any, base_url: str) -> dict[str, str]:
    """modifier -> category for base code 33952, from the ConceptMap as the FHIR API serves it."""
    bundle = page.request.get(f"{base_url}/fhir/ConceptMap?url={quote(MAP_URL, safe='')}").json()
    concept_map = bundle["entry"][0]["resource"]
    return {
        element["code"]: target["code"]
        for group in concept_map["group"]
        for element in group["element"]
        for target in element["target"]
        if any(d["property"] == BASE_CODE and d["value"] == "33952" for d in target.get("dependsOn", []))
    }


def test_code_page__renders_matches_the_map_and_links_resolve(
    browser: Any, live_server: Any, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    try:
        response = page.goto(f"{live_server.url}/codes/33952")
        assert response is not None and response.status == 200
        assert page.inner_text("h1") == "CPT 33952"
        assert [h.strip() for h in page.locator("h2").all_inner_texts()] == HEADINGS
        for section in ("summary", "covers", "age", "included", "documentation", "modifiers", "site"):
            assert page.locator(f"#{section}").is_visible()

        shown = {
            row.get_attribute("data-modifier"): row.get_attribute("data-category")
            for row in page.query_selector_all("#modifier-table tr.modifier")
        }
        assert shown == served_map_rows(page, live_server.url)
        assert "00" not in shown

        # Every footnote points at a listed source; every same-site link answers; no other link is
        # fetched (tests talk only to 127.0.0.1), but each is an absolute http(s) address.
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
        assert len(hrefs) > 100
        checked: set[str] = set()
        for href in hrefs:
            if href.startswith("#"):
                assert page.query_selector(href) is not None, href
                continue
            absolute = urljoin(f"{live_server.url}/codes/33952", href)
            if urlsplit(absolute).netloc != urlsplit(live_server.url).netloc:
                assert urlsplit(href).scheme in ("http", "https"), href
                continue
            if absolute in checked:
                continue
            checked.add(absolute)
            status = page.request.get(absolute).status
            assert status == 200, f"{href} -> {status}"
        assert any("/codes/33951" in url for url in checked)
        assert any("/fhir/CodeSystem/$lookup" in url for url in checked)

        target = (
            ROOT / "docs" / "img" / "codes-33952.png"
            if os.environ.get("CPT_PLUGIN_SCREENSHOT")
            else tmp_path / "codes-33952.png"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(target))
        assert target.stat().st_size > 10_000
    finally:
        page.close()


def test_landing_page__family_table_leads_to_each_code_page(browser: Any, live_server: Any) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto(f"{live_server.url}/")
        codes = page.eval_on_selector_all("#family tr[data-code]", "rows => rows.map(r => r.dataset.code)")
        assert codes == family_codes()
        page.click('#family a[href="/codes/33987"]')
        page.wait_for_url(f"{live_server.url}/codes/33987")
        assert page.inner_text("h1") == "CPT 33987"
        for href in ("/fhir/metadata", "/cds-services", "/sandbox", "/openapi.json"):
            assert page.request.get(f"{live_server.url}{href}").status == 200, href
    finally:
        page.close()
