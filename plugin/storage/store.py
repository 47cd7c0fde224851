"""Feedback, issued-card and audit records behind one interface, on SQLite or PostgreSQL.

The URL picks the backend (`sqlite:///path.db`, `postgresql://user@host/db`). SQLite runs in WAL
mode with synchronous=FULL so that a row is on disk when the commit returns: feedback that was
answered 200 survives a kill -9.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import make_url

metadata = MetaData()

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(200), nullable=False, index=True),
    Column("card_uuid", String(100), nullable=False, index=True),
    Column("outcome", String(20), nullable=False),
    Column("accepted_suggestions", JSON, nullable=True),
    Column("override_reason", JSON, nullable=True),
    Column("outcome_timestamp", String(40), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

issued_cards = Table(
    "issued_cards",
    metadata,
    Column("card_uuid", String(100), primary_key=True),
    Column("service_id", String(200), nullable=False),
    Column("hook_instance", String(100), nullable=False),
    Column("topic", String(60), nullable=False),
    Column("rule_id", String(200), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("service_id", String(200), nullable=False),
    Column("hook_instance", String(100), nullable=True),
    Column("status", Integer, nullable=False),
    Column("rules", JSON, nullable=True),
    Column("latency_ms", Float, nullable=True),
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def engine_for(url: str) -> Engine:
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
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

        return engine
    return create_engine(parsed, pool_pre_ping=True)


class Store:
    """The one storage interface the service uses; every write commits before it returns."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = engine_for(url)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def add_feedback(self, service_id: str, items: list[dict[str, Any]]) -> int:
        """Store CDS Hooks feedback items (already validated) in one transaction."""
        received = _now()
        rows = [
            {
                "service_id": service_id,
                "card_uuid": item["card"],
                "outcome": item["outcome"],
                "accepted_suggestions": item.get("acceptedSuggestions"),
                "override_reason": item.get("overrideReason"),
                "outcome_timestamp": item["outcomeTimestamp"],
                "received_at": received,
            }
            for item in items
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(feedback), rows)
        return len(rows)

    def list_feedback(self, service_id: str | None = None) -> list[dict[str, Any]]:
        query = select(feedback).order_by(feedback.c.id)
        if service_id is not None:
            query = query.where(feedback.c.service_id == service_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def record_cards(self, service_id: str, hook_instance: str, cards: list[dict[str, Any]]) -> None:
        """Remember which topic and rule each issued card had, so feedback can be reported per kind."""
        rows = [
            {
                "card_uuid": card["uuid"],
                "service_id": service_id,
                "hook_instance": hook_instance,
                "topic": card["topic"],
                "rule_id": card["rule_id"],
                "issued_at": _now(),
            }
            for card in cards
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(issued_cards), rows)

    def feedback_summary(self) -> list[dict[str, Any]]:
        """Accepted / overridden counts per card topic and rule (feedback on unknown cards: topic None)."""
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

    def add_audit(
        self,
        service_id: str,
        status: int,
        *,
        hook_instance: str | None = None,
        rules: list[str] | None = None,
        latency_ms: float | None = None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(audit),
                {
                    "at": _now(),
                    "service_id": service_id,
                    "hook_instance": hook_instance,
                    "status": status,
                    "rules": rules,
                    "latency_ms": latency_ms,
                },
            )
