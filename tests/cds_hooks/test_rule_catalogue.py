"""The rule catalogue is covered: every rule has a scenario test, every binder serves a rule and is tested,
and the examples of docs/recipes.md (a rule, a binder) work as written.

A scenario test is a test function of tests/cds_hooks/ that sends a hook request (it takes the `call`
fixture, or calls `post` / `.post(...)`) and names the rule id as a string (for a card, usually
`cards_of(response, rule="...")`). Read from the test source with ast, so adding a rule without a
scenario fails here, naming the rule.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from plugin.app import create_app
from plugin.cds_hooks import binders
from plugin.cds_hooks.engine import load_rules
from plugin.cds_hooks.facts import build_facts, build_orders
from plugin.config import PROJECT_ROOT
from plugin.terminology import get_registry
from tests.cds_hooks.conftest import cds_settings
from tests.cds_hooks.stubs import ORDER_SIGN, cards_of, order_sign, service_request
from tests.cds_hooks.test_rules_engine import copy_content

TESTS = Path(__file__).parent
RULES = PROJECT_ROOT / "cds_hooks" / "rules"


def rules() -> list[dict]:
    return [rule for path in sorted(RULES.glob("*.json")) for rule in json.loads(path.read_text())["rules"]]


def _sends_a_request(function: ast.FunctionDef) -> bool:
    if any(arg.arg == "call" for arg in function.args.args):
        return True
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            target = node.func
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
            if name in ("post", "call", "note_card"):
                return True
    return False


def scenario_tests() -> Iterator[tuple[str, set[str]]]:
    """(test name, the strings it names) for every scenario test of tests/cds_hooks."""
    for path in sorted(TESTS.glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _module_constants(tree)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_") and _sends_a_request(node):
                strings = {
                    n.value
                    for n in ast.walk(node)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)
                }
                # A module constant the test reads by name (NOTE_RULE = "cannulation-note-elements").
                strings |= {
                    constants[n.id] for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in constants
                }
                yield f"{path.name}::{node.name}", strings


def _module_constants(tree: ast.Module) -> dict[str, str]:
    """NAME = "text" assignments at module level."""
    found = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            found[node.targets[0].id] = node.value.value
    return found


def rules_with_scenarios() -> dict[str, list[str]]:
    ids = {rule["id"] for rule in rules()}
    found: dict[str, list[str]] = {rule_id: [] for rule_id in ids}
    for test, strings in scenario_tests():
        for rule_id in ids & strings:
            found[rule_id].append(test)
    return found


def test_every_rule__has_a_scenario_test() -> None:
    untested = sorted(rule_id for rule_id, tests in rules_with_scenarios().items() if not tests)
    assert untested == [], f"rules without a scenario test in tests/cds_hooks: {untested}"


def test_every_binder__serves_a_rule_and_a_tested_one() -> None:
    kinds = {rule["id"]: rule["match"]["kind"] for rule in rules()}
    tested = rules_with_scenarios()
    for binder in binders.DEFAULT_BINDERS:
        served = [rule_id for rule_id, kind in kinds.items() if kind == binder.kind]
        assert served, f"binder {binder.kind!r} is used by no rule in cds_hooks/rules"
        assert any(tested[rule_id] for rule_id in served), (
            f"no scenario test exercises binder {binder.kind!r}"
        )
    unknown = set(kinds.values()) - {b.kind for b in binders.DEFAULT_BINDERS}
    assert unknown == set()


def test_every_binder_module__holds_registered_binders() -> None:
    """Each module of plugin/cds_hooks/binders/ (but the shared ones) defines binders that are registered."""
    registered = {binder.bind.__module__ for binder in binders.DEFAULT_BINDERS}
    folder = Path(binders.__file__).parent
    modules = {f"plugin.cds_hooks.binders.{p.stem}" for p in folder.glob("*.py")} - {
        "plugin.cds_hooks.binders.__init__",
        "plugin.cds_hooks.binders.common",
    }
    assert modules == registered


def test_scenario_finder__sees_names_constants_and_fixtures() -> None:
    found = dict(scenario_tests())
    # A module constant read by name, and a rule id in a parametrize decorator.
    assert (
        "cannulation-note-elements"
        in found["test_compiled_rules.py::test_rules_that_bind_alike__each_reads_its_own_parameters"]
    )
    assert "ambulatory-setting-unconfirmed" in found["test_site_and_documentation.py::test_site_of_service"]
    assert not any(name.startswith("test_rules_engine.py::test_condition_language") for name in found)


def _block(heading: str, language: str) -> str:
    """The first ```language block of docs/recipes.md after the heading."""
    text = (PROJECT_ROOT / "docs" / "recipes.md").read_text(encoding="utf-8")
    after = text[text.index(heading) :]
    found = re.search(rf"```{language}\n(.*?)```", after, re.DOTALL)
    assert found, f"no {language} block after {heading!r}"
    return textwrap.dedent(found.group(1))


def test_recipe_rule__loads_and_fires_with_its_sentence(tmp_path) -> None:
    rule = json.loads(_block("## Add a CDS rule", "json"))
    folder = copy_content(tmp_path)
    path = folder / "rules" / "data-quality.json"
    data = json.loads(path.read_text())
    data["rules"].append(rule)
    path.write_text(json.dumps(data))
    app = create_app(cds_settings(tmp_path, content={"cds_hooks": str(folder)}))
    reply = app.test_client().post(
        f"/cds-services/{ORDER_SIGN}", json=order_sign([service_request("sr-1", "33952", occurrence=None)])
    )
    [card] = cards_of(reply.get_json(), rule=rule["id"])
    assert card["summary"] == "33952 has no date of service; the age was checked on 2026-11-25"
    assert rule["card"]["sections"][0]["text"] in card["detail"]


def test_recipe_binder__registers_explicitly_and_binds(cds_app, tmp_path) -> None:
    namespace: dict[str, Any] = {"__name__": "recipe_binder"}
    exec(compile(_block("## Add a binder", "python"), "recipes.md", "exec"), namespace)  # noqa: S102 - our own doc
    binder = namespace["ORDER_URGENCY"]
    rule = {
        "id": "urgency-not-stated",
        "version": "1.0.0",
        "topic": "data-quality",
        "title": "Urgency not stated",
        "sources": [
            {
                "id": "cds-hooks",
                "label": "CDS Hooks 2.0",
                "url": "https://cds-hooks.hl7.org/2.0/",
                "asOf": "2022",
            },
        ],
        "match": {"kind": "order-urgency"},
        "condition": {"not": {"fact": "urgency.stated"}},
        "card": {
            "indicator": "info",
            "summary": "{order.code}: urgency not stated",
            "detail": "Say it.",
            "cites": {"summary": {"source": "cds-hooks"}, "detail": {"source": "cds-hooks"}},
        },
    }
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "urgency.json").write_text(json.dumps({"rules": [rule]}))
    cds = cds_app.extensions["cds_hooks"]
    schema = cds.schemas.validator("rule.schema.json").schema
    registry = binders.registry([*binders.DEFAULT_BINDERS, binder])
    rules = load_rules(tmp_path / "rules", schema, cds.tables, get_registry(cds_app), registry)
    body = order_sign([service_request("sr-1", "33952")])
    context = body["context"]
    orders = build_orders("order-sign", context, cds.tables, dt.date(2026, 11, 25))
    facts = build_facts(
        hook="order-sign",
        service_id=ORDER_SIGN,
        context=context,
        prefetch=body["prefetch"],
        prefetch_issues={},
        tables=cds.tables,
        base_url="http://127.0.0.1",
        orders=orders,
    )
    [finding] = rules.evaluate(facts)
    assert finding.rule.id == "urgency-not-stated" and finding.binding["urgency"] == {
        "emergent": None,
        "stated": False,
    }
