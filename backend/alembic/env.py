"""Alembic environment: the URL comes from ``config.attributes['url']`` (never from a file)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from backend.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.attributes["url"]
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
