"""History records how a query came to be (asked, edited from an answer, or typed) and the chart
the person chose for the answer, so that a reopened answer shows the same chart.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("query_history", sa.Column("origin", sa.String(10), nullable=False, server_default="asked"))
    op.add_column("query_history", sa.Column("chart", JSONB))


def downgrade() -> None:
    op.drop_column("query_history", "chart")
    op.drop_column("query_history", "origin")
