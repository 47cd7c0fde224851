"""The storage contract, on a real SQLite file and a real PostgreSQL server: feedback, issued cards,
audit rows and the JWT replay record behave the same on both."""

from __future__ import annotations

import threading
import time

import pytest

from plugin.storage.store import MAX_ID_LENGTH, Store, StoreInputError

ITEM = {"card": "c1", "outcome": "accepted", "outcomeTimestamp": "2026-11-25T10:00:00Z"}


@pytest.fixture
def store(store_url: str):
    opened = Store(store_url)
    yield opened
    opened.close()


def test_feedback__kept_with_every_field(store: Store) -> None:
    item = {
        "card": "card-1",
        "outcome": "overridden",
        "overrideReason": {
            "reason": {"system": "https://x", "code": "r1", "display": "R1"},
            "userComment": "n/a",
        },
        "outcomeTimestamp": "2026-11-25T10:05:31Z",
    }
    assert store.add_feedback("svc", [item, {**ITEM, "acceptedSuggestions": [{"id": "s1"}]}]) == 2
    rows = store.list_feedback("svc")
    assert [r["card_uuid"] for r in rows] == ["card-1", "c1"]
    assert rows[0]["override_reason"] == item["overrideReason"]
    assert rows[1]["accepted_suggestions"] == [{"id": "s1"}]
    assert store.list_feedback("other") == []


def test_feedback__visible_to_a_second_store_on_the_same_database(store_url: str) -> None:
    """Another worker or instance sees a committed row immediately."""
    writer, reader = Store(store_url), Store(store_url)
    writer.add_feedback("svc", [ITEM])
    assert [r["card_uuid"] for r in reader.list_feedback()] == ["c1"]
    writer.close()
    reader.close()


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({**ITEM, "card": "x" * (MAX_ID_LENGTH + 1)}, "feedback[1].card"),
        ({**ITEM, "outcomeTimestamp": "9" * 65}, "feedback[1].outcomeTimestamp"),
        ({**ITEM, "card": 5}, "feedback[1].card"),
    ],
)
def test_feedback_with_oversized_identifier__refused_naming_the_field(
    store: Store, item: dict, field: str
) -> None:
    with pytest.raises(StoreInputError, match=field.replace("[", r"\[").replace("]", r"\]")):
        store.add_feedback("svc", [ITEM, item])
    # Nothing of the refused batch was written.
    assert store.list_feedback() == []


def test_feedback_summary__groups_by_topic_and_rule(store: Store) -> None:
    store.record_cards("svc", "h1", [{"uuid": "a", "topic": "age-criteria", "rule_id": "age-band"}])
    store.add_feedback("svc", [{**ITEM, "card": "a"}, {**ITEM, "card": "a", "outcome": "overridden"}])
    summary = {(r["topic"], r["rule_id"], r["outcome"]): r["n"] for r in store.feedback_summary()}
    assert summary == {
        ("age-criteria", "age-band", "accepted"): 1,
        ("age-criteria", "age-band", "overridden"): 1,
    }


def test_audit__rows_in_order_and_hostile_identifiers_cut(store: Store) -> None:
    store.add_audit("svc", 200, hook_instance="h1", rules=["age-band"], latency_ms=3.5, issuer="https://ehr")
    store.add_audit("s" * 1000, 401)
    rows = store.list_audit()
    assert [(r["service_id"][:3], r["status"]) for r in rows] == [("svc", 200), ("sss", 401)]
    assert rows[0]["rules"] == ["age-band"] and rows[0]["issuer"] == "https://ehr"
    assert len(rows[1]["service_id"]) == MAX_ID_LENGTH


def test_jti__first_use_claims_and_replay_is_refused(store: Store) -> None:
    expires = int(time.time()) + 300
    assert store.claim_jti("https://ehr", "j1", expires) is True
    assert store.claim_jti("https://ehr", "j1", expires) is False
    # The same jti from another issuer is a different token.
    assert store.claim_jti("https://other", "j1", expires) is True


def test_jti__any_string_fits(store: Store) -> None:
    assert store.claim_jti("https://ehr", "j" * 5000 + "\u00e9\x00", int(time.time()) + 60) is True


def test_jti__expired_entry_may_be_claimed_again(store: Store) -> None:
    assert store.claim_jti("https://ehr", "j2", int(time.time()) - 1) is True
    assert store.claim_jti("https://ehr", "j2", int(time.time()) + 60) is True
    assert store.claim_jti("https://ehr", "j2", int(time.time()) + 60) is False


def test_jti__concurrent_claims_from_two_stores__exactly_one_wins(store_url: str) -> None:
    """Two workers (two engines, many threads) race on the same tokens: each jti is accepted once."""
    stores = [Store(store_url), Store(store_url)]
    expires = int(time.time()) + 300
    wins: list[str] = []
    lock = threading.Lock()

    def race(index: int) -> None:
        for n in range(20):
            if stores[index % 2].claim_jti("https://ehr", f"race-{n}", expires):
                with lock:
                    wins.append(f"race-{n}")

    threads = [threading.Thread(target=race, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == sorted(f"race-{n}" for n in range(20))
    for opened in stores:
        opened.close()
