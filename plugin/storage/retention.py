"""Retention: old issued-card, audit and feedback rows removed in small batches, and the store's size.

Every hook call stores its issued cards and an audit row (about 1 KB together); `[storage.retention]`
(docs/configuration.md) says how many days each table keeps. 0 keeps a table's rows for ever.

What the accept/override analytics (`cpt-plugin feedback`) need: a feedback row, and the issued-card
row of the card it is about (that is where its topic and rule come from). So an issued card that
has feedback is kept as long as its feedback is, whatever `issued_cards_days` says; only cards nobody
gave feedback on age out by `issued_cards_days`. Feedback arrives minutes after the card, so
`issued_cards_days` only needs to be longer than the longest delay between a card and its feedback.

The purge deletes at most `purge_batch_rows` rows per transaction and pauses between transactions,
so a write that needs the same table (SQLite has one writer at a time) waits for one small batch at
most. In a server it runs in the background of every worker every `purge_interval_seconds` (with
jitter); a lock (a PostgreSQL advisory lock, or a file lock beside the SQLite file) lets one purge
run at a time across workers and instances, and the others skip that round. Expired JWT replay
claims are swept here too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, func, select, text

from plugin.config import DEFAULTS as CONFIG_DEFAULTS
from plugin.storage.schema import audit, feedback, issued_cards, jwt_replay
from plugin.storage.waits import sleep_unless

log = logging.getLogger(__name__)

# Pause between two batches: lets requests that need the write lock in.
BATCH_PAUSE_SECONDS = 0.05
_ADVISORY_KEY = 335953  # the migration lock's key + 1

# One source for the defaults: the [storage.retention] section of the built-in settings.
DEFAULTS: dict[str, Any] = CONFIG_DEFAULTS["storage"]["retention"]


@dataclass(frozen=True)
class Retention:
    issued_cards_days: int = DEFAULTS["issued_cards_days"]
    audit_days: int = DEFAULTS["audit_days"]
    feedback_days: int = DEFAULTS["feedback_days"]
    purge_interval_seconds: float = DEFAULTS["purge_interval_seconds"]
    purge_batch_rows: int = DEFAULTS["purge_batch_rows"]

    @classmethod
    def from_settings(cls, storage: dict[str, Any]) -> Retention:
        values = {**DEFAULTS, **(storage.get("retention") or {})}
        return cls(**{k: values[k] for k in DEFAULTS})


def _cutoff(now: dt.datetime, days: int) -> dt.datetime | None:
    return now - dt.timedelta(days=days) if days > 0 else None


def _batch_statements(retention: Retention, now: dt.datetime) -> list[tuple[str, Any]]:
    """(table, DELETE of at most one batch) for every table with a retention; feedback first, so that
    the cards whose feedback goes in this run become eligible in the same run."""
    n = retention.purge_batch_rows
    found: list[tuple[str, Any]] = []
    cut = _cutoff(now, retention.feedback_days)
    if cut is not None:
        old = select(feedback.c.id).where(feedback.c.received_at < cut).order_by(feedback.c.id).limit(n)
        found.append(("feedback", delete(feedback).where(feedback.c.id.in_(old.scalar_subquery()))))
    cut = _cutoff(now, retention.issued_cards_days)
    if cut is not None:
        card = issued_cards.alias("card")
        answered = exists().where(feedback.c.card_uuid == card.c.card_uuid)
        old = select(card.c.card_uuid).where(card.c.issued_at < cut, ~answered).limit(n)
        found.append(
            ("issued_cards", delete(issued_cards).where(issued_cards.c.card_uuid.in_(old.scalar_subquery())))
        )
    cut = _cutoff(now, retention.audit_days)
    if cut is not None:
        old = select(audit.c.id).where(audit.c.at < cut).order_by(audit.c.id).limit(n)
        found.append(("audit", delete(audit).where(audit.c.id.in_(old.scalar_subquery()))))
    return found


@contextlib.contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection | None]:
    """One purge at a time per database: yields a connection to purge with, or None (another runs)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _ADVISORY_KEY}).scalar()
            conn.commit()
            if not got:
                yield None
                return
            try:
                yield conn
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_KEY})
                conn.commit()
        return
    database = engine.url.database
    lock_path = Path(database).with_name(Path(database).name + ".purge-lock") if database else None
    if lock_path is None or database == ":memory:":
        with engine.connect() as conn:
            yield conn
        return
    with lock_path.open("a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def purge(
    engine: Engine,
    retention: Retention,
    *,
    now: dt.datetime | None = None,
    pause: float = BATCH_PAUSE_SECONDS,
    stop: threading.Event | None = None,
    on_batch: Callable[[str, int], None] | None = None,
) -> dict[str, int] | None:
    """Delete what is past its retention, one batch per transaction; rows removed per table.

    None when another process holds the purge lock (it is doing the same work)."""
    now = now or dt.datetime.now(dt.UTC)
    removed = {"feedback": 0, "issued_cards": 0, "audit": 0, "jwt_replay": 0}
    with _exclusive(engine) as conn:
        if conn is None:
            return None
        for table, statement in _batch_statements(retention, now):
            while stop is None or not stop.is_set():
                count = conn.execute(statement).rowcount
                conn.commit()
                removed[table] += count
                if on_batch is not None:
                    on_batch(table, count)
                if count < retention.purge_batch_rows:
                    break
                if pause:
                    time.sleep(pause)
        expired = delete(jwt_replay).where(jwt_replay.c.expires_at < int(now.timestamp()))
        removed["jwt_replay"] = conn.execute(expired).rowcount
        conn.commit()
    return removed


def size_report(engine: Engine) -> dict[str, Any]:
    """Rows, oldest and newest row and bytes per table, and the database's total bytes."""
    tables: dict[str, dict[str, Any]] = {}
    timed = {
        "feedback": feedback.c.received_at,
        "issued_cards": issued_cards.c.issued_at,
        "audit": audit.c.at,
    }
    with engine.connect() as conn:
        for table in (feedback, issued_cards, audit, jwt_replay):
            row: dict[str, Any] = {"rows": conn.execute(select(func.count()).select_from(table)).scalar()}
            column = timed.get(table.name)
            if column is not None:
                oldest, newest = conn.execute(select(func.min(column), func.max(column))).one()
                row["oldest"] = _iso(oldest)
                row["newest"] = _iso(newest)
            row["bytes"] = _table_bytes(conn, table.name)
            tables[table.name] = row
        total = _database_bytes(conn, engine)
    return {"backend": engine.dialect.name, "tables": tables, "total_bytes": total}


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


def _table_bytes(conn: Connection, name: str) -> int | None:
    if conn.dialect.name == "postgresql":
        query = text("SELECT pg_total_relation_size(CAST(:t AS regclass))")
        return int(conn.execute(query, {"t": name}).scalar() or 0)
    try:
        # The table and its indexes (SQLite's dbstat virtual table, when the library has it).
        query = text(
            "SELECT SUM(pgsize) FROM dbstat WHERE name = :t "
            "OR name IN (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t)"
        )
        return int(conn.execute(query, {"t": name}).scalar() or 0)
    except Exception:  # noqa: BLE001 - a SQLite built without dbstat: the total is still reported
        conn.rollback()
        return None


def _database_bytes(conn: Connection, engine: Engine) -> int | None:
    if conn.dialect.name == "postgresql":
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar() or 0)
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return sum(os.path.getsize(p) for p in (database, database + "-wal") if os.path.exists(p))


class BackgroundPurge:
    """Runs `purge` every `purge_interval_seconds` (+/- 25%) in a daemon thread of this process."""

    def __init__(self, engine: Engine, retention: Retention) -> None:
        self.engine = engine
        self.retention = retention
        self.pid = os.getpid()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpt-plugin-retention", daemon=True)

    def start(self) -> BackgroundPurge:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        interval = float(self.retention.purge_interval_seconds)
        # A stop is seen within a second (plugin/storage/waits.py: why not Event.wait).
        while not sleep_unless(self._stop, interval * random.uniform(0.75, 1.25), 1.0):
            try:
                removed = purge(self.engine, self.retention, stop=self._stop)
            except Exception:  # noqa: BLE001 - the next round tries again; the thread must live on
                log.exception("retention purge failed")
                continue
            if removed and any(removed.values()):
                log.info("retention purge removed %s", ", ".join(f"{k} {v}" for k, v in removed.items() if v))
