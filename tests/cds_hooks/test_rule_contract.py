"""The engine's contract (plugin/cds_hooks/contract.py): card sentences with their own sources and
applicability, the explicit binder registry, rule JSON only read, and the rules no other test drives."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from plugin.app import create_app
from plugin.cds_hooks import binders
from plugin.cds_hooks.binders.common import REQUEST_FIELDS, base_binding, fields_of
from plugin.cds_hooks.contract import Binder, Binding, Context, Rule
from plugin.cds_hooks.engine import load_rules
from plugin.cds_hooks.engine.compile import compile_rule
from plugin.cds_hooks.engine.load import read_rule_files
from plugin.cds_hooks.engine.sentences import compile_sentence
from plugin.cds_hooks.errors import RuleError
from plugin.cds_hooks.facts import Facts
from plugin.terminology import get_registry
from tests.cds_hooks.conftest import cds_settings
from tests.cds_hooks.stubs import ORDER_SIGN, cards_of, order_sign, service_request
from tests.cds_hooks.test_rules_engine import copy_content, edit_rule

PAIR_FIELDS = fields_of(
    [("column1", ["code", "date", "performer"]), ("column2", ["code", "date", "performer"])]
)
AGE_FIELDS = fields_of([("order", ["code"]), ("age", ["low", "high"]), ("payer", ["kind"])])


def holds(section: dict[str, Any], fields: frozenset[str], binding: Binding) -> bool:
    return compile_sentence(section, fields, {"cms"}, "test").holds(binding)


def pair(date1: str, date2: str, performer1: str | None, performer2: str | None) -> Binding:
    return {
        "column1": {"code": "33952", "date": date1, "performer": performer1},
        "column2": {"code": "76000", "date": date2, "performer": performer2},
    }


@pytest.mark.parametrize(
    ("applies", "binding", "expected"),
    [
        ({"codes": ["33952"]}, {"order": {"code": "33952"}}, True),
        ({"codes": ["33951", "33953"]}, {"order": {"code": "33952"}}, False),
        ({"ageBand": {"min": 6}}, {"age": {"low": 6, "high": 6}}, True),
        ({"ageBand": {"min": 6}}, {"age": {"low": 5, "high": 6}}, False),  # a partial date: maybe 5
        ({"ageBand": {"max": 5}}, {"age": {"low": None, "high": None}}, False),  # age unknown
        ({"ageBand": {"min": 0, "max": 5}}, {"age": {"low": 0, "high": 5}}, True),
        ({"payer": ["medicare"]}, {"payer": {"kind": "medicare"}}, True),
        ({"payer": ["medicare"]}, {"payer": {"kind": None}}, False),
        (
            {"codes": ["33952"], "payer": ["aetna"]},
            {"order": {"code": "33952"}, "payer": {"kind": "cigna"}},
            False,
        ),
    ],
)
def test_sentence_applies__order_age_and_payer(applies, binding, expected) -> None:
    assert holds({"text": "x", "applies": applies}, AGE_FIELDS, binding) is expected


@pytest.mark.parametrize(
    ("applies", "binding", "expected"),
    [
        ({"sameDate": True}, pair("2026-11-20", "2026-11-20", None, None), True),
        ({"sameDate": True}, pair("2026-11-20", "2026-11-21", None, None), False),
        ({"sameDate": False}, pair("2026-11-20", "2026-11-21", None, None), True),
        ({"sameProvider": True}, pair("d", "d", "Practitioner/a", "Practitioner/a"), True),
        ({"sameProvider": True}, pair("d", "d", "Practitioner/a", "Practitioner/b"), False),
        ({"sameProvider": True}, pair("d", "d", "Practitioner/a", None), True),  # not known to differ
        ({"sameProvider": False}, pair("d", "d", "Practitioner/a", "Practitioner/b"), True),
        ({"codes": ["76000"]}, pair("d", "d", None, None), True),  # either order of the pair
    ],
)
def test_sentence_applies__pairs_of_orders(applies, binding, expected) -> None:
    assert holds({"text": "x", "applies": applies}, PAIR_FIELDS, binding) is expected


def test_sentence__when_and_applies_both_hold() -> None:
    section = {"text": "x", "when": {"eq": [{"fact": "age.low"}, 7]}, "applies": {"ageBand": {"min": 6}}}
    assert holds(section, AGE_FIELDS, {"age": {"low": 7, "high": 7}}) is True
    assert holds(section, AGE_FIELDS, {"age": {"low": 8, "high": 8}}) is False


def test_sentence__keeps_its_metadata_and_renders_facts() -> None:
    section = {
        "id": "medicare-only",
        "text": "For {order.code} under Medicare.",
        "source": ["cms"],
        "confidence": "High",
        "asOf": "2024-07",
    }
    sentence = compile_sentence(section, AGE_FIELDS, {"cms"}, "test")
    assert (sentence.id, sentence.sources, sentence.confidence, sentence.as_of) == (
        "medicare-only",
        ("cms",),
        "High",
        "2024-07",
    )
    assert sentence.render({"order": {"code": "33952"}}) == "For 33952 under Medicare."


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"text": "x", "applies": {"sameDate": True}}, "needs the facts column1.date, column2.date"),
        ({"text": "x", "applies": {"ageBand": {"min": 7, "max": 6}}}, "min 7 is above max 6"),
        ({"text": "x", "applies": {"weight": 3}}, "unknown keys"),
        ({"text": "x", "source": "nci"}, "source 'nci' is not one of the rule's sources"),
        ({"text": "{age.years}"}, "unknown fact 'age.years'"),
    ],
)
def test_sentence__bad_metadata_fails_at_load(section, message) -> None:
    with pytest.raises(RuleError, match=message):
        compile_sentence(section, AGE_FIELDS, {"cms"}, "test")


def test_card_sentences__dropped_where_they_do_not_apply(tmp_path) -> None:
    def sentences(rule: dict[str, Any]) -> None:
        rule["card"]["sections"] += [
            {
                "id": "adult-code",
                "text": "Said of {order.code} only.",
                "applies": {"codes": ["33952"]},
                "source": "cpt-descriptors",
                "confidence": "High",
                "asOf": "2015",
            },
            {"text": "Said under Medicare only.", "applies": {"payer": ["medicare"]}},
        ]

    folder = copy_content(tmp_path)
    edit_rule(folder, "documentation.json", "cannulation-note-elements", sentences)
    # `payer` needs payer facts, which the documentation binder does not have: refused at load.
    with pytest.raises(RuleError, match=r"documentation.json.*applies.payer needs the facts payer.kind"):
        create_app(cds_settings(tmp_path, content={"cds_hooks": str(folder)}))

    edit_rule(
        folder, "documentation.json", "cannulation-note-elements", lambda r: r["card"]["sections"].pop()
    )
    app = create_app(cds_settings(tmp_path, content={"cds_hooks": str(folder)}))
    client = app.test_client()
    for code, shown in (("33952", True), ("33951", False)):
        reply = client.post(f"/cds-services/{ORDER_SIGN}", json=order_sign([service_request("sr-1", code)]))
        [card] = cards_of(reply.get_json(), rule="cannulation-note-elements")
        assert ("Said of 33952 only." in card["detail"]) is shown, code


def _rule_data(cds_app) -> list[tuple[str, dict[str, Any]]]:
    cds = cds_app.extensions["cds_hooks"]
    schema = cds.schemas.validator("rule.schema.json").schema
    return read_rule_files(Path(cds_app.config["PLUGIN"]["content"]["cds_hooks"]) / "rules", schema)


def test_compiling_and_evaluating__leave_the_rule_json_as_written(cds_app, call) -> None:
    raw = _rule_data(cds_app)
    before = copy.deepcopy(raw)
    cds = cds_app.extensions["cds_hooks"]
    rules = [
        compile_rule(data, file, cds.rules.context, get_registry(cds_app), binders.registry())
        for file, data in raw
    ]
    assert raw == before
    assert [r.id for r in rules] == [r.id for r in cds.rules.rules]
    call(
        ORDER_SIGN, order_sign([service_request("sr-1", "33952")], birth_date="2020-11-21", payer="Medicare")
    )
    assert raw == before and all(isinstance(r, Rule) for r in cds.rules.rules)


def bind_every_request(facts: Facts, ctx: Context, rule: Rule) -> list[Binding]:
    binding = base_binding(facts)
    binding["orders"] = {"count": len(facts.orders)}
    return [binding]


REQUEST_BINDER = Binder(
    "every-request", fields_of([("request", REQUEST_FIELDS), ("orders", ["count"])]), bind_every_request
)


def test_binder_registry__explicit_and_extensible(cds_app, tmp_path) -> None:
    registry = binders.registry()
    assert set(registry) == {b.kind for b in binders.DEFAULT_BINDERS}
    with pytest.raises(ValueError, match="two binders of kind 'ptp'"):
        binders.registry([*binders.DEFAULT_BINDERS, binders.coding_edits.PTP])

    folder = tmp_path / "rules"
    folder.mkdir()
    rule = {
        "id": "order-count",
        "version": "1.0.0",
        "topic": "data-quality",
        "title": "How many orders",
        "sources": [
            {
                "id": "cds-hooks",
                "label": "CDS Hooks 2.0",
                "url": "https://cds-hooks.hl7.org/2.0/",
                "asOf": "2022",
            },
        ],
        "match": {"kind": "every-request"},
        "card": {
            "indicator": "info",
            "summary": "{orders.count} orders",
            "detail": "{orders.count} orders.",
            "cites": {"summary": {"source": "cds-hooks"}, "detail": {"source": "cds-hooks"}},
        },
    }
    (folder / "count.json").write_text(json.dumps({"rules": [rule]}))
    cds = cds_app.extensions["cds_hooks"]
    schema = cds.schemas.validator("rule.schema.json").schema
    with pytest.raises(RuleError, match="unknown match.kind 'every-request'"):
        load_rules(folder, schema, cds.tables, get_registry(cds_app), registry)
    rules = load_rules(
        folder,
        schema,
        cds.tables,
        get_registry(cds_app),
        binders.registry([*binders.DEFAULT_BINDERS, REQUEST_BINDER]),
    )
    assert rules.by_id("order-count").binder is REQUEST_BINDER


def test_age_band_mismatch_no_counterpart__scenario_without_a_counterpart_in_the_map(tmp_path) -> None:
    """33952 for a 5-year-old, with an age-band ConceptMap that maps nothing: no code is suggested."""
    terminology = tmp_path / "terminology"
    terminology.mkdir()
    empty_map = "https://example.org/ConceptMap/no-age-counterparts"
    (terminology / "ConceptMap-empty.json").write_text(
        json.dumps(
            {"resourceType": "ConceptMap", "id": "no-age-counterparts", "url": empty_map, "status": "draft"}
        )
    )
    folder = copy_content(tmp_path)
    edit_rule(
        folder, "age-criteria.json", "age-band-mismatch", lambda r: r["match"].update(conceptMap=empty_map)
    )
    app = create_app(cds_settings(tmp_path, content={"cds_hooks": str(folder), "paths": [str(terminology)]}))
    body = order_sign([service_request("sr-1", "33952", occurrence="2026-11-20")], birth_date="2020-11-21")
    reply = app.test_client().post(f"/cds-services/{ORDER_SIGN}", json=body)
    assert reply.status_code == 200
    assert cards_of(reply.get_json(), rule="age-band-mismatch") == []
    [card] = cards_of(reply.get_json(), rule="age-band-mismatch-no-counterpart")
    assert card["summary"].startswith("Age 5 on 2026-11-20: 33952 is for ")
    assert "no counterpart for this code and age" in card["detail"] and "suggestions" not in card


def test_coverage_information__scenario_names_its_rule_in_the_reason(call) -> None:
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952")], payer="Medicare Part B"))
    [action] = response["systemActions"]
    [info] = action["resource"]["extension"][-1:]
    [reason] = [p for p in info["extension"] if p["url"] == "reason"]
    assert "Rule `coverage-information` v" in reason["valueCodeableConcept"]["text"]
