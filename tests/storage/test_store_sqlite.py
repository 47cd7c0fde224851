"""The SQLite store keeps feedback durably and reports it per card kind."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from plugin.storage.store import Store


def test_sqlite__runs_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    db = tmp_path / "feedback.db"
    store = Store(f"sqlite:///{db}")
    store.add_feedback(
        "svc", [{"card": "c1", "outcome": "accepted", "outcomeTimestamp": "2026-11-25T10:00:00Z"}]
    )
    with store.engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert (mode, sync) == ("wal", 2)
    store.close()
    # A separate plain sqlite3 connection sees the committed row: it is in the file, not in a cache.
    rows = sqlite3.connect(db).execute("select card_uuid, outcome from feedback").fetchall()
    assert rows == [("c1", "accepted")]


def test_feedback_summary__groups_by_topic_and_rule(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'f.db'}")
    store.record_cards(
        "svc",
        "hook-1",
        [
            {"uuid": "a", "topic": "age-criteria", "rule_id": "age-band"},
            {"uuid": "b", "topic": "coding-edit", "rule_id": "ncci-ptp"},
        ],
    )
    store.add_feedback(
        "svc",
        [
            {"card": "a", "outcome": "accepted", "outcomeTimestamp": "2026-11-25T10:00:00Z"},
            {"card": "a", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:01:00Z"},
            {"card": "b", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:02:00Z"},
            {"card": "zzz", "outcome": "accepted", "outcomeTimestamp": "2026-11-25T10:03:00Z"},
        ],
    )
    summary = {(r["topic"], r["rule_id"], r["outcome"]): r["n"] for r in store.feedback_summary()}
    assert summary == {
        ("age-criteria", "age-band", "accepted"): 1,
        ("age-criteria", "age-band", "overridden"): 1,
        ("coding-edit", "ncci-ptp", "overridden"): 1,
        (None, None, "accepted"): 1,
    }
