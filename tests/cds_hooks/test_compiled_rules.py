"""What the rules compile to at load (conditions and templates as functions, card skeletons, binder
tables, rule groups that bind once) answers exactly as the rule data says, request after request."""

from __future__ import annotations

import copy
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from plugin.app import create_app
from plugin.cds_hooks import cards
from plugin.cds_hooks.binders.payer import INDICATOR_HEADER, _indicator_table
from plugin.cds_hooks.engine.conditions import RuleError, compile_condition
from plugin.cds_hooks.engine.templates import compile_template, format_value, render
from plugin.dates import parse_fhir_date
from tests.cds_hooks.conftest import cds_settings
from tests.cds_hooks.stubs import ORDER_SIGN, cards_of, order_sign, service_request
from tests.cds_hooks.test_rules_engine import copy_content, edit_rule

NOTE_RULE = "cannulation-note-elements"


def post(app: Flask, body: dict[str, Any]) -> dict[str, Any]:
    reply = app.test_client().post(f"/cds-services/{ORDER_SIGN}", json=body)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()


def note_card(app: Flask, code: str, **kwargs: Any) -> dict[str, Any]:
    [card] = cards_of(post(app, order_sign([service_request("sr-1", code)], **kwargs)), rule=NOTE_RULE)
    return card


def app_with(tmp_path: Path, file: str, rule_id: str, change) -> Flask:
    folder = copy_content(tmp_path)
    edit_rule(folder, file, rule_id, change)
    return create_app(cds_settings(tmp_path, content={"cds_hooks": str(folder)}))


def test_card_parts_with_placeholders__render_for_each_request(tmp_path) -> None:
    def templated(rule: dict[str, Any]) -> None:
        rule["card"]["source"]["label"] = "Note elements for {order.code}"
        rule["card"]["links"][0]["url"] = "/fhir/Questionnaire/ecmo-cannulation-note?code={order.code}"
        rule["card"]["sections"].append({"text": "Ordered as {order.code} ({order.date})."})

    app = app_with(tmp_path, "documentation.json", NOTE_RULE, templated)
    for code in ("33952", "33951", "33952"):
        card = note_card(app, code)
        assert card["source"]["label"] == f"Note elements for {code}"
        assert card["links"][0]["url"].endswith(f"/fhir/Questionnaire/ecmo-cannulation-note?code={code}")
        assert card["links"][0]["url"].startswith("http://localhost/")
        assert f"Ordered as {code} (2026-11-20)." in card["detail"]
        # The section that names {order.code} is filled per order.
        assert f"fluoroscopic guidance is included in {code} when performed" in card["detail"]


def test_constant_card_parts__the_same_in_every_response(cds_app) -> None:
    first, second = note_card(cds_app, "33952"), note_card(cds_app, "33951")
    for key in ("source", "overrideReasons", "indicator"):
        assert first[key] == second[key]
    assert first["source"]["label"].startswith("ECMO/ECLS cannulation note elements")
    assert first["source"]["url"] == "https://www.ama-assn.org/practice-management/cpt"
    assert (
        first["detail"].endswith(second["detail"].rsplit("\n", 1)[-1])
        and "Rule `cannulation-note-elements` v1.1.0" in first["detail"].rsplit("\n", 1)[-1]
    )


def test_rendering__leaves_what_was_compiled_at_load_unchanged(cds_app) -> None:
    rules = cds_app.extensions["cds_hooks"].rules.rules
    before = copy.deepcopy([(r.card_plan, r.action_plan, r.prepared) for r in rules])
    body = order_sign(
        [service_request("sr-1", "33952"), service_request("sr-2", "33952", quantity=2)],
        birth_date="2020-11-21",
        payer="Medicare Part A",
    )
    one, two = post(cds_app, copy.deepcopy(body)), post(cds_app, copy.deepcopy(body))
    assert len(one["cards"]) >= 4 and one.get("systemActions")

    def without_ids(response: dict[str, Any]) -> str:
        text = json.dumps(response, sort_keys=True)
        return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", "ID", text)

    assert without_ids(one) == without_ids(two)
    after = [(r.card_plan, r.action_plan, r.prepared) for r in rules]
    assert after == before


def test_rules_that_bind_alike__each_reads_its_own_parameters(tmp_path) -> None:
    folder = copy_content(tmp_path)
    path = folder / "rules" / "documentation.json"
    data = json.loads(path.read_text())
    short = copy.deepcopy(data["rules"][0])
    short["id"] = "cannulation-note-short"
    short["match"]["elements"] = [e for e in short["match"]["elements"] if e["code"] == "ecmo-mode"]
    short["card"]["summary"] = "Short list: {documentation.count_shown} of {documentation.count_total}"
    data["rules"].append(short)
    path.write_text(json.dumps(data))
    app = create_app(cds_settings(tmp_path, content={"cds_hooks": str(folder)}))
    response = post(app, order_sign([service_request("sr-1", "33952", text="ECMO, 21 Fr cannulae")]))
    # One card per topic for the same order: the second rule's card is a paragraph of the first.
    [full] = cards_of(response, topic="documentation")
    assert full["extension"]["org.cpt-plugin.rule"]["id"] == NOTE_RULE
    assert full["summary"].startswith("Cannulation note for 33952: still to show Indication; ECMO mode")
    assert (
        "**Short list: 0 of 1.** Not yet shown by the order for **33952**: **ECMO mode (VA or VV)**."
        in (full["detail"])
    )
    assert "Rule `cannulation-note-short`" in full["detail"]


def test_bad_order_text_pattern__app_refuses_to_start(tmp_path) -> None:
    def broken(rule: dict[str, Any]) -> None:
        rule["match"]["elements"][3]["shownBy"] = [{"orderText": "(unclosed"}]

    with pytest.raises(RuleError, match="bad orderText pattern") as caught:
        app_with(tmp_path, "documentation.json", NOTE_RULE, broken)
    assert "documentation.json" in str(caught.value) and NOTE_RULE in str(caught.value)


VALUES = [None, True, False, 0, 1, 6, -1, 2.5, 6.0, float("nan"), "6", "a", "", [], [6], {}, {"k": 1}]


def _reference_order(op: str, a: Any, b: Any) -> bool:
    """The documented semantics: false with a null or boolean operand or values that do not order."""
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return False
    try:
        return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]
    except TypeError:
        return False


@pytest.mark.parametrize("op", ["lt", "le", "gt", "ge"])
def test_ordered_comparisons__agree_with_the_documented_semantics_for_every_pair(op) -> None:
    facts = compile_condition({op: [{"fact": "a.x"}, {"fact": "a.y"}]}, {"a", "a.x", "a.y"}, "test")
    literal = compile_condition({op: [{"fact": "a.x"}, 6]}, {"a", "a.x"}, "test")
    for left in VALUES:
        assert literal({"a": {"x": left}}) is _reference_order(op, left, 6), (op, left)
        for right in VALUES:
            assert facts({"a": {"x": left, "y": right}}) is _reference_order(op, left, right), (
                op,
                left,
                right,
            )
    assert facts({"a": "not an object"}) is False and facts({}) is False


def test_card_ids__version_7_in_time_order() -> None:
    # The autouse fixture makes ids sequential; this test needs the real ones.
    ids = [cards.time_ordered(cards._POOL.take()) for _ in range(3 * cards._IdPool.BATCH)]
    assert len(set(ids)) == len(ids)
    parsed = [uuid.UUID(text) for text in ids]
    assert all(p.version == 7 and p.variant == uuid.RFC_4122 for p in parsed)
    # The first 48 bits are the millisecond: never decreasing within one process.
    millis = [p.int >> 80 for p in parsed]
    assert millis == sorted(millis)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("x", "x"),
        (7, "7"),
        (2.0, "2"),
        (2.5, "2.5"),
        (True, "yes"),
        (False, "no"),
        (None, "unknown"),
        (["a", 3], "a, 3"),
        ([], "none"),
    ],
)
def test_templates__format_every_kind_of_value(value, text) -> None:
    assert render("[{a.x}]", {"a": {"x": value}}) == f"[{text}]" == f"[{format_value(value)}]"


@pytest.mark.parametrize(
    "text",
    [
        "no placeholder, {Not one} and {} stay as they are",
        "{a.x}",
        "{a.x}{a.y}",
        "{{a.x}} keeps its outer braces",
        "[{a.x}] [{a.y}] [{c}]",
        "{a.x} {a.y} {b.deep.z} {c} {a.missing}",
        "one {a.x} two {a.y} three {b.deep.z} four {c} five {a.x} six {missing.x}!",
    ],
)
def test_templates__same_text_as_a_plain_substitution(text) -> None:
    """Whatever the number of placeholders, a compiled text is the plain substitution of each
    placeholder by its formatted fact (literal braces and text that is not a placeholder kept)."""
    binding = {"a": {"x": "33952", "y": 2.0}, "b": {"deep": {"z": [1, "b"]}}, "c": None}

    def fact(match: re.Match[str]) -> str:
        value: object = binding
        for step in match.group(1).split("."):
            value = value.get(step) if isinstance(value, dict) else None
        return format_value(value)

    expected = re.sub(r"\{([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*)\}", fact, text)
    assert compile_template(text)(binding) == expected
    assert render(text, binding) == expected


def test_indicator_table__a_code_outside_the_snapshot_says_so(cds_app) -> None:
    rules = cds_app.extensions["cds_hooks"].rules
    table = _indicator_table(["33952", "99999"], rules.by_id("payer-medicare").prepared, rules.context)
    lines = table.split("\n")
    assert "\n".join(lines[:2]) == INDICATOR_HEADER
    assert lines[2].startswith("| 33952 | 000")
    assert lines[3] == "| 99999 | " + " | ".join(["not in snapshot"] * 4) + " |"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Medicare Part A", "medicare"),
        ("mEdIcArE", "medicare"),
        ("MEDİCARE Part B", "medicare"),  # non-ASCII: read by the patterns themselves
        ("Aetna Medicare Advantage", "aetna"),  # the first payer listed wins
        ("Medicares", None),
        ("Acme Health", None),
    ],
)
def test_payer_classification__same_as_the_patterns_in_order(cds_app, text, kind) -> None:
    tables = cds_app.extensions["cds_hooks"].tables
    expected = next((p for p, pattern in tables.payer_patterns if pattern.search(text)), None)
    found = tables.classify_payer(text)
    assert found is expected
    assert (found or {}).get("kind") == kind


def test_suggestion_ids__version_4_and_never_repeated_across_batches() -> None:
    pool = cards._IdPool()
    ids = [pool.take() for _ in range(3 * pool.BATCH + 5)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    pool.reset()
    assert pool.take() not in ids


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("2024-02-29", "2024-02-29"),
        (" 2024-02-28 ", "2024-02-28"),
        ("0001-01-01", "0001-01-01"),
        ("2023-02-29", None),
        ("0000-01-01", None),
        ("2020-13-01", None),
        ("2020-00-10", None),
        ("2020-01-00", None),
        ("２０２０-01-01", None),
        ("2020-1-011", None),
    ],
)
def test_full_dates__read_like_the_fhir_pattern(value, text) -> None:
    parsed = parse_fhir_date(value)
    assert (parsed.text if parsed else None) == text
    if parsed:
        assert parsed.precise and parsed.low.isoformat() == text
