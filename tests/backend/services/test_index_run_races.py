"""Adversarial checks of an index run against the store it writes to (issue 17 item 1 review):
the store drops the run's connection at the final swap (a failover, a restart), and the owner
changes a note while a re-index is between reading the notes and swapping its chunks in."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from backend.config import IndexingSettings, Settings
from backend.main import create_app
from tests.conftest import connect, register_and_login, wait_for_sync

SCHEMA = """
CREATE TABLE authors (author_id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE books (book_id int PRIMARY KEY, author_id int REFERENCES authors, title text);
"""
NOTE = "Authors are the writers of the books; zanzibar marks the founding members."


def _waiting_on_a_lock(store_dsn: str, like: str, timeout: float = 60) -> list[int]:
    """The pids of the store's sessions blocked on a lock whose query matches ``like``."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        while True:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s", (like,)
            ).fetchall()
            if rows:
                return [int(r[0]) for r in rows]
            assert time.monotonic() < deadline, f"nothing waits on a lock with a query like {like!r}"
            time.sleep(0.05)


def test_a_store_connection_lost_at_the_swap_retries_the_job_instead_of_failing_it(
    settings_factory: Callable[..., Settings], scratch_db: Callable[[str], str], store_dsn: str
) -> None:
    """The store kills the session of the run's final transaction (what a failover or a restart
    of the store does to every open connection). Attempts remain: the job must run again, not
    fail for good with "Internal error: OperationalError"."""
    url = scratch_db(SCHEMA)
    retrying = IndexingSettings(job_sweep_interval_s=3600, job_max_attempts=3, job_retry_backoff_s=0)
    with TestClient(create_app(settings_factory(indexing=retrying.model_copy(update={"worker_enabled": False})))) as f:
        headers = register_and_login(f, email=f"swap-{uuid.uuid4().hex[:6]}@example.com")
        created = f.post(
            "/api/connections", json={"name": "swap", "kind": "postgres", "url": url}, headers=headers
        )  # its job waits: this backend has no worker
        assert created.status_code == 201, created.text
        cid = created.json()["id"]
    with psycopg.connect(store_dsn) as blocker:
        # Hold the connection's row: the run's swap waits for it, inside its transaction.
        blocker.execute("SELECT 1 FROM connections WHERE id = %s FOR UPDATE", (cid,))
        with TestClient(create_app(settings_factory(indexing=retrying))) as client:
            [pid] = _waiting_on_a_lock(store_dsn, "%FROM connections WHERE id%FOR UPDATE%")
            with psycopg.connect(store_dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            blocker.rollback()
            status = wait_for_sync(client, headers, cid, timeout=60)
    assert status["status"] == "succeeded", status
    with psycopg.connect(store_dsn) as conn:
        row = conn.execute("SELECT attempts FROM index_jobs WHERE connection_id = %s", (cid,)).fetchone()
    assert row == (2,)


def test_a_note_written_while_a_reindex_runs_stays_in_the_chunks(
    client: TestClient, scratch_db: Callable[[str], str], store_dsn: str
) -> None:
    """The re-index read the notes, then the owner adds one (its object's chunks get the note at
    once), then the re-index swaps in the chunks it built without it: the note's words must not
    vanish from search until the next re-index."""
    headers = register_and_login(client)
    cid = connect(client, headers, scratch_db(SCHEMA))["id"]
    put: dict[str, Any] = {}
    with psycopg.connect(store_dsn) as blocker:
        # Stops both the re-index's read of known embeddings (after it read the notes) and the
        # note's re-chunking (which holds the connection's row lock meanwhile).
        blocker.execute("LOCK TABLE chunks IN ACCESS EXCLUSIVE MODE")
        assert client.post(f"/api/connections/{cid}/sync", headers=headers).status_code == 202
        _waiting_on_a_lock(store_dsn, "SELECT content_hash, embedding::text FROM chunks%")

        def write_note() -> None:
            put["response"] = client.put(
                f"/api/connections/{cid}/notes",
                json={"object_name": "public.authors", "column_name": "", "text": NOTE},
                headers=headers,
            )

        writer = threading.Thread(target=write_note)
        writer.start()
        deadline = time.monotonic() + 30
        while len(_waiting_on_a_lock(store_dsn, "SELECT content_hash, embedding::text FROM chunks%")) < 2:
            assert time.monotonic() < deadline, "the note's re-chunking did not start"
            time.sleep(0.05)
        blocker.rollback()
        writer.join(timeout=60)
    assert put["response"].status_code == 200, put["response"].text
    assert wait_for_sync(client, headers, cid)["status"] == "succeeded"
    with psycopg.connect(store_dsn) as conn:
        texts = [
            r[0]
            for r in conn.execute(
                "SELECT text FROM chunks WHERE connection_id = %s AND object_name = 'public.authors'", (cid,)
            )
        ]
    assert texts and any("zanzibar" in t for t in texts), texts


def _reindex_blocked_at_the_swap(
    client: TestClient, headers: dict[str, str], cid: str, store_dsn: str, blocker: psycopg.Connection[Any]
) -> None:
    """Start a re-index of ``cid`` and return when its final transaction waits for the
    connection's row, which ``blocker`` holds."""
    with psycopg.connect(store_dsn) as chunks_lock:
        # Stops the run before the swap (at its read of known embeddings) until the row is held.
        chunks_lock.execute("LOCK TABLE chunks IN ACCESS EXCLUSIVE MODE")
        assert client.post(f"/api/connections/{cid}/sync", headers=headers).status_code == 202
        _waiting_on_a_lock(store_dsn, "SELECT content_hash, embedding::text FROM chunks%")
        blocker.execute("SELECT 1 FROM connections WHERE id = %s FOR UPDATE", (cid,))
    _waiting_on_a_lock(store_dsn, "%FROM connections WHERE id%FOR UPDATE%")


def test_a_run_whose_lease_was_taken_back_during_its_swap_changes_nothing(
    settings_factory: Callable[..., Settings], scratch_db: Callable[[str], str], store_dsn: str
) -> None:
    """The fence in the final transaction: the run waits at the swap, a reaper takes its lease
    back meanwhile; when the run goes on, its swap must roll back (index, connection, job)."""
    url = scratch_db(SCHEMA)
    slow_retry = IndexingSettings(job_sweep_interval_s=3600, job_max_attempts=3, job_retry_backoff_s=3600)
    with TestClient(create_app(settings_factory(indexing=slow_retry))) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, url)["id"]
        with psycopg.connect(url, autocommit=True) as user_db:
            user_db.execute("CREATE TABLE reviews (review_id int PRIMARY KEY, body text)")
        with psycopg.connect(store_dsn) as conn:
            before = conn.execute(
                "SELECT indexed_at, (SELECT count(*) FROM chunks WHERE connection_id = c.id) FROM connections c"
                " WHERE id = %s",
                (cid,),
            ).fetchone()
        with psycopg.connect(store_dsn) as blocker:
            _reindex_blocked_at_the_swap(client, headers, cid, store_dsn, blocker)
            with psycopg.connect(store_dsn, autocommit=True) as reaper:  # what JobQueue.reap does
                reaped = reaper.execute(
                    "UPDATE index_jobs SET status = 'pending', worker = NULL, run_after = now() + interval '1 hour'"
                    " WHERE connection_id = %s AND status = 'running' RETURNING id",
                    (cid,),
                ).fetchall()
            assert len(reaped) == 1
            blocker.rollback()
        time.sleep(1.5)  # the run finishes its swap, or fails to
        with psycopg.connect(store_dsn, autocommit=True) as conn:
            after = conn.execute(
                "SELECT indexed_at, (SELECT count(*) FROM chunks WHERE connection_id = c.id) FROM connections c"
                " WHERE id = %s",
                (cid,),
            ).fetchone()
            job = conn.execute("SELECT status, attempts, worker FROM index_jobs WHERE id = %s", reaped[0]).fetchone()
            conn.execute("UPDATE index_jobs SET status = 'failed' WHERE id = %s", reaped[0])  # nothing left queued
    assert after == before
    assert job == ("pending", 1, None)


def test_a_connection_deleted_while_its_run_waits_at_the_swap_ends_the_run_quietly(
    client: TestClient, scratch_db: Callable[[str], str], store_dsn: str
) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, scratch_db(SCHEMA))["id"]
    with psycopg.connect(store_dsn) as blocker:
        _reindex_blocked_at_the_swap(client, headers, cid, store_dsn, blocker)
        blocker.execute("DELETE FROM connections WHERE id = %s", (cid,))
        blocker.commit()
    with psycopg.connect(store_dsn) as conn:
        for _ in range(100):
            left = conn.execute(
                "SELECT (SELECT count(*) FROM chunks WHERE connection_id = %s),"
                " (SELECT count(*) FROM index_jobs WHERE connection_id = %s)",
                (cid, cid),
            ).fetchone()
            conn.rollback()
            if left == (0, 0):
                break
            time.sleep(0.05)
    assert left == (0, 0)
    # The worker goes on: the next connection indexes.
    assert connect(client, headers, scratch_db(SCHEMA))["id"]


def test_a_backend_shut_down_mid_run_gives_its_job_back(
    settings_factory: Callable[..., Settings], scratch_db: Callable[[str], str], store_dsn: str
) -> None:
    """Graceful shutdown (the lifespan's end) while a run waits on the store: the job is queued
    again at once for another worker, not failed and not left running."""
    url = scratch_db(SCHEMA)
    retrying = IndexingSettings(job_sweep_interval_s=3600, job_max_attempts=3, job_retry_backoff_s=0)
    with psycopg.connect(store_dsn) as chunks_lock:
        with TestClient(create_app(settings_factory(indexing=retrying))) as client:
            headers = register_and_login(client)
            chunks_lock.execute("LOCK TABLE chunks IN ACCESS EXCLUSIVE MODE")
            created = client.post(
                "/api/connections", json={"name": "bye", "kind": "postgres", "url": url}, headers=headers
            )
            assert created.status_code == 201, created.text
            _waiting_on_a_lock(store_dsn, "SELECT content_hash, embedding::text FROM chunks%")
        chunks_lock.rollback()
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        job = conn.execute(
            "SELECT status, attempts, worker, error, run_after <= now() FROM index_jobs WHERE connection_id = %s",
            (created.json()["id"],),
        ).fetchone()
        conn.execute("UPDATE index_jobs SET status = 'failed' WHERE connection_id = %s", (created.json()["id"],))
    assert job == ("pending", 1, None, "Retrying after: Interrupted: the worker shut down while indexing", True)
