"""Initial store: users, connections, index jobs, chunks with pgvector, query history.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TSV = (
    "setweight(to_tsvector('english', coalesce(name_keywords, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(keywords, '')), 'B')"
)

NAME_WORDS = "tsvector_to_array(to_tsvector('english', coalesce(name_keywords, '')))"


def _now() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "users",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        _now(),
    )
    op.create_table(
        "connections",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("owner_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("url_encrypted", sa.LargeBinary, nullable=False),
        sa.Column("url_redacted", sa.Text, nullable=False),
        sa.Column("options", JSONB, nullable=False, server_default="{}"),
        sa.Column("server_version", sa.Text),
        sa.Column("schema_snapshot", JSONB),
        sa.Column("join_graph", JSONB),
        sa.Column("object_count", sa.Integer),
        sa.Column("indexed_at", sa.DateTime(timezone=True)),
        _now(),
        sa.UniqueConstraint("owner_id", "name", name="uq_connections_owner_name"),
    )
    op.create_index("ix_connections_owner_id", "connections", ["owner_id"])
    op.create_table(
        "index_jobs",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "connection_id", UUID(as_uuid=True), sa.ForeignKey("connections.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("counts", JSONB, nullable=False, server_default="{}"),
        sa.Column("error", sa.Text),
        _now(),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('pending', 'running', 'succeeded', 'failed')", name="ck_index_jobs_status"),
    )
    op.create_index("ix_index_jobs_connection_id", "index_jobs", ["connection_id"])
    op.create_table(
        "chunks",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "connection_id", UUID(as_uuid=True), sa.ForeignKey("connections.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("object_name", sa.Text, nullable=False),
        sa.Column("object_kind", sa.String(40), nullable=False),
        sa.Column("part", sa.Integer, nullable=False, server_default="0"),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("name_keywords", sa.Text, nullable=False),
        sa.Column("keywords", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("embedding", Vector(384), nullable=False),
        sa.Column("tsv", TSVECTOR, sa.Computed(TSV, persisted=True)),
        sa.Column("name_words", ARRAY(sa.Text), sa.Computed(NAME_WORDS, persisted=True)),
    )
    op.create_index("ix_chunks_connection_object", "chunks", ["connection_id", "object_name"])
    op.create_index(
        "ix_chunks_embedding_hnsw",
        "chunks",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_index("ix_chunks_tsv", "chunks", ["tsv"], postgresql_using="gin")
    op.create_index("ix_chunks_name_words", "chunks", ["name_words"], postgresql_using="gin")
    op.create_table(
        "query_history",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("connection_id", UUID(as_uuid=True), sa.ForeignKey("connections.id", ondelete="SET NULL")),
        sa.Column("conversation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text),
        sa.Column("query", sa.Text),
        sa.Column("language", sa.String(10)),
        sa.Column("row_count", sa.Integer),
        sa.Column("sources", JSONB, nullable=False, server_default="[]"),
        sa.Column("timings", JSONB, nullable=False, server_default="{}"),
        sa.Column("model", sa.String(200)),
        sa.Column("error", sa.Text),
        _now(),
    )
    op.create_index("ix_query_history_user_id", "query_history", ["user_id"])
    op.create_index("ix_query_history_conversation_id", "query_history", ["conversation_id"])


def downgrade() -> None:
    for table in ("query_history", "chunks", "index_jobs", "connections", "users"):
        op.drop_table(table)
