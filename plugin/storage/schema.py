"""The tables, shared by the Store (plugin/storage/store.py) and the write-behind sinks.

This is the schema at the newest migration (plugin/storage/migrations/versions): a change here
needs a new revision there, and tests/storage/test_migrations.py checks that the two agree."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Float, Integer, MetaData, String, Table

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
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
)

issued_cards = Table(
    "issued_cards",
    metadata,
    Column("card_uuid", String(MAX_ID_LENGTH), primary_key=True),
    Column("service_id", String(MAX_ID_LENGTH), nullable=False),
    Column("hook_instance", String(MAX_ID_LENGTH), nullable=False),
    Column("topic", String(60), nullable=False),
    Column("rule_id", String(200), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False, index=True),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
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
