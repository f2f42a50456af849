"""History keeps each answer's evidence: columns, the first rows, truncation, whether the query
ran and the error code, so that a reopened conversation shows what was first shown.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("query_history", sa.Column("columns", JSONB, nullable=False, server_default="[]"))
    op.add_column("query_history", sa.Column("rows", JSONB, nullable=False, server_default="[]"))
    op.add_column("query_history", sa.Column("truncated", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("query_history", sa.Column("truncation", sa.Text))
    op.add_column("query_history", sa.Column("executed", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("query_history", sa.Column("error_code", sa.String(30)))
    # Entries from before this revision: a row count means the query ran.
    op.execute("UPDATE query_history SET executed = true WHERE row_count IS NOT NULL")


def downgrade() -> None:
    for column in ("error_code", "executed", "truncation", "truncated", "rows", "columns"):
        op.drop_column("query_history", column)
