"""Retention: rows past [storage.retention] go in small batches (SQLite and PostgreSQL), issued cards
that have feedback stay as long as their feedback, one purge runs at a time, writes get in between
batches, the settings are checked, and `cpt-plugin db purge` / `db size` report what they did."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import insert

from plugin.cli import main
from plugin.config import ConfigError, load_settings
from plugin.storage.retention import Retention, _exclusive, purge, size_report
from plugin.storage.schema import audit, feedback, issued_cards, jwt_replay
from plugin.storage.store import Store

NOW = dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC)


def _card(at: dt.datetime, card_uuid: str | None = None) -> dict:
    return {
        "card_uuid": card_uuid or str(uuid.uuid4()),
        "service_id": "svc",
        "hook_instance": "h",
        "topic": "documentation",
        "rule_id": "r1",
        "issued_at": at,
    }


def _audit(at: dt.datetime) -> dict:
    return {"at": at, "event": "cds-hook-call", "service_id": "svc", "status": 200, "rules": ["r1"]}


def _feedback(at: dt.datetime, card_uuid: str) -> dict:
    return {
        "service_id": "svc",
        "card_uuid": card_uuid,
        "outcome": "accepted",
        "outcome_timestamp": at.isoformat(),
        "received_at": at,
    }


def _fill(store: Store, table, rows: list[dict]) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(table), rows)


def _count(store: Store, table) -> int:
    with store.engine.connect() as conn:
        return len(conn.execute(table.select()).all())


@pytest.fixture
def store(store_url: str):
    opened = Store(store_url)
    yield opened
    opened.close()


def test_purge__each_table_by_its_own_days__answered_cards_kept_with_their_feedback(store: Store) -> None:
    old, recent = NOW - dt.timedelta(days=100), NOW - dt.timedelta(days=10)
    _fill(store, issued_cards, [_card(old) for _ in range(5)] + [_card(recent) for _ in range(3)])
    _fill(store, issued_cards, [_card(old, "answered-old"), _card(old, "answered-recent")])
    # Feedback on two old cards: one itself old (past feedback_days), one recent.
    _fill(store, feedback, [_feedback(old, "answered-old"), _feedback(recent, "answered-recent")])
    _fill(store, audit, [_audit(old) for _ in range(4)] + [_audit(recent) for _ in range(2)])
    with store.engine.begin() as conn:
        conn.execute(insert(jwt_replay), [{"token_key": "a" * 64, "expires_at": int(NOW.timestamp()) - 1}])
        conn.execute(insert(jwt_replay), [{"token_key": "b" * 64, "expires_at": int(NOW.timestamp()) + 60}])

    retention = Retention(issued_cards_days=30, audit_days=60, feedback_days=50, purge_batch_rows=2)
    removed = purge(store.engine, retention, now=NOW, pause=0)

    # Old unanswered cards go; the card whose feedback went in this run goes with it; the card with
    # recent feedback stays (its feedback still needs its topic and rule).
    assert removed == {"feedback": 1, "issued_cards": 6, "audit": 4, "jwt_replay": 1}
    with store.engine.connect() as conn:
        left = {r.card_uuid for r in conn.execute(issued_cards.select())}
    assert "answered-recent" in left and "answered-old" not in left and len(left) == 4
    assert _count(store, audit) == 2 and _count(store, feedback) == 1 and _count(store, jwt_replay) == 1
    summary = store.feedback_summary()
    assert summary == [{"topic": "documentation", "rule_id": "r1", "outcome": "accepted", "n": 1}]


def test_purge__zero_days_keeps_a_table_for_ever(store: Store) -> None:
    _fill(store, audit, [_audit(NOW - dt.timedelta(days=5000))])
    removed = purge(store.engine, Retention(issued_cards_days=0, audit_days=0, feedback_days=0), now=NOW)
    assert removed == {"feedback": 0, "issued_cards": 0, "audit": 0, "jwt_replay": 0}
    assert _count(store, audit) == 1


def test_purge__small_batches__writes_get_in_between(store: Store) -> None:
    _fill(store, audit, [_audit(NOW - dt.timedelta(days=900)) for _ in range(1_050)])
    batches: list[tuple[str, int, float]] = []
    writes: list[float] = []
    retention = Retention(audit_days=30, issued_cards_days=0, purge_batch_rows=100)

    def writer() -> None:
        for i in range(40):
            store.add_feedback("svc", [{"card": f"c{i}", "outcome": "accepted", "outcomeTimestamp": "x"}])
            writes.append(time.monotonic())
            time.sleep(0.005)

    thread = threading.Thread(target=writer)
    thread.start()
    purge(
        store.engine,
        retention,
        now=NOW,
        pause=0.02,
        on_batch=lambda table, n: batches.append((table, n, time.monotonic())),
    )
    thread.join()
    assert [n for _t, n, _at in batches] == [100] * 10 + [50]
    first, last = batches[0][2], batches[-1][2]
    assert any(first < at < last for at in writes), "no write got in while the purge ran"
    assert _count(store, feedback) == 40


def test_purge__one_at_a_time_per_database(store: Store) -> None:
    _fill(store, audit, [_audit(NOW - dt.timedelta(days=900))])
    with _exclusive(store.engine) as held:
        assert held is not None
        assert purge(store.engine, Retention(audit_days=1), now=NOW) is None
    assert purge(store.engine, Retention(audit_days=1), now=NOW)["audit"] == 1


@pytest.mark.parametrize(
    ("retention", "key"),
    [
        ({"audit_days": -1}, "storage.retention.audit_days"),
        ({"feedback_days": 1.5}, "storage.retention.feedback_days"),
        ({"purge_batch_rows": 0}, "storage.retention.purge_batch_rows"),
        ({"purge_batch_rows": 50_000}, "storage.retention.purge_batch_rows"),
        ({"issued_card_days": 3}, "storage.retention.issued_card_days"),
    ],
)
def test_retention_settings__bad_values_refused_naming_the_key(retention: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings({"storage": {"retention": retention}})


def test_retention_settings__defaults_documented_values() -> None:
    retention = Retention.from_settings(load_settings({})["storage"])
    assert (retention.issued_cards_days, retention.audit_days, retention.feedback_days) == (90, 400, 0)


def test_db_commands__purge_and_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    config = tmp_path / "plugin.toml"
    config.write_text(f'[storage]\nurl = "{url}"\n[storage.retention]\naudit_days = 30\n')
    store = Store(url)
    _fill(store, audit, [_audit(dt.datetime.now(dt.UTC) - dt.timedelta(days=31)) for _ in range(7)])
    _fill(store, audit, [_audit(dt.datetime.now(dt.UTC))])
    report = size_report(store.engine)
    assert report["tables"]["audit"]["rows"] == 8 and report["total_bytes"] > 0
    store.close()

    assert main(["db", "size", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "audit" in out and "8" in out and "database (sqlite)" in out
    assert main(["db", "purge", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "audit" in out and "7 rows removed (older than 30 days)" in out
    assert main(["db", "size", "--config", str(config), "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["tables"]["audit"]["rows"] == 1


def test_server_process__purges_in_the_background(tmp_path: Path) -> None:
    """What `cpt-plugin serve` turns on: the process that opens the store trims it on its own."""
    from plugin.app import create_app
    from plugin.storage import enable_background_purge, get_store

    url = f"sqlite:///{tmp_path / 'bg.db'}"
    settings = {
        "storage": {"url": url, "retention": {"audit_days": 1, "purge_interval_seconds": 1}},
        "security": {"require_jwt": False, "issuers": []},
    }
    app = create_app(settings)
    enable_background_purge(app)
    store = get_store(app)
    assert store.background_purge is not None
    _fill(store, audit, [_audit(dt.datetime.now(dt.UTC) - dt.timedelta(days=2)) for _ in range(30)])
    deadline = time.monotonic() + 10
    while _count(store, audit):
        assert time.monotonic() < deadline, "the background purge did not run"
        time.sleep(0.1)
    store.close()


def test_store_of_a_test_app__no_background_purge(tmp_path: Path) -> None:
    from plugin.app import create_app
    from plugin.storage import get_store

    app = create_app({"storage": {"url": f"sqlite:///{tmp_path / 'n.db'}"}})
    assert get_store(app).background_purge is None
    get_store(app).close()


def test_size_report__rows_dates_and_bytes(store: Store) -> None:
    _fill(store, audit, [_audit(NOW - dt.timedelta(days=3)), _audit(NOW)])
    report = size_report(store.engine)
    assert report["backend"] == store.backend
    row = report["tables"]["audit"]
    assert row["rows"] == 2 and row["oldest"] < row["newest"]
    assert row["bytes"] is None or row["bytes"] > 0
    assert report["total_bytes"] > 0
