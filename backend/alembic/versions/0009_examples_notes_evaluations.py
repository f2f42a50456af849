"""Teaching and measuring: verified examples (question + query) per connection, notes on a
connection, an object or a column, an evaluation set per connection, and evaluation runs with
one row per question asked.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _now(name: str = "created_at") -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _connection() -> sa.Column[Any]:
    return sa.Column(
        "connection_id", UUID(as_uuid=True), sa.ForeignKey("connections.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "verified_examples",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _connection(),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("question_norm", sa.Text, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("used_objects", JSONB, nullable=False, server_default="[]"),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("history_id", UUID(as_uuid=True), sa.ForeignKey("query_history.id", ondelete="SET NULL")),
        sa.Column("verified_by", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("verified_by_email", sa.String(320)),
        sa.Column("verified_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("embedding", Vector(384), nullable=False),
        _now(),
        sa.UniqueConstraint("connection_id", "question_norm", name="uq_verified_examples_question"),
    )
    # Vectors in the row, as for chunks (0005): the exact scan per connection reads them directly.
    op.execute("ALTER TABLE verified_examples ALTER COLUMN embedding SET STORAGE PLAIN")
    op.create_table(
        "connection_notes",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _connection(),
        # Empty strings, not NULL, so that one note per target is a plain unique constraint:
        # object "" is the connection itself, column "" the whole object.
        sa.Column("object_name", sa.Text, nullable=False, server_default=""),
        sa.Column("column_name", sa.Text, nullable=False, server_default=""),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("author_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("author_email", sa.String(320)),
        _now(),
        _now("updated_at"),
        sa.UniqueConstraint("connection_id", "object_name", "column_name", name="uq_connection_notes_target"),
    )
    op.create_table(
        "evaluation_cases",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _connection(),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("expected_query", sa.Text, nullable=False),
        _now(),
    )
    op.create_index("ix_evaluation_cases_connection", "evaluation_cases", ["connection_id", "position"])
    op.create_table(
        "evaluation_runs",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _connection(),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("settings", JSONB, nullable=False, server_default="{}"),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("correct", sa.Integer, nullable=False, server_default="0"),
        sa.Column("accuracy", sa.Float),
        sa.Column("context_recall", sa.Float),
        sa.Column("median_ms", sa.Float),
        sa.Column("error", sa.Text),
        _now(),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_evaluation_runs_connection", "evaluation_runs", ["connection_id", "created_at"])
    op.create_table(
        "evaluation_results",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", UUID(as_uuid=True), sa.ForeignKey("evaluation_runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("expected_query", sa.Text, nullable=False),
        sa.Column("generated_query", sa.Text),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("correct", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("context_recall", sa.Float),
        sa.Column("missing_objects", JSONB, nullable=False, server_default="[]"),
        sa.Column("timings", JSONB, nullable=False, server_default="{}"),
        sa.Column("diff", JSONB, nullable=False, server_default="{}"),
        sa.Column("error", sa.Text),
        sa.UniqueConstraint("run_id", "position", name="uq_evaluation_results_position"),
    )


def downgrade() -> None:
    for table in ("evaluation_results", "evaluation_runs", "evaluation_cases", "connection_notes", "verified_examples"):
        op.drop_table(table)
