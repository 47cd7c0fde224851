"""Indexes on the time columns the retention purge selects by (issued_at, at, received_at).

Without them each purge batch would scan the whole table it trims.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_issued_cards_issued_at", "issued_cards", ["issued_at"])
    op.create_index("ix_audit_at", "audit", ["at"])
    op.create_index("ix_feedback_received_at", "feedback", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_received_at", "feedback")
    op.drop_index("ix_audit_at", "audit")
    op.drop_index("ix_issued_cards_issued_at", "issued_cards")
