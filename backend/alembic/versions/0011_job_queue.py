"""Indexing jobs become a queue in the store: a job is claimed by one worker (``worker``), holds
a lease renewed by ``heartbeat_at``, counts its ``attempts`` and waits for ``run_after`` before a
retry. At most one pending or running job per connection, enforced by a unique partial index.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('pending', 'running')"


def upgrade() -> None:
    op.add_column("index_jobs", sa.Column("worker", sa.String(200)))
    op.add_column("index_jobs", sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
    op.add_column(
        "index_jobs",
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    # Older releases could leave two active jobs of one connection behind (a race, or a crash);
    # the newest stays, the others end so that the unique index below can be built.
    op.execute(
        f"""
        UPDATE index_jobs SET status = 'failed', finished_at = now(),
               error = 'Interrupted: replaced by a newer job of the connection'
         WHERE {ACTIVE}
           AND id NOT IN (SELECT DISTINCT ON (connection_id) id FROM index_jobs
                           WHERE {ACTIVE} ORDER BY connection_id, created_at DESC, id)
        """
    )
    op.create_index(
        "ix_index_jobs_one_active",
        "index_jobs",
        ["connection_id"],
        unique=True,
        postgresql_where=sa.text(ACTIVE),
    )
    op.create_index(
        "ix_index_jobs_queue", "index_jobs", ["run_after", "created_at"], postgresql_where=sa.text("status = 'pending'")
    )


def downgrade() -> None:
    op.drop_index("ix_index_jobs_queue", table_name="index_jobs")
    op.drop_index("ix_index_jobs_one_active", table_name="index_jobs")
    op.drop_column("index_jobs", "run_after")
    op.drop_column("index_jobs", "attempts")
    op.drop_column("index_jobs", "worker")
