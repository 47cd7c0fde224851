"""Feedback, issued-card, audit and JWT-replay records behind one interface, on SQLite or PostgreSQL.

The URL picks the backend (`sqlite:///path.db`, `postgresql://user@host/db`). SQLite runs in WAL
mode with synchronous=FULL so that a row is on disk when the commit returns: feedback that was
answered 200 survives a kill -9 (and a power cut). PostgreSQL commits are durable with its default
`synchronous_commit = on`; several app instances can share one database.

Feedback and JWT-replay claims commit before they return. Issued-card records and audit rows are not
acknowledged to anyone, so they are queued per process and committed in batches about 20 ms later
(plugin/storage/writer.py: who writes a batch, what that trades, and how nothing is lost on a normal
shutdown); the readers here flush that queue first. `record_call` queues a hook call's
audit row and issued cards as one item, the cheapest way to store both.

Identifiers are bounded (a card id of 100 kB would not fit a PostgreSQL index row), and over-long
ones raise StoreInputError instead of a database error, so a caller can answer 400 rather than 500.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import make_url

from plugin.storage.migrate import status as schema_status
from plugin.storage.migrate import upgrade as migrate_schema
from plugin.storage.replay import ReplayLedger, ReplayStoreError
from plugin.storage.schema import MAX_ID_LENGTH, audit, feedback, issued_cards, jwt_replay, metadata
from plugin.storage.sinks import Call, CoreSink, SqliteSink
from plugin.storage.writer import WriteBehind, flush_writers_of

__all__ = [
    "MAX_ID_LENGTH",
    "ReplayStoreError",
    "Store",
    "StoreInputError",
    "audit",
    "engine_for",
    "feedback",
    "issued_cards",
    "jwt_replay",
    "metadata",
]

log = logging.getLogger(__name__)


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


def _cut(value: Any) -> str | None:
    # The audit trail must not fail on a hostile identifier: cut, don't refuse.
    return value[:MAX_ID_LENGTH] if isinstance(value, str) else None


def _issued(
    service_id: Any, hook_instance: Any, cards: Iterable[Mapping[str, Any]]
) -> list[tuple[str, str, str]]:
    """(card uuid, topic, rule id) of each card, or StoreInputError naming what will not be kept."""
    _bounded("service id", service_id)
    _bounded("hookInstance", hook_instance)
    issued = []
    for card in cards:
        card_uuid, topic, rule_id = card["uuid"], card["topic"], card["rule_id"]
        if not (
            type(card_uuid) is str
            and type(topic) is str
            and type(rule_id) is str
            and len(card_uuid) <= MAX_ID_LENGTH
            and len(topic) <= 60
            and len(rule_id) <= 200
        ):
            _bounded("card uuid", card_uuid)
            _bounded("card topic", topic, 60)
            _bounded("rule id", rule_id, 200)
        issued.append((card_uuid, topic, rule_id))
    return issued


def engine_for(url: str, *, synchronous: str = "FULL") -> Engine:
    """An engine for the URL; on SQLite WAL mode with the given `synchronous` level (FULL: the rows
    written behind go through their own connection at NORMAL, see Store._behind_sink)."""
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


class Store:
    """The one storage interface the service uses (see the module docstring for when writes commit)."""

    def __init__(self, url: str, *, write_behind: bool = True, migrate: bool | None = None) -> None:
        """`migrate`: bring the schema to the newest revision now. By default only on SQLite; a
        PostgreSQL schema is changed by `cpt-plugin db upgrade` (plugin/storage/migrate.py)."""
        self.url = url
        self.engine = engine_for(url)
        self.backend = self.engine.dialect.name
        self.pid = os.getpid()
        if migrate if migrate is not None else self.backend == "sqlite":
            migrate_schema(self.engine, fresh_from_metadata=True)
        else:
            problem = schema_status(self.engine).problem()
            if problem:
                log.error("storage at %s: %s", self.engine.url, problem)
        self.ledger = ReplayLedger(self.engine.url)
        self.background_purge: Any = None  # a retention.BackgroundPurge when the server runs one
        self._write_behind = write_behind
        self._writer: WriteBehind | None = None
        self._writer_lock = threading.Lock()
        self._inline = CoreSink(self.engine)

    @property
    def writer(self) -> WriteBehind:
        """This process's background writer (a forked child never uses its parent's queue or thread)."""
        writer = self._writer
        if writer is None or writer.pid != os.getpid():
            with self._writer_lock:
                writer = self._writer
                if writer is None or writer.pid != os.getpid():
                    if writer is not None:
                        writer.abandon()
                    writer = WriteBehind(self._behind_sink(), owns_sink=True)
                    self._writer = writer
        return writer

    def _behind_sink(self) -> SqliteSink | CoreSink:
        """Where written-behind rows go. On a SQLite file: a dedicated connection at synchronous=NORMAL.

        In WAL mode a NORMAL commit has written the transaction to the WAL file before it returns,
        so the row survives a kill -9 of this process; only an OS crash or a power cut can lose the
        last such commits (until the next checkpoint, or the next FULL commit, which fsyncs the
        WAL with them). These rows (issued cards, audit) were promised to nobody; feedback, which
        is acknowledged, still commits at FULL through self.engine. Saves an fsync per batch.
        """
        database = self.engine.url.database
        if self.backend == "sqlite" and database and database != ":memory:":
            return SqliteSink(database, str(self.engine.url))
        return CoreSink(self.engine)

    def _queue(self, call: Call) -> None:
        if self._write_behind:
            self.writer.put(call)
        else:
            self._inline.write([call])

    def flush(self) -> None:
        """Wait until every issued-card and audit row this process queued for this database is in it
        (also rows queued through another Store on the same database, e.g. the app's)."""
        flush_writers_of(str(self.engine.url))

    def close(self) -> None:
        writer = self._writer
        if writer is not None and writer.pid == os.getpid():
            writer.close()
        self._writer = None
        if self.background_purge is not None:
            self.background_purge.stop()
        self.ledger.close()
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
        issued = _issued(service_id, hook_instance, cards)
        if issued:
            self._queue((time.time_ns(), service_id, hook_instance, issued, None))

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
        self._queue(
            (
                time.time_ns(),
                service_id[:MAX_ID_LENGTH],  # cut, like every identifier of the audit trail
                _cut(hook_instance),
                (),
                (status, rules, latency_ms, _cut(issuer), event),
            )
        )

    def record_call(
        self,
        service_id: str,
        status: int,
        *,
        hook_instance: str | None = None,
        cards: Sequence[Mapping[str, Any]] = (),
        rules: list[str] | None = None,
        latency_ms: float | None = None,
        issuer: str | None = None,
        event: str = "cds-hook-call",
    ) -> None:
        """One hook call's audit row and the cards it issued, queued as one item (cheaper than
        `record_cards` + `add_audit`, which store the same rows).

        `cards` are checked like `record_cards` checks them; when one is refused (StoreInputError)
        the audit row is still queued, without the cards, and the error is raised afterwards."""
        refused: StoreInputError | None = None
        issued: list[tuple[str, str, str]] = []
        if cards:
            try:
                issued = _issued(service_id, hook_instance, cards)
            except StoreInputError as exc:
                refused = exc
        self._queue(
            (
                time.time_ns(),
                service_id[:MAX_ID_LENGTH],
                _cut(hook_instance),
                issued,
                (status, rules, latency_ms, _cut(issuer), event),
            )
        )
        if refused is not None:
            raise refused

    def list_audit(self, limit: int = 1000) -> list[dict[str, Any]]:
        self.flush()
        query = select(audit).order_by(audit.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)][::-1]

    # ----------------------------------------------------------------------------------------------
    # JWT replay

    def claim_jti(self, issuer: str, jti: str, expires_at: int) -> bool:
        """Record that `issuer` used `jti` until `expires_at` (epoch seconds).

        True the first time; False when the same pair is still live (a replay), whichever worker or
        instance saw it first. One statement on the shared database, without an fsync of its own
        (plugin/storage/replay.py says what a crash can lose). ReplayStoreError when the database
        cannot answer: the caller must then refuse the token."""
        return self.ledger.claim(issuer, jti, expires_at)
