"""The rule engine's own contract: the condition language, rule-file checks at load, response invariants."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from plugin.app import create_app
from plugin.cds_hooks.engine.conditions import RuleError, compile_condition
from plugin.cds_hooks.engine.templates import render
from plugin.cds_hooks.schemas import response_problems
from plugin.config import PROJECT_ROOT
from plugin.dates import DateRange, age_on, age_range, parse_fhir_date
from tests.cds_hooks.conftest import cds_settings
from tests.cds_hooks.stubs import ORDER_SIGN, order_sign, service_request

FIELDS = {"age", "age.low", "age.high", "code", "code.age_min", "code.age_max", "payer", "payer.kind"}


@pytest.mark.parametrize(
    ("condition", "binding", "expected"),
    [
        (
            {"lt": [{"fact": "age.high"}, {"fact": "code.age_min"}]},
            {"age": {"high": 5}, "code": {"age_min": 6}},
            True,
        ),
        (
            {"lt": [{"fact": "age.high"}, {"fact": "code.age_min"}]},
            {"age": {"high": 5}, "code": {"age_min": None}},
            False,
        ),
        (
            {"gt": [{"fact": "age.low"}, {"fact": "code.age_max"}]},
            {"age": {"low": 6}, "code": {"age_max": 5}},
            True,
        ),
        ({"in": [{"fact": "payer.kind"}, ["aetna", "cigna"]]}, {"payer": {"kind": "cigna"}}, True),
        ({"not": {"fact": "payer.kind"}}, {"payer": {"kind": None}}, True),
        (
            {"all": [{"exists": {"fact": "payer.kind"}}, {"ne": [{"fact": "payer.kind"}, "blue"]}]},
            {"payer": {"kind": "uhc"}},
            True,
        ),
        (
            {"any": [{"eq": [{"fact": "age.low"}, 1]}, {"ge": [{"fact": "age.low"}, "x"]}]},
            {"age": {"low": 2}},
            False,
        ),
    ],
)
def test_condition_language__evaluates(condition, binding, expected) -> None:
    assert compile_condition(condition, FIELDS, "test")(binding) is expected


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"lt": [{"fact": "age.hihg"}, 6]}, "unknown fact 'age.hihg'"),
        ({"between": [1, 2]}, "unknown operator 'between'"),
        ({"lt": [1]}, "exactly two operands"),
        ({"all": []}, "non-empty list"),
        ({"eq": [{"fact": "age.low", "x": 1}, 1]}, "an operand is a literal"),
        ({"eq": [1, 1], "ne": [1, 2]}, "exactly one operator"),
    ],
)
def test_condition_language__rejects_bad_rules_at_load(condition, message) -> None:
    with pytest.raises(RuleError, match=message):
        compile_condition(condition, FIELDS, "test")


def test_templates__render_facts_lists_and_unknowns() -> None:
    text = render("{a.b} / {a.c} / {a.d} / {a.e}", {"a": {"b": ["x", "y"], "c": None, "d": 2.0, "e": True}})
    assert text == "x, y / unknown / 2 / yes"


def copy_content(tmp_path: Path) -> Path:
    target = tmp_path / "cds_hooks"
    shutil.copytree(PROJECT_ROOT / "cds_hooks", target)
    return target


def edit_rule(folder: Path, file: str, rule_id: str, change) -> None:
    path = folder / "rules" / file
    data = json.loads(path.read_text())
    for rule in data["rules"]:
        if rule["id"] == rule_id:
            change(rule)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("file", "rule_id", "change", "message"),
    [
        (
            "age-criteria.json",
            "age-band-mismatch",
            lambda r: r["card"].update(summary="Age {age.years}"),
            "unknown fact 'age.years'",
        ),
        (
            "coding-edits.json",
            "ncci-mue-exceeded",
            lambda r: r["match"].update(kind="mue-2"),
            "unknown match.kind 'mue-2'",
        ),
        (
            "coding-edits.json",
            "ncci-mue-exceeded",
            lambda r: r.update(uses=["no-such-table"]),
            "unknown facts table 'no-such-table'",
        ),
        (
            "payer-policy.json",
            "payer-medicare",
            lambda r: r["card"].update(indicator="critical"),
            "is not one of",
        ),
        (
            "payer-policy.json",
            "payer-medicare",
            lambda r: r.pop("sources"),
            "'sources' is a required property",
        ),
        (
            "payer-policy.json",
            "payer-medicare",
            lambda r: r["card"]["cites"]["summary"].update(source="no-such-source"),
            "card.cites.summary.source: source 'no-such-source' is not one of the rule's sources",
        ),
        (
            "payer-policy.json",
            "payer-medicare",
            lambda r: r["card"].pop("cites"),
            "'cites' is a required property",
        ),
        (
            "coding-edits.json",
            "ncci-mue-exceeded",
            lambda r: r["card"]["suggestions"][0].update(source="noridian"),
            "suggestions\\[0\\].source: source 'noridian' is not one of",
        ),
        (
            "age-criteria.json",
            "age-band-mismatch",
            lambda r: r.update(trigger={"valueSet": "https://fhir.cpt-plugin.org/ValueSet/missing"}),
            "is not loaded",
        ),
    ],
)
def test_broken_rule_file__app_refuses_to_start_naming_file_and_rule(
    tmp_path, file, rule_id, change, message
) -> None:
    folder = copy_content(tmp_path)
    edit_rule(folder, file, rule_id, change)
    with pytest.raises(RuleError, match=message) as caught:
        create_app(cds_settings(tmp_path, content={"cds_hooks": str(folder)}))
    assert file in str(caught.value)


def test_trigger_from_a_valueset_canonical(tmp_path, cds_app) -> None:
    folder = copy_content(tmp_path)
    terminology = tmp_path / "terminology"
    terminology.mkdir()
    (terminology / "ValueSet-site.json").write_text(
        json.dumps(
            {
                "resourceType": "ValueSet",
                "id": "site",
                "url": "https://example.org/ValueSet/site",
                "status": "active",
                "compose": {
                    "include": [{"system": "http://www.ama-assn.org/go/cpt", "concept": [{"code": "33952"}]}]
                },
            }
        )
    )
    edit_rule(
        folder,
        "site-of-service.json",
        "non-facility-setting",
        lambda r: r.update(trigger={"valueSet": "https://example.org/ValueSet/site"}),
    )
    app = create_app(cds_settings(tmp_path, content={"cds_hooks": str(folder), "paths": [str(terminology)]}))
    rule = app.extensions["cds_hooks"].rules.by_id("non-facility-setting")
    assert rule.codes == frozenset({"33952"})


def test_response_invariants__catch_what_the_schema_cannot(call, cds_app) -> None:
    schemas = cds_app.extensions["cds_hooks"].schemas
    response = call(
        ORDER_SIGN,
        order_sign(
            [service_request("sr-1", "33952"), service_request("sr-2", "77001")], birth_date="2020-11-21"
        ),
    )
    assert response_problems(schemas, response) == []
    broken = copy.deepcopy(response)
    broken["cards"][1]["uuid"] = broken["cards"][0]["uuid"]
    broken["cards"][0]["overrideReasons"][0].pop("display")
    broken["cards"][0]["summary"] = "x" * 140
    broken["cards"][0]["suggestions"][0]["isRecommended"] = True
    broken["cards"][0]["suggestions"].append(copy.deepcopy(broken["cards"][0]["suggestions"][0]))
    broken["cards"][0]["suggestions"][1]["uuid"] = "another"
    broken["cards"][1]["suggestions"][0]["actions"][0]["resource"] = {"resourceType": "ServiceRequest"}
    broken["cards"][1]["detail"] = "no rule line"
    broken["cards"][1]["links"] = [
        {"label": "x", "url": "https://x.org", "type": "absolute", "appContext": "y"}
    ]
    broken["cards"][1].pop("selectionBehavior")
    broken["cards"][1]["indicator"] = "critical"
    broken["cards"][1]["source"]["icon"] = None
    problems = "\n".join(response_problems(schemas, broken))
    for expected in (
        "uuids used more than once",
        "display",
        "is too long",
        "critical is reserved",
        "does not name its rule",
        "selectionBehavior",
        "null or empty",
        "smart",
        "should not be valid",
    ):
        assert expected in problems, expected


def test_dates__parse_partial_and_offsets() -> None:
    assert parse_fhir_date("2020") == DateRange(dt.date(2020, 1, 1), dt.date(2020, 12, 31), "2020")
    assert parse_fhir_date("2024-02") == DateRange(dt.date(2024, 2, 1), dt.date(2024, 2, 29), "2024-02")
    assert parse_fhir_date("2026-11-20T23:30:00-05:00") == DateRange.of(dt.date(2026, 11, 20))
    for bad in (
        "2020-02-30",
        "2020-13",
        "20201120",
        "2026-11-20T23:30:00",
        "",
        None,
        2020,
        "2026-11-20T25:00:00Z",
    ):
        assert parse_fhir_date(bad) is None, bad
    assert parse_fhir_date("2026-11-20T10:00:00Z", allow_time=False) is None


def test_dates__age_and_ranges() -> None:
    assert age_on(dt.date(2020, 11, 21), dt.date(2026, 11, 20)) == 5
    assert age_on(dt.date(2020, 11, 21), dt.date(2026, 11, 21)) == 6
    assert age_on(dt.date(2020, 2, 29), dt.date(2026, 2, 28)) == 5
    assert age_on(dt.date(2020, 2, 29), dt.date(2026, 3, 1)) == 6
    birth = parse_fhir_date("2020-11")
    assert age_range(birth, DateRange.of(dt.date(2026, 11, 15))).text == "5 to 6"
    assert age_range(DateRange.of(dt.date(2027, 1, 1)), DateRange.of(dt.date(2026, 1, 1))) is None
