"""Meta-checks over everything the cards can say: every synthetic scenario and every pair of ECMO family
codes (plus common companions) for a child and an adult, under Medicare and a Blue plan. Suggestions on
one response never contradict each other, no text addressed to the team reaches a card, every rule fires
in some scenario, and the rule and fact files hold no such text either."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from plugin.sandbox.hookrequest import CONTRACT_PREFETCH, CONTRACT_SERVICES, build_request
from plugin.sandbox.store import SandboxStore, folders_from_settings
from tests.cds_hooks.card_checks import contradictions, internal_phrases
from tests.cds_hooks.stubs import ORDER_SIGN, encounter, order_sign, service_request

ROOT = Path(__file__).resolve().parents[2]
COMPANIONS = ["76000", "77001", "36410", "01924", "99156", "99291", "36556", "76937"]


@pytest.fixture
def responses(cds_app, cds_client) -> list[tuple[str, dict[str, Any]]]:
    found = []
    store = SandboxStore(folders_from_settings(cds_app.config["PLUGIN"])).load()
    for name, record in store.records.items():
        for hook, service in CONTRACT_SERVICES.items():
            body = build_request(record, hook, "http://127.0.0.1:9/sandbox/fhir", CONTRACT_PREFETCH)
            reply = cds_client.post(f"/cds-services/{service}", json=body)
            assert reply.status_code == 200, (name, hook)
            found.append((f"{name} {hook}", reply.get_json()))
    family = sorted(cds_app.extensions["cds_hooks"].tables.family)
    for (first, second), birth, payer in itertools.product(
        itertools.combinations(family + COMPANIONS, 2), ("2021-06-01", "1986-03-14"), ("Medicare", "BCBS")
    ):
        if first not in family and second not in family:
            continue
        orders = [service_request("sr-1", first, quantity=2), service_request("sr-2", second)]
        body = order_sign(orders, birth_date=birth, payer=payer)
        reply = cds_client.post(f"/cds-services/{ORDER_SIGN}", json=body)
        assert reply.status_code == 200
        found.append((f"{first}+{second} born {birth} {payer}", reply.get_json()))
    for class_code, pos in (("AMB", None), ("IMP", "11"), ("IMP", "31")):
        body = order_sign([service_request("sr-1", "33952")], encounter_resource=encounter(class_code, pos))
        reply = cds_client.post(f"/cds-services/{ORDER_SIGN}", json=body)
        found.append((f"33952 in encounter {class_code} POS {pos}", reply.get_json()))
    # ICD-10-CM reasons on the order: a header (J96.0) and a code not in ICD-10-CM (J96.7).
    for reason in ("J96.0", "J96.7"):
        order = service_request("sr-1", "33952")
        order["reasonCode"] = [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": reason}]}]
        reply = cds_client.post(f"/cds-services/{ORDER_SIGN}", json=order_sign([order]))
        found.append((f"33952 for reason {reason}", reply.get_json()))
    return found


def test_every_response__suggestions_never_contradict(responses) -> None:
    problems = [f"{where}: {p}" for where, response in responses for p in contradictions(response)]
    assert problems == []


def test_every_card__no_text_addressed_to_the_team(responses) -> None:
    problems = []
    for where, response in responses:
        for card in response["cards"]:
            texts = [card["summary"], card["detail"], card["source"]["label"]]
            texts += [s["label"] for s in card.get("suggestions", [])]
            texts += [link["label"] for link in card.get("links", [])]
            for text in texts:
                problems += [f"{where}: {hit!r}" for hit in internal_phrases(text)]
    assert problems == []


def test_every_card_rule__fires_in_some_scenario(cds_app, responses) -> None:
    fired = {card["extension"]["org.cpt-plugin.rule"]["id"] for _, r in responses for card in r["cards"]}
    rules = {r.id for r in cds_app.extensions["cds_hooks"].rules.rules if r.card_plan is not None}
    # A prefetch key that cannot be read is a card no complete scenario shows (test_prefetch covers it);
    # every age-split code has a counterpart in the published age-band map, so the no-counterpart rule is
    # for content a site adds.
    assert rules - fired == {"prefetch-unavailable", "age-band-mismatch-no-counterpart"}


def strings(value: Any, key: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [s for k, v in value.items() if k != "$comment" for s in strings(v, k)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v, key)]
    return [(key, value)] if isinstance(value, str) else []


@pytest.mark.parametrize("folder", ["cds_hooks/rules", "cds_hooks/facts"])
def test_rule_and_fact_files__no_text_addressed_to_the_team(folder) -> None:
    problems = []
    for path in sorted((ROOT / folder).glob("*.json")):
        for key, text in strings(json.loads(path.read_text(encoding="utf-8"))):
            problems += [f"{path.name} {key}: {hit!r}" for hit in internal_phrases(text)]
    assert problems == []


def test_every_response__at_most_one_card_per_topic_for_the_same_orders(responses) -> None:
    problems = []
    for where, response in responses:
        seen: dict[tuple[str, tuple[str, ...]], str] = {}
        for card in response["cards"]:
            orders = tuple(
                sorted(r["reference"] for r in card["extension"].get("davinci-crd.associated-resource", []))
            )
            key = (card["source"]["topic"]["code"], orders)
            if key in seen:
                problems.append(f"{where}: {seen[key]!r} and {card['summary']!r}")
            seen[key] = card["summary"]
    assert problems == []
