"""Feedback, issued-card, audit and JWT-replay records behind one interface, on SQLite or PostgreSQL.

The URL picks the backend (`sqlite:///path.db`, `postgresql://user@host/db`). SQLite runs in WAL
mode with synchronous=FULL so that a row is on disk when the commit returns: feedback that was
answered 200 survives a kill -9 (and a power cut). PostgreSQL commits are durable with its default
`synchronous_commit = on`; several app instances can share one database.

Feedback and JWT-replay claims commit before they return. Issued-card records and audit rows are not
acknowledged to anyone, so they are queued to a per-process background writer that commits them in
batches up to ~20 ms later (plugin/storage/writer.py: what that trades, and how nothing is lost
on a normal shutdown); the readers here flush that queue first.

Identifiers are bounded (a card id of 100 kB would not fit a PostgreSQL index row), and over-long
ones raise StoreInputError instead of a database error, so a caller can answer 400 rather than 500.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from plugin.storage.writer import WriteBehind, flush_writers_of

log = logging.getLogger(__name__)

# Longest identifier we keep (card and suggestion uuids, hookInstance, service id, timestamps).
MAX_ID_LENGTH = 255

metadata = MetaData()

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(MAX_ID_LENGTH), nullable=False, index=True),
    Column("card_uuid", String(MAX_ID_LENGTH), nullable=False, index=True),
    Column("outcome", String(20), nullable=False),
    Column("accepted_suggestions", JSON, nullable=True),
    Column("override_reason", JSON, nullable=True),
    Column("outcome_timestamp", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

issued_cards = Table(
    "issued_cards",
    metadata,
    Column("card_uuid", String(MAX_ID_LENGTH), primary_key=True),
    Column("service_id", String(MAX_ID_LENGTH), nullable=False),
    Column("hook_instance", String(MAX_ID_LENGTH), nullable=False),
    Column("topic", String(60), nullable=False),
    Column("rule_id", String(200), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("event", String(40), nullable=False, server_default="cds-hook-call"),
    Column("service_id", String(MAX_ID_LENGTH), nullable=False),
    Column("hook_instance", String(MAX_ID_LENGTH), nullable=True),
    Column("status", Integer, nullable=False),
    Column("rules", JSON, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("issuer", String(MAX_ID_LENGTH), nullable=True),
)

# One row per accepted JWT (`iss` + `jti`), kept until the token expires, so a replay is caught by
# any worker or instance that shares the store. The key is a digest: a jti may be any string.
jwt_replay = Table(
    "jwt_replay",
    metadata,
    Column("token_key", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

# Expired replay rows are swept at most this often per process.
_PURGE_INTERVAL_SECONDS = 60.0


class StoreInputError(ValueError):
    """A value the store will not keep (e.g. an identifier longer than MAX_ID_LENGTH)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _bounded(field: str, value: Any, limit: int = MAX_ID_LENGTH, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise StoreInputError(f"{field} must be a string")
    if len(value) > limit:
        raise StoreInputError(f"{field} is longer than {limit} characters")
    return value


def engine_for(url: str, *, synchronous: str = "FULL") -> Engine:
    """An engine for the URL; on SQLite WAL mode with the given `synchronous` level (FULL unless the
    caller writes only rows nobody was promised, see Store._behind_engine)."""
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)

        @event.listens_for(engine, "connect")
        def _durable(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at every commit, so a 200 means the row survives power loss too.
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            # Several workers (processes) write to one file; wait for the lock rather than fail.
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

        return engine
    return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_timeout=10)


def _create_tables(engine: Engine) -> None:
    """Create missing tables; safe when several workers start at once on one database."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            # Serialise concurrent create_all calls: without it two workers race on CREATE TABLE.
            conn.execute(text("SELECT pg_advisory_xact_lock(335952)"))
            metadata.create_all(conn)
        return
    for attempt in range(3):
        try:
            metadata.create_all(engine)
            return
        except DatabaseError:
            # Another process created the table between our check and our CREATE.
            if attempt == 2:
                raise
            time.sleep(0.1)


class Store:
    """The one storage interface the service uses (see the module docstring for when writes commit)."""

    def __init__(self, url: str, *, write_behind: bool = True) -> None:
        self.url = url
        self.engine = engine_for(url)
        self.backend = self.engine.dialect.name
        self.pid = os.getpid()
        _create_tables(self.engine)
        self._last_purge = 0.0
        self._purge_lock = threading.Lock()
        self._write_behind = write_behind
        self._writer: WriteBehind | None = None
        self._writer_lock = threading.Lock()

    @property
    def writer(self) -> WriteBehind:
        """This process's background writer (a forked child never uses its parent's queue or thread)."""
        writer = self._writer
        if writer is None or writer.pid != os.getpid():
            with self._writer_lock:
                writer = self._writer
                if writer is None or writer.pid != os.getpid():
                    engine = self._behind_engine()
                    writer = WriteBehind(engine, owns_engine=engine is not self.engine)
                    self._writer = writer
        return writer

    def _behind_engine(self) -> Engine:
        """Where written-behind rows go. On a SQLite file: its own connections at synchronous=NORMAL.

        In WAL mode a NORMAL commit has written the transaction to the WAL file before it returns,
        so the row survives a kill -9 of this process; only an OS crash or a power cut can lose the
        last such commits (until the next checkpoint, or the next FULL commit, which fsyncs the
        WAL with them). These rows (issued cards, audit) were promised to nobody; feedback, which
        is acknowledged, still commits at FULL through self.engine. Saves an fsync per batch.
        """
        database = self.engine.url.database
        if self.backend == "sqlite" and database and database != ":memory:":
            return engine_for(self.url, synchronous="NORMAL")
        return self.engine

    def _queue_rows(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if self._write_behind:
            self.writer.put(table, rows)
        else:
            with self.engine.begin() as conn:
                conn.execute(insert(table), rows)

    def flush(self) -> None:
        """Wait until every issued-card and audit row this process queued for this database is in it
        (also rows queued through another Store on the same database, e.g. the app's)."""
        flush_writers_of(str(self.engine.url))

    def close(self) -> None:
        writer = self._writer
        if writer is not None and writer.pid == os.getpid():
            writer.close()
        self._writer = None
        self.engine.dispose()

    # ----------------------------------------------------------------------------------------------
    # Feedback and issued cards

    def add_feedback(self, service_id: str, items: list[dict[str, Any]]) -> int:
        """Store CDS Hooks feedback items (already validated) in one transaction; durable on return."""
        received = _now()
        rows = [
            {
                "service_id": _bounded("service id", service_id),
                "card_uuid": _bounded(f"feedback[{i}].card", item["card"]),
                "outcome": _bounded(f"feedback[{i}].outcome", item["outcome"], 20),
                "accepted_suggestions": item.get("acceptedSuggestions"),
                "override_reason": item.get("overrideReason"),
                "outcome_timestamp": _bounded(
                    f"feedback[{i}].outcomeTimestamp", item["outcomeTimestamp"], 64
                ),
                "received_at": received,
            }
            for i, item in enumerate(items)
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(feedback), rows)
        return len(rows)

    def list_feedback(self, service_id: str | None = None) -> list[dict[str, Any]]:
        self.flush()
        query = select(feedback).order_by(feedback.c.id)
        if service_id is not None:
            query = query.where(feedback.c.service_id == service_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def record_cards(self, service_id: str, hook_instance: str, cards: list[dict[str, Any]]) -> None:
        """Remember which topic and rule each issued card had, so feedback can be reported per kind.

        Checked here (StoreInputError), written behind (a few ms later, in a batch)."""
        issued = _now()
        rows = [
            {
                "card_uuid": _bounded("card uuid", card["uuid"]),
                "service_id": _bounded("service id", service_id),
                "hook_instance": _bounded("hookInstance", hook_instance),
                "topic": _bounded("card topic", card["topic"], 60),
                "rule_id": _bounded("rule id", card["rule_id"], 200),
                "issued_at": issued,
            }
            for card in cards
        ]
        if rows:
            self._queue_rows(issued_cards, rows)

    def feedback_summary(self) -> list[dict[str, Any]]:
        """Accepted / overridden counts per card topic and rule (feedback on unknown cards: topic None)."""
        self.flush()
        query = (
            select(
                issued_cards.c.topic,
                issued_cards.c.rule_id,
                feedback.c.outcome,
                func.count().label("n"),
            )
            .select_from(feedback.outerjoin(issued_cards, feedback.c.card_uuid == issued_cards.c.card_uuid))
            .group_by(issued_cards.c.topic, issued_cards.c.rule_id, feedback.c.outcome)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # ----------------------------------------------------------------------------------------------
    # Audit

    def add_audit(
        self,
        service_id: str,
        status: int,
        *,
        hook_instance: str | None = None,
        rules: list[str] | None = None,
        latency_ms: float | None = None,
        issuer: str | None = None,
        event: str = "cds-hook-call",
    ) -> None:
        """Queue one audit row (written behind, like the issued cards)."""
        self._queue_rows(
            audit,
            [
                {
                    "at": _now(),
                    "event": event,
                    # The audit trail must not fail on a hostile identifier: cut, don't refuse.
                    "service_id": service_id[:MAX_ID_LENGTH],
                    "hook_instance": hook_instance[:MAX_ID_LENGTH]
                    if isinstance(hook_instance, str)
                    else None,
                    "status": status,
                    "rules": rules,
                    "latency_ms": latency_ms,
                    "issuer": issuer[:MAX_ID_LENGTH] if isinstance(issuer, str) else None,
                }
            ],
        )

    def list_audit(self, limit: int = 1000) -> list[dict[str, Any]]:
        self.flush()
        query = select(audit).order_by(audit.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)][::-1]

    # ----------------------------------------------------------------------------------------------
    # JWT replay

    @staticmethod
    def _token_key(issuer: str, jti: str) -> str:
        return hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()

    def claim_jti(self, issuer: str, jti: str, expires_at: int) -> bool:
        """Record that `issuer` used `jti` until `expires_at` (epoch seconds).

        True the first time; False when the same pair is still live (a replay). One statement, so
        concurrent claims from several workers or instances cannot both win (INSERT .. ON CONFLICT
        .. RETURNING: SQLite >= 3.35, PostgreSQL >= 9.5).
        """
        now = int(time.time())
        values = {"token_key": self._token_key(issuer, jti), "expires_at": int(expires_at)}
        dialect = pg_dialect if self.backend == "postgresql" else sqlite_dialect
        stmt = dialect.insert(jwt_replay).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[jwt_replay.c.token_key],
            set_={"expires_at": stmt.excluded.expires_at},
            # An expired entry may be reused; a live one makes this a no-op (rowcount 0).
            where=jwt_replay.c.expires_at < now,
        ).returning(jwt_replay.c.token_key)
        with self.engine.begin() as conn:
            # A row comes back when inserted or when an expired entry was taken over; none on a replay.
            claimed = conn.execute(stmt).first() is not None
        self._maybe_purge(now)
        return claimed

    def _maybe_purge(self, now: int) -> None:
        if now - self._last_purge < _PURGE_INTERVAL_SECONDS or not self._purge_lock.acquire(blocking=False):
            return
        try:
            self._last_purge = now
            with self.engine.begin() as conn:
                conn.execute(delete(jwt_replay).where(jwt_replay.c.expires_at < now))
        except DatabaseError:
            log.warning("could not purge expired JWT replay entries", exc_info=True)
        finally:
            self._purge_lock.release()
