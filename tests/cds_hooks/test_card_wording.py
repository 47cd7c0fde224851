"""The text of every card the synthetic scenarios get (both order hooks) reads cleanly: summaries under
140 characters and cut between words, no doubled words, no placeholder dates, sources dated or marked
"date not given", and orders listed as a sentence."""

from __future__ import annotations

import re
from typing import Any

import pytest

from plugin.cds_hooks.cards import _summary
from plugin.cds_hooks.tables import dated_label
from plugin.sandbox.hookrequest import CONTRACT_PREFETCH, CONTRACT_SERVICES, build_request
from plugin.sandbox.store import SandboxStore, folders_from_settings

DOUBLED = re.compile(r"\b([A-Za-z]+) \1\b", re.IGNORECASE)


@pytest.fixture
def scenario_cards(cds_app, cds_client) -> list[tuple[str, dict[str, Any]]]:
    store = SandboxStore(folders_from_settings(cds_app.config["PLUGIN"])).load()
    assert len(store.records) >= 25
    found = []
    for name, record in store.records.items():
        for hook, service in CONTRACT_SERVICES.items():
            body = build_request(record, hook, "http://127.0.0.1:9/sandbox/fhir", CONTRACT_PREFETCH)
            reply = cds_client.post(f"/cds-services/{service}", json=body)
            assert reply.status_code == 200, (name, hook, reply.get_data(as_text=True))
            found += [(f"{name} {hook}", card) for card in reply.get_json()["cards"]]
    assert len({card["extension"]["org.cpt-plugin.rule"]["id"] for _, card in found}) >= 10
    return found


def test_synthetic_scenarios__every_card_reads_cleanly(scenario_cards) -> None:
    problems = []
    for where, card in scenario_cards:
        summary, detail = card["summary"], card["detail"]
        rule = card["extension"]["org.cpt-plugin.rule"]
        if len(summary) >= 140:
            problems.append(f"{where}: summary of {len(summary)} characters")
        for text in (summary, detail, *(s["label"] for s in card.get("suggestions", []))):
            if "undated" in text or "unknown" in text or "None" in text:
                problems.append(f"{where}: placeholder in {text[:80]!r}")
            doubled = [m.group(0) for m in DOUBLED.finditer(text)]
            if doubled:
                problems.append(f"{where}: doubled words {doubled}")
        closing = detail.rsplit("\n", 1)[-1]
        if not closing.startswith(f"Rule `{rule['id']}` v{rule['version']} · Sources: "):
            problems.append(f"{where}: closing line {closing[:60]!r}")
        if ") (" in summary or re.search(r"\([^()]*\(", summary):
            problems.append(f"{where}: nested brackets in the summary {summary!r}")
        if "), the " in detail:
            problems.append(f"{where}: orders listed with a bare comma")
    assert problems == []


def test_missing_element_list__semicolons_between_names_with_commas(scenario_cards) -> None:
    [detail] = {
        card["detail"]
        for where, card in scenario_cards
        if where == "adult-aetna order-sign" and card["source"]["topic"]["code"] == "documentation"
    }
    assert "ECMO mode (VA or VV); Cannula vessel or site, for each cannula; Imaging guidance used" in detail


def test_two_orders__card_names_them_with_and(scenario_cards) -> None:
    details = [
        card["detail"]
        for where, card in scenario_cards
        if where.startswith("fluoroscopy-76000-alongside")
        and card["source"]["topic"]["code"] == "coding-edit"
    ]
    assert details and all(re.search(r"the 33952 order \([^)]+\) and the 76000 order", d) for d in details)


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ({"label": "ATS coding newsletter, February 2015", "asOf": "2015-02"}, "(as of 2015-02)"),
        ({"label": "Maryland Code 1-303", "asOf": "undated"}, "Maryland Code 1-303 (date not given)"),
        ({"label": "Maryland Code 1-303"}, "Maryland Code 1-303 (date not given)"),
        ({"label": "CMS NCCI PTP edits (practitioner, 2024-07-01)", "asOf": "2024-07-01"}, "2024-07-01)"),
        ({"label": "CPT 2015 ECMO/ECLS code descriptors", "asOf": "2015"}, "descriptors (as of 2015)"),
    ],
)
def test_sources_line__each_source_dated_once_or_says_date_not_given(source, text) -> None:
    rendered = dated_label(source)
    assert rendered.endswith(text)
    assert rendered.count(str(source.get("asOf", "-"))) <= 1 or source.get("asOf") == "2015"


def test_long_summary__cut_between_words_under_140() -> None:
    text = "Confirm the setting: " + " ".join(["cannulation"] * 20)
    cut = _summary(text)
    assert len(cut) < 140 and cut.endswith("cannulation…")


def test_units_over_two_orders__mue_card_concerns_both(call) -> None:
    from tests.cds_hooks.stubs import ORDER_SIGN, cards_of, order_sign, service_request

    orders = [service_request("sr-1", "33952"), service_request("sr-2", "33952")]
    [card] = cards_of(call(ORDER_SIGN, order_sign(orders)), rule="ncci-mue-exceeded")
    assert "units of **33952** (ServiceRequest/sr-1, ServiceRequest/sr-2)." in card["detail"]
    assert "the 33952 order (ServiceRequest/sr-1) and the 33952 order (ServiceRequest/sr-2)" in card["detail"]
    refs = [r["reference"] for r in card["extension"]["davinci-crd.associated-resource"]]
    assert refs == ["ServiceRequest/sr-1", "ServiceRequest/sr-2"]
    assert "suggestions" not in card  # which order to change is the clinician's call
