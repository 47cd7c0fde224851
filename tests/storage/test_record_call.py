"""`Store.record_call` (one queue item per hook call) keeps the same rows as `record_cards` plus
`add_audit`, on SQLite and PostgreSQL; the SQLite writer's own row format reads back exactly like
rows written through SQLAlchemy."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from plugin.storage.keys import new_card_uuid
from plugin.storage.sinks import Call, CoreSink, SqliteSink
from plugin.storage.store import MAX_ID_LENGTH, Store, StoreInputError, audit, issued_cards

CARDS = [
    {"uuid": "card-a", "topic": "age-criteria", "rule_id": "age-band"},
    {"uuid": "card-b", "topic": "documentation", "rule_id": "cannulation-note-elements"},
]


@pytest.fixture
def store(store_url: str):
    opened = Store(store_url)
    yield opened
    opened.close()


def _without_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in ("id", "at")} for row in rows]


def _cards(store: Store) -> set[tuple[Any, ...]]:
    store.flush()
    with store.engine.connect() as conn:
        return {
            (r.card_uuid, r.service_id, r.hook_instance, r.topic, r.rule_id)
            for r in conn.execute(select(issued_cards))
        }


def test_record_call__same_rows_as_record_cards_plus_add_audit(store_url: str) -> None:
    split, combined = Store(store_url), Store(store_url)
    split.record_cards("svc", "hook-1", CARDS)
    split.add_audit(
        "svc", 200, hook_instance="hook-1", rules=["age-band"], latency_ms=2.5, issuer="https://ehr"
    )
    first = _without_ids(split.list_audit())
    cards_first = _cards(split)
    split.close()
    with combined.engine.begin() as conn:  # the same database: start again from empty tables
        conn.execute(issued_cards.delete())
        conn.execute(audit.delete())
    combined.record_call(
        "svc",
        200,
        hook_instance="hook-1",
        cards=CARDS,
        rules=["age-band"],
        latency_ms=2.5,
        issuer="https://ehr",
    )
    assert _without_ids(combined.list_audit()) == first
    assert (
        _cards(combined)
        == cards_first
        == {
            ("card-a", "svc", "hook-1", "age-criteria", "age-band"),
            ("card-b", "svc", "hook-1", "documentation", "cannulation-note-elements"),
        }
    )
    combined.add_feedback("svc", [{"card": "card-b", "outcome": "accepted", "outcomeTimestamp": "t"}])
    assert combined.feedback_summary() == [
        {"topic": "documentation", "rule_id": "cannulation-note-elements", "outcome": "accepted", "n": 1}
    ]
    combined.close()


def test_record_call__audit_row_timestamped_now(store: Store) -> None:
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    store.record_call("svc", 200, hook_instance="h", cards=CARDS[:1])
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    (row,) = store.list_audit()
    at = row["at"].astimezone(dt.UTC).replace(tzinfo=None) if row["at"].tzinfo else row["at"]
    assert before - dt.timedelta(seconds=1) <= at <= after + dt.timedelta(seconds=1)


def test_record_call__refused_card__audit_row_kept_and_error_raised(store: Store) -> None:
    long_card = {"uuid": "x" * (MAX_ID_LENGTH + 1), "topic": "documentation", "rule_id": "r"}
    with pytest.raises(StoreInputError, match="card uuid is longer than 255"):
        store.record_call("svc", 200, hook_instance="h", cards=[CARDS[0], long_card], rules=["r"])
    rows = store.list_audit()
    assert [(r["service_id"], r["hook_instance"], r["rules"]) for r in rows] == [("svc", "h", ["r"])]
    assert _cards(store) == set(), "no card of the refused set is kept"


def test_record_call__hostile_identifiers_cut_in_the_audit_row(store: Store) -> None:
    with pytest.raises(StoreInputError, match="service id is longer than 255"):
        store.record_call("s" * 1000, 400, hook_instance="h" * 1000, cards=CARDS, issuer="i" * 1000)
    (row,) = store.list_audit()
    assert (len(row["service_id"]), len(row["hook_instance"]), len(row["issuer"])) == (MAX_ID_LENGTH,) * 3


def test_record_call__without_cards_is_an_audit_row(store: Store) -> None:
    store.record_call("svc", 401, event="cds-hook-call")
    assert [(r["status"], r["hook_instance"], r["rules"]) for r in store.list_audit()] == [(401, None, None)]
    assert _cards(store) == set()


def test_record_cards__bad_card_refused_naming_the_field(store: Store) -> None:
    for card, message in [
        ({**CARDS[0], "topic": "t" * 61}, "card topic is longer than 60"),
        ({**CARDS[0], "rule_id": 7}, "rule id must be a string"),
        ({**CARDS[0], "uuid": None}, "card uuid must be a string"),
    ]:
        with pytest.raises(StoreInputError, match=message):
            store.record_cards("svc", "h", [card])
    with pytest.raises(StoreInputError, match="service id must be a string"):
        store.record_cards(None, "h", CARDS)  # type: ignore[arg-type]
    assert _cards(store) == set()


# --------------------------------------------------------------------------------------------------
# The SQLite writer's own row format against SQLAlchemy's


CALLS: list[Call] = [
    # On a whole second (SQLAlchemy still writes ".000000"), every optional field set.
    (1_764_072_000_000_000_000, "svc", "hook-1", [("c1", "age-criteria", "age-band")], None),
    (
        1_764_072_000_123_456_789,
        "svc",
        "hook-1",
        [("c2", "documentation", "r2"), ("c3", "coding-edit", "r3")],
        (200, ["age-band", "r\u00e9gle"], 3.25, "https://ehr.example", "cds-hook-call"),
    ),
    (1_764_072_001_999_999_999, "svc", None, [], (401, None, None, None, "feedback")),
]


def test_sqlite_writer_rows__read_back_exactly_like_sqlalchemy_rows(tmp_path: Path) -> None:
    stores = {}
    for name in ("raw", "core"):
        stores[name] = Store(f"sqlite:///{tmp_path / f'{name}.db'}", write_behind=False)
    SqliteSink(str(tmp_path / "raw.db"), "raw").write(CALLS)
    CoreSink(stores["core"].engine).write(CALLS)

    read = {}
    for name, opened in stores.items():
        with opened.engine.connect() as conn:
            read[name] = (
                [
                    dict(r._mapping)
                    for r in conn.execute(select(issued_cards).order_by(issued_cards.c.card_uuid))
                ],
                opened.list_audit(),
            )
    assert read["raw"] == read["core"]
    cards, audits = read["raw"]
    assert [c["issued_at"] for c in cards] == [
        dt.datetime(2025, 11, 25, 12, 0, 0, 0),
        dt.datetime(2025, 11, 25, 12, 0, 0, 123456),
        dt.datetime(2025, 11, 25, 12, 0, 0, 123456),
    ]
    assert [a["at"] for a in audits] == [
        dt.datetime(2025, 11, 25, 12, 0, 0, 123456),
        dt.datetime(2025, 11, 25, 12, 0, 1, 999999),
    ]
    assert audits[0]["rules"] == ["age-band", "r\u00e9gle"] and audits[1]["rules"] is None

    # On disk too: the same text for every value; the JSON may differ in spacing only.
    raw = sqlite3.connect(tmp_path / "raw.db")
    core = sqlite3.connect(tmp_path / "core.db")
    for table in ("issued_cards", "audit"):
        mine = raw.execute(
            f"select *, typeof(issued_at) from {table}"
            if table == "issued_cards"
            else f"select *, typeof(rules) from {table}"
        ).fetchall()
        theirs = core.execute(
            f"select *, typeof(issued_at) from {table}"
            if table == "issued_cards"
            else f"select *, typeof(rules) from {table}"
        ).fetchall()
        if table == "audit":
            mine = [(*r[:6], json.loads(r[6]), *r[7:]) for r in mine]
            theirs = [(*r[:6], json.loads(r[6]), *r[7:]) for r in theirs]
        assert mine == theirs
    for opened in stores.values():
        opened.close()


# --------------------------------------------------------------------------------------------------
# Card identifiers


def test_new_card_uuid__version_7_time_ordered_and_unique() -> None:
    made = [new_card_uuid() for _ in range(20_000)]
    assert len(set(made)) == len(made)
    parsed = uuid.UUID(made[0])
    assert str(parsed) == made[0] and parsed.version == 7 and parsed.variant == uuid.RFC_4122
    millis = int(made[0].replace("-", "")[:12], 16)
    assert abs(millis / 1000 - dt.datetime.now(dt.UTC).timestamp()) < 60
    # Made later, sorts later (to the millisecond): what keeps the issued-card index append-only.
    stamps = [m.replace("-", "")[:12] for m in made]
    assert stamps == sorted(stamps)


def test_sqlite_writer__batch_larger_than_one_statement__every_row_once(tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    Store(f"sqlite:///{db}").close()
    calls: list[Call] = [
        (
            1_764_072_000_000_000_000 + i * 1000,
            "svc",
            f"h{i}",
            [(f"c{i}-1", "t", "r"), (f"c{i}-2", "t", "r")],
            None,
        )
        for i in range(123)
    ] + [
        (1_764_072_000_000_000_000, "svc", f"a{i}", [], (200, [], 0.5, None, "cds-hook-call"))
        for i in range(77)
    ]
    SqliteSink(str(db), "big").write(calls)
    with sqlite3.connect(db) as conn:
        cards = conn.execute("select card_uuid, hook_instance, issued_at from issued_cards").fetchall()
        audits = conn.execute("select hook_instance, rules from audit order by id").fetchall()
    assert len(cards) == 246 and len({c[0] for c in cards}) == 246
    assert ("c122-2", "h122", "2025-11-25 12:00:00.000122") in cards
    assert audits == [(f"a{i}", "[]") for i in range(77)]
