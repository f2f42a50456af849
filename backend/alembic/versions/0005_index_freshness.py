"""Index freshness and a lighter chunk table.

Connections get a re-index schedule (``reindex_interval_minutes``, off when null), the hash of
the catalog the index was built from, when it was last checked and what the check found.
Index jobs get a mode: ``full`` re-reads everything, ``check`` first compares the catalog hash
and stops there when nothing changed.

Search reads every chunk of one connection exactly (cosine distance over the rows found through
the connection's b-tree index) instead of the shared HNSW graph: at 10,000 chunks a search costs
under 5 ms either way, an exact scan misses nothing, and each HNSW insert cost about 1 ms
(10 s of a 10,000-table index; docs/BENCHMARKS.md (b)).

For that scan the vectors stay in the row (``STORAGE PLAIN``): pgvector's default lets a row
over 2 kB move its vector out to TOAST, and then each distance fetched it from there (10,000
chunks: 30 ms instead of 4). Rows stored before are rewritten once.

Keyword search moved into memory (``backend/components/lexical_index.py``): the chunk columns
and GIN indexes it used (``name_keywords``, ``keywords``, ``tsv``, ``name_words``) and the stored
join graph are no longer read, and each chunk insert paid for them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TSV = (
    "setweight(to_tsvector('english', coalesce(name_keywords, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(keywords, '')), 'B')"
)
NAME_WORDS = "tsvector_to_array(to_tsvector('english', coalesce(name_keywords, '')))"


def upgrade() -> None:
    op.drop_index("ix_chunks_embedding_hnsw", table_name="chunks")
    op.drop_index("ix_chunks_tsv", table_name="chunks")
    op.drop_index("ix_chunks_name_words", table_name="chunks")
    for column in ("tsv", "name_words", "keywords", "name_keywords"):
        op.drop_column("chunks", column)
    op.drop_column("connections", "join_graph")
    op.execute("ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE PLAIN")
    # A new value (not the stored TOAST pointer) so that each row is written again, vector inline.
    op.execute("UPDATE chunks SET embedding = embedding::real[]::vector")
    op.add_column("connections", sa.Column("reindex_interval_minutes", sa.Integer))
    op.add_column("connections", sa.Column("catalog_hash", sa.String(64)))
    op.add_column("connections", sa.Column("checked_at", sa.DateTime(timezone=True)))
    op.add_column("connections", sa.Column("last_check", sa.String(20)))
    op.create_check_constraint(
        "ck_connections_reindex_interval", "connections", "reindex_interval_minutes BETWEEN 5 AND 10080"
    )
    op.create_check_constraint("ck_connections_last_check", "connections", "last_check IN ('unchanged', 'changed')")
    op.add_column("index_jobs", sa.Column("mode", sa.String(10), nullable=False, server_default="full"))
    op.create_check_constraint("ck_index_jobs_mode", "index_jobs", "mode IN ('full', 'check')")


def downgrade() -> None:
    op.drop_constraint("ck_index_jobs_mode", "index_jobs")
    op.drop_column("index_jobs", "mode")
    op.drop_constraint("ck_connections_last_check", "connections")
    op.drop_constraint("ck_connections_reindex_interval", "connections")
    for column in ("last_check", "checked_at", "catalog_hash", "reindex_interval_minutes"):
        op.drop_column("connections", column)
    op.execute("ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE EXTERNAL")
    op.add_column("connections", sa.Column("join_graph", JSONB))
    op.add_column("chunks", sa.Column("name_keywords", sa.Text, nullable=False, server_default=""))
    op.add_column("chunks", sa.Column("keywords", sa.Text, nullable=False, server_default=""))
    op.add_column("chunks", sa.Column("tsv", TSVECTOR, sa.Computed(TSV, persisted=True)))
    op.add_column("chunks", sa.Column("name_words", ARRAY(sa.Text), sa.Computed(NAME_WORDS, persisted=True)))
    op.create_index("ix_chunks_tsv", "chunks", ["tsv"], postgresql_using="gin")
    op.create_index("ix_chunks_name_words", "chunks", ["name_words"], postgresql_using="gin")
    op.create_index(
        "ix_chunks_embedding_hnsw",
        "chunks",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
