"""Generated benchmark content is deterministic, the advertised size, and valid FHIR; payload sizes hold."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.valueset import ValueSet

from plugin import clock
from tools.bench import content, payloads
from tools.bench.floor import create_floor_app


def _depth(concepts: list[dict], level: int = 1) -> int:
    return max((_depth(c.get("concept", []), level + 1) for c in concepts), default=level - 1)


def test_codesystem__exact_size_deterministic_hierarchical_and_valid() -> None:
    first = content.generate_codesystem(1000)
    assert first == content.generate_codesystem(1000)
    assert content.count_concepts(first["concept"]) == 1000 == first["count"]
    assert _depth(first["concept"]) == 3
    codes = [c for c in content.leaf_codes(first)]
    assert len(set(codes)) == len(codes)
    assert content.probe_code(1000) in codes
    CodeSystem.model_validate(first)
    ValueSet.model_validate(content.generate_valueset(1000))


def test_codesystem__filter_word_matches_a_realistic_share() -> None:
    system = content.generate_codesystem(10_000)
    displays: list[str] = []

    def walk(concepts: list[dict]) -> None:
        for concept in concepts:
            displays.append(concept["display"])
            walk(concept.get("concept", []))

    walk(system["concept"])
    share = sum("femoral" in d for d in displays) / len(displays)
    assert 0.02 < share < 0.2


def test_write_content__files_for_every_size(tmp_path: Path) -> None:
    content.write_content(tmp_path, [1000, 2000])
    system = json.loads((tmp_path / "CodeSystem-bench-synthetic-2000.json").read_text())
    valueset = json.loads((tmp_path / "ValueSet-bench-synthetic-2000.json").read_text())
    assert system["url"] == content.system_url(2000)
    assert valueset["compose"]["include"][0]["system"] == system["url"]


def test_order_sign_request__about_5_kb_and_grows_with_conditions() -> None:
    small = len(json.dumps(payloads.order_sign_request(), separators=(",", ":")))
    large = len(json.dumps(payloads.order_sign_request(100), separators=(",", ":")))
    assert 4_500 <= small <= 5_500
    assert large > 15 * small
    assert set(payloads.order_sign_request()["prefetch"]) == {
        "patient",
        "coverage",
        "encounter",
        "conditions",
        "consents",
    }


def test_floor__parses_the_body_and_answers_a_1_kb_card() -> None:
    client = create_floor_app().test_client()
    response = client.post("/floor", json=payloads.order_sign_request())
    assert response.status_code == 200
    assert 900 <= len(response.data) <= 1_300
    assert response.get_json()["cards"][0]["summary"]
    assert client.post("/floor", data=b"{not json", content_type="application/json").status_code == 400


def test_varied_order_sign_requests__distinct_calls_the_product_answers_with_different_rules(
    tmp_path: Path,
) -> None:
    """The varied row's calls are valid CDS Hooks calls, no two alike, and between them they reach the
    age, payer, ICD-10-CM and documentation rules (so the row measures varied answers, not one)."""
    from plugin.app import create_app

    calls = payloads.varied_order_sign_requests(64)
    assert len({json.dumps(c, sort_keys=True) for c in calls}) == 64
    assert len({c["hookInstance"] for c in calls}) == 64
    assert payloads.varied_order_sign_requests(64) == calls  # the same list every time
    app = create_app({"storage": {"url": f"sqlite:///{tmp_path / 'store.db'}"}, "audit": {"log": "off"}})
    client = app.test_client()
    fired: set[str] = set()
    answers = set()
    with clock.pinned(dt.date(2026, 11, 25)):
        for call in calls:
            reply = client.post(f"/cds-services/{payloads.SERVICE_ID}", json=call)
            assert reply.status_code == 200, reply.get_data(as_text=True)
            cards = reply.get_json()["cards"]
            answers.add(json.dumps([c["summary"] for c in cards]))
            fired |= {c["extension"]["org.cpt-plugin.rule"]["id"] for c in cards}
    assert len(answers) >= 10
    assert {"icd10cm-reason-not-billable", "icd10cm-reason-not-a-code", "payer-medicare"} <= fired
    assert any(rule.startswith("age-band") for rule in fired)
    assert any(rule.startswith("payer-") and rule != "payer-medicare" for rule in fired)
