"""The first versioned schema: feedback, issued cards, audit, JWT replay claims.

Databases made before the schema was versioned hold exactly these tables; `cpt-plugin db upgrade`
recognises them and records this revision without creating anything.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.String(255), nullable=False),
        sa.Column("card_uuid", sa.String(255), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON, nullable=True),
        sa.Column("override_reason", sa.JSON, nullable=True),
        sa.Column("outcome_timestamp", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_feedback_service_id", "feedback", ["service_id"])
    op.create_index("ix_feedback_card_uuid", "feedback", ["card_uuid"])
    op.create_table(
        "issued_cards",
        sa.Column("card_uuid", sa.String(255), primary_key=True),
        sa.Column("service_id", sa.String(255), nullable=False),
        sa.Column("hook_instance", sa.String(255), nullable=False),
        sa.Column("topic", sa.String(60), nullable=False),
        sa.Column("rule_id", sa.String(200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(40), nullable=False, server_default="cds-hook-call"),
        sa.Column("service_id", sa.String(255), nullable=False),
        sa.Column("hook_instance", sa.String(255), nullable=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("rules", sa.JSON, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("issuer", sa.String(255), nullable=True),
    )
    op.create_table(
        "jwt_replay",
        sa.Column("token_key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_jwt_replay_expires_at", "jwt_replay", ["expires_at"])


def downgrade() -> None:
    for table in ("jwt_replay", "audit", "issued_cards", "feedback"):
        op.drop_table(table)
