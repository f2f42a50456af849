"""Feedback on an answer: its owner's thumbs up or down, an optional comment, and when it was
given, kept on the history entry itself (one per answer; it goes when the entry goes).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("query_history", sa.Column("feedback_rating", sa.String(4)))
    op.add_column("query_history", sa.Column("feedback_comment", sa.Text))
    op.add_column("query_history", sa.Column("feedback_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_query_history_feedback",
        "query_history",
        ["connection_id", "feedback_rating"],
        postgresql_where=sa.text("feedback_rating IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_query_history_feedback", table_name="query_history")
    op.drop_column("query_history", "feedback_at")
    op.drop_column("query_history", "feedback_comment")
    op.drop_column("query_history", "feedback_rating")
