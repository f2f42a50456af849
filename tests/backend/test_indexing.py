"""Indexing jobs through the API: progress, idempotent re-index, partial re-embedding, failures."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from psycopg import sql

from backend.config import EmbeddingSettings, IndexingSettings, Settings
from backend.main import create_app
from tests.conftest import USER_PG_ADMIN, connect, free_port, register_and_login, wait_for_sync

SMALL_SCHEMA = """
CREATE TABLE authors (author_id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE books (book_id int PRIMARY KEY, author_id int REFERENCES authors, title text);
CREATE TABLE shelves (shelf_id int PRIMARY KEY, label text);
INSERT INTO authors VALUES (1, 'Ursula K. Le Guin');
INSERT INTO books VALUES (1, 1, 'The Dispossessed');
"""


def _sync(client: TestClient, headers: dict[str, str], cid: str) -> dict[str, Any]:
    started = client.post(f"/api/connections/{cid}/sync", headers=headers)
    assert started.status_code == 202
    status = wait_for_sync(client, headers, cid)
    assert status["job_id"] == started.json()["job_id"]
    return status


def _chunks(store_dsn: str, cid: str) -> list[tuple[str, int, str]]:
    with psycopg.connect(store_dsn) as conn:
        rows = conn.execute(
            "SELECT object_name, part, content_hash FROM chunks WHERE connection_id = %s ORDER BY 1, 2", (cid,)
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def test_progress_moves_to_done_and_counts_are_reported(client: TestClient, sakila_url: str) -> None:
    headers = register_and_login(client)
    created = client.post(
        "/api/connections", json={"name": "sakila", "kind": "postgres", "url": sakila_url}, headers=headers
    ).json()
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = client.get(f"/api/connections/{created['id']}/sync", headers=headers).json()
        seen.append(body)
        if body["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.02)
    final = seen[-1]
    assert final["status"] == "succeeded", final
    assert final["progress"]["done"] == final["progress"]["total"] > 0
    # Sakila: 21 tables, of which the 6 payment_p2007_* children fold into payment, and 7 views.
    assert final["counts"]["objects"] == 22
    assert final["counts"]["table"] == 15 and final["counts"]["view"] == 7
    assert final["counts"]["chunks"] == final["counts"]["embedded"] + final["counts"]["reused"]
    assert final["started_at"] and final["finished_at"] and final["error"] is None
    dones = [s["progress"]["done"] for s in seen]
    assert dones == sorted(dones), "progress went backwards"


def test_reindex_is_idempotent_and_reuses_embeddings(client: TestClient, sakila_url: str, store_dsn: str) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    before = _chunks(store_dsn, cid)
    status = _sync(client, headers, cid)
    assert status["status"] == "succeeded"
    assert status["counts"]["embedded"] == 0
    assert status["counts"]["reused"] == len(before)
    assert _chunks(store_dsn, cid) == before


def test_changed_schema_reembeds_only_what_changed(
    client: TestClient, scratch_db: Callable[[str], str], store_dsn: str
) -> None:
    url = scratch_db(SMALL_SCHEMA)
    headers = register_and_login(client)
    cid = connect(client, headers, url)["id"]
    before = dict(((o, p), h) for o, p, h in _chunks(store_dsn, cid))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE shelves ADD COLUMN room text")
    status = _sync(client, headers, cid)
    assert status["counts"]["embedded"] == 1
    after = dict(((o, p), h) for o, p, h in _chunks(store_dsn, cid))
    changed = {key for key in after if after[key] != before.get(key)}
    assert changed == {("public.shelves", 0)}
    schema = client.get(f"/api/connections/{cid}/schema", headers=headers).json()
    shelves = next(o for o in schema["objects"] if o["name"] == "shelves")
    assert [c["name"] for c in shelves["columns"]] == ["shelf_id", "label", "room"]


def test_failed_reindex_keeps_the_previous_index(
    client: TestClient, scratch_db: Callable[[str], str], store_dsn: str
) -> None:
    url = scratch_db(SMALL_SCHEMA)
    headers = register_and_login(client)
    cid = connect(client, headers, url)["id"]
    before = _chunks(store_dsn, cid)
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
    status = _sync(client, headers, cid)
    assert status["status"] == "failed"
    assert "does not exist" in status["error"]
    assert _chunks(store_dsn, cid) == before
    hits = client.post(f"/api/connections/{cid}/search", json={"query": "books by author"}, headers=headers)
    assert hits.status_code == 200
    assert "public.books" in {r["object"] for r in hits.json()["results"]}
    assert client.get(f"/api/connections/{cid}", headers=headers).json()["status"] == "failed"


def test_unreachable_embedding_service_fails_the_job_with_a_reason(
    settings_factory: Callable[..., Settings], scratch_db: Callable[[str], str]
) -> None:
    url = scratch_db(SMALL_SCHEMA)
    settings = settings_factory(embedding=EmbeddingSettings(embedding_url=f"http://127.0.0.1:{free_port()}"))
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client)
        created = client.post(
            "/api/connections", json={"name": "x", "kind": "postgres", "url": url}, headers=headers
        ).json()
        status = wait_for_sync(client, headers, created["id"])
        assert status["status"] == "failed"
        assert "embedding service is unreachable" in status["error"]
        health = client.get("/health").json()
        assert health["status"] == "degraded" and health["components"]["embedding"] == "unavailable"
        search = client.post(f"/api/connections/{created['id']}/search", json={"query": "books"}, headers=headers)
        assert search.status_code == 409


def _crashed_job(store_dsn: str, cid: str, attempts: int) -> uuid.UUID:
    """What a crash leaves behind: a job still "running" under a worker that stopped beating."""
    job_id = uuid.uuid4()
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO index_jobs (id, connection_id, status, created_at, started_at, heartbeat_at, worker, attempts)"
            " VALUES (%s, %s, 'running', now(), now() - interval '1 hour', now() - interval '1 hour', 'gone:1', %s)",
            (job_id, cid, attempts),
        )
    return job_id


def _indexed(settings: Settings, url: str) -> tuple[dict[str, str], str]:
    """A connection indexed by a backend that has stopped since: ``(headers, connection id)``."""
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client, email=f"restart-{uuid.uuid4().hex[:6]}@example.com")
        return headers, connect(client, headers, url)["id"]


def test_a_job_cut_off_by_a_restart_runs_again_from_a_clean_state(
    settings_factory: Callable[..., Settings], scratch_db: Callable[[str], str], store_dsn: str
) -> None:
    settings = settings_factory(indexing=IndexingSettings(job_max_attempts=3, job_retry_backoff_s=0))
    headers, cid = _indexed(settings, scratch_db(SMALL_SCHEMA))
    job_id = _crashed_job(store_dsn, cid, attempts=1)
    with TestClient(create_app(settings)) as client:
        status = wait_for_sync(client, headers, cid)
    assert status["job_id"] == str(job_id) and status["status"] == "succeeded", status
    assert status["progress"]["done"] == status["progress"]["total"] > 0
    with psycopg.connect(store_dsn) as conn:
        row = conn.execute("SELECT attempts, worker, error FROM index_jobs WHERE id = %s", (job_id,)).fetchone()
    assert row is not None and row[0] == 2 and row[1] != "gone:1" and row[2] is None


def test_a_job_whose_attempts_are_used_up_fails_saying_why(
    settings_factory: Callable[..., Settings], scratch_db: Callable[[str], str], store_dsn: str
) -> None:
    settings = settings_factory(indexing=IndexingSettings(job_max_attempts=3, job_retry_backoff_s=0))
    headers, cid = _indexed(settings, scratch_db(SMALL_SCHEMA))
    _crashed_job(store_dsn, cid, attempts=3)
    with TestClient(create_app(settings)) as client:
        status = client.get(f"/api/connections/{cid}/sync", headers=headers).json()
    assert status["status"] == "failed"
    assert status["error"] == "Interrupted: the worker running this job stopped (3 time(s))"


async def test_concurrent_sync_requests_share_one_job(client: TestClient, sakila_url: str) -> None:
    headers = register_and_login(client)
    cid = uuid.UUID(connect(client, headers, sakila_url)["id"])
    runner = client.app.state.context.runner  # type: ignore[attr-defined]
    first = client.portal.call(runner.start_job, cid)  # type: ignore[union-attr]
    second = client.portal.call(runner.start_job, cid)  # type: ignore[union-attr]
    assert first[1] is True and second == (first[0], False)
    status = wait_for_sync(client, headers, str(cid))
    assert status["status"] == "succeeded" and status["job_id"] == str(first[0])
