"""POST /cds-services/{id}/feedback: validated, stored in SQLite, reported by `cpt-plugin feedback`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from plugin.app import create_app
from plugin.cli import main
from plugin.storage import get_store
from tests.cds_hooks.conftest import cds_settings
from tests.cds_hooks.stubs import ORDER_SIGN, cards_of, order_sign, service_request
from tests.conftest import LiveServer

WHEN = "2026-11-25T15:05:31Z"


def issue_cards(call):
    orders = [service_request("sr-1", "33952"), service_request("sr-2", "77001")]
    response = call(ORDER_SIGN, order_sign(orders, birth_date="2020-11-21"))
    [age] = cards_of(response, topic="age-criteria")
    [edit] = cards_of(response, topic="coding-edit")
    return age, edit


def accepted(card):
    return {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
        "outcomeTimestamp": WHEN,
    }


def overridden(card, comment="done at a separate session"):
    return {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": WHEN,
        "overrideReason": {
            "reason": {k: card["overrideReasons"][0][k] for k in ("code", "system")},
            "userComment": comment,
        },
    }


def test_feedback__accepted_and_overridden_are_stored(call, cds_app, cds_client) -> None:
    age, edit = issue_cards(call)
    reply = cds_client.post(
        f"/cds-services/{ORDER_SIGN}/feedback", json={"feedback": [accepted(age), overridden(edit)]}
    )
    assert reply.status_code == 200 and reply.get_json() == {}
    rows = get_store(cds_app).list_feedback(ORDER_SIGN)
    assert [(r["card_uuid"], r["outcome"]) for r in rows] == [
        (age["uuid"], "accepted"),
        (edit["uuid"], "overridden"),
    ]
    assert rows[0]["accepted_suggestions"] == [{"id": age["suggestions"][0]["uuid"]}]
    assert rows[1]["override_reason"]["userComment"] == "done at a separate session"


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"card": "c1", "outcome": "ignored", "outcomeTimestamp": WHEN}, "feedback[0].outcome"),
        ({"outcome": "overridden", "outcomeTimestamp": WHEN}, "feedback[0].card"),
        ({"card": "c1", "outcome": "overridden"}, "feedback[0].outcomeTimestamp"),
        ({"card": "c1", "outcome": "accepted", "outcomeTimestamp": WHEN}, "feedback[0].acceptedSuggestions"),
        (
            {"card": "c1", "outcome": "accepted", "acceptedSuggestions": [], "outcomeTimestamp": WHEN},
            "feedback[0].acceptedSuggestions",
        ),
        (
            {"card": "c1", "outcome": "overridden", "outcomeTimestamp": "yesterday"},
            "feedback[0].outcomeTimestamp",
        ),
        (
            {"card": "c1", "outcome": "overridden", "outcomeTimestamp": WHEN, "overrideReason": {}},
            "feedback[0].overrideReason",
        ),
        (
            {
                "card": "c1",
                "outcome": "overridden",
                "outcomeTimestamp": WHEN,
                "overrideReason": {"reason": {"code": "x"}},
            },
            "feedback[0].overrideReason.reason.system",
        ),
    ],
)
def test_feedback__invalid_item__400_naming_the_field_and_nothing_stored(
    cds_app, cds_client, item, field
) -> None:
    reply = cds_client.post(f"/cds-services/{ORDER_SIGN}/feedback", json={"feedback": [item]})
    assert reply.status_code == 400
    body = reply.get_json()
    assert body["error"] == "invalid-request" and body["field"] == field, body
    assert get_store(cds_app).list_feedback() == []


@pytest.mark.parametrize("body", [{}, {"feedback": []}, [], {"feedback": "x"}])
def test_feedback__invalid_envelope__400(cds_client, body) -> None:
    assert cds_client.post(f"/cds-services/{ORDER_SIGN}/feedback", json=body).status_code == 400


def test_feedback__one_bad_item_rejects_the_whole_post(cds_app, cds_client) -> None:
    good = {"card": "c1", "outcome": "overridden", "outcomeTimestamp": WHEN}
    bad = {"card": "c2", "outcome": "accepted", "outcomeTimestamp": WHEN}
    reply = cds_client.post(f"/cds-services/{ORDER_SIGN}/feedback", json={"feedback": [good, bad]})
    assert reply.status_code == 400
    assert get_store(cds_app).list_feedback() == []


def test_feedback__unknown_service__404(cds_client) -> None:
    reply = cds_client.post("/cds-services/nope/feedback", json={"feedback": []})
    assert reply.status_code == 404


def test_feedback__survives_a_restart_on_the_same_sqlite_file(tmp_path: Path) -> None:
    # First server: issue cards and post feedback over real HTTP.
    first = create_app(cds_settings(tmp_path))
    server = LiveServer(first).start()
    try:
        body = order_sign([service_request("sr-1", "33952")], birth_date="2020-11-21")
        cards = requests.post(f"{server.url}/cds-services/{ORDER_SIGN}", json=body, timeout=10).json()[
            "cards"
        ]
        [age] = [c for c in cards if c["source"]["topic"]["code"] == "age-criteria"]
        reply = requests.post(
            f"{server.url}/cds-services/{ORDER_SIGN}/feedback", json={"feedback": [accepted(age)]}, timeout=10
        )
        assert reply.status_code == 200
    finally:
        server.stop()
        get_store(first).close()
    # A new app instance on the same database file still has it, joined to the issued card.
    second = create_app(cds_settings(tmp_path))
    rows = get_store(second).list_feedback()
    assert [(r["card_uuid"], r["outcome"]) for r in rows] == [(age["uuid"], "accepted")]
    summary = get_store(second).feedback_summary()
    assert {(s["topic"], s["rule_id"], s["outcome"], s["n"]) for s in summary} == {
        ("age-criteria", "age-band-mismatch", "accepted", 1)
    }


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "plugin.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "feedback.db"}"\n')
    return config


def test_feedback_command__rates_per_topic_and_rule(tmp_path, call, cds_client, capsys) -> None:
    age, edit = issue_cards(call)
    age2, edit2 = issue_cards(call)
    items = [
        accepted(age),
        accepted(age2),
        overridden(edit),
        accepted(edit2),
        {"card": "never-issued", "outcome": "overridden", "outcomeTimestamp": WHEN},
    ]
    assert (
        cds_client.post(f"/cds-services/{ORDER_SIGN}/feedback", json={"feedback": items}).status_code == 200
    )
    config = write_config(tmp_path)
    assert main(["feedback", "--config", str(config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    topics = {t["topic"]: t for t in report["topics"]}
    assert topics["age-criteria"] == {
        "topic": "age-criteria",
        "accepted": 2,
        "overridden": 0,
        "total": 2,
        "acceptRate": 1.0,
        "overrideRate": 0.0,
    }
    assert topics["coding-edit"]["acceptRate"] == 0.5 and topics["coding-edit"]["overrideRate"] == 0.5
    assert topics["(unknown card)"]["overridden"] == 1
    rules = {(r["topic"], r["rule"]): r for r in report["rules"]}
    assert rules[("coding-edit", "ncci-ptp-modifier-bypass")]["total"] == 2

    assert main(["feedback", "--config", str(config)]) == 0
    table = capsys.readouterr().out
    assert "By card topic" in table and "By rule" in table
    assert "age-criteria" in table and "100.0%" in table and "50.0%" in table


def test_feedback_command__runs_as_the_installed_cli_on_an_empty_store(tmp_path) -> None:
    config = write_config(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "plugin.cli", "feedback", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "(no feedback yet)" in done.stdout


def test_feedback_command__missing_config_file__exit_2(tmp_path, capsys) -> None:
    assert main(["feedback", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_merged_card__names_every_rule_and_feedback_credits_each(tmp_path, call, cds_client, capsys) -> None:
    # An add-on ordered without its primary, two units: the units card about the same order merges into
    # the add-on card (one card per topic for the same orders), which then names both rules.
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33987", quantity=2)]))
    [card] = cards_of(response, topic="coding-edit")
    extension = card["extension"]
    assert extension["org.cpt-plugin.rule"]["id"] == "ncci-add-on-without-primary"
    merged = [r["id"] for r in extension["org.cpt-plugin.merged-rules"]]
    assert merged == ["ncci-add-on-without-primary", "ncci-mue-exceeded"]
    for rule in extension["org.cpt-plugin.merged-rules"]:
        assert f"Rule `{rule['id']}` v{rule['version']}" in card["detail"]
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": WHEN}
    assert (
        cds_client.post(f"/cds-services/{ORDER_SIGN}/feedback", json={"feedback": [item]}).status_code == 200
    )
    assert main(["feedback", "--config", str(write_config(tmp_path)), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rules = {(r["topic"], r["rule"]): r["overridden"] for r in report["rules"]}
    assert rules == {
        ("coding-edit", "ncci-add-on-without-primary"): 1,
        ("coding-edit", "ncci-mue-exceeded"): 1,
    }
    assert {t["topic"]: t["overridden"] for t in report["topics"]} == {"coding-edit": 1}


def test_unmerged_card__no_merged_rules_extension(call) -> None:
    response = call(ORDER_SIGN, order_sign([service_request("sr-1", "33952")]))
    assert all("org.cpt-plugin.merged-rules" not in c["extension"] for c in response["cards"])
