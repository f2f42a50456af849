"""Index freshness through the API: a ``check`` sync that stops when the catalog is unchanged and
re-indexes when it changed, the per-connection schedule, and what the connection reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from backend.config import IndexingSettings, Settings
from backend.main import create_app
from tests.conftest import connect, register_and_login, wait_for_sync

SCHEMA = """
CREATE TABLE author (author_id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE book (book_id int PRIMARY KEY, author_id int REFERENCES author, title text);
INSERT INTO author VALUES (1, 'Le Guin');
"""


def _sync(client: TestClient, headers: dict[str, str], cid: str, body: dict[str, Any] | None) -> dict[str, Any]:
    started = client.post(f"/api/connections/{cid}/sync", json=body, headers=headers)
    assert started.status_code == 202, started.text
    status = wait_for_sync(client, headers, cid)
    assert status["job_id"] == started.json()["job_id"] and status["status"] == "succeeded", status
    return status


def _connection(client: TestClient, headers: dict[str, str], cid: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/connections/{cid}", headers=headers).json()
    return body


def test_a_check_stops_when_unchanged_and_reindexes_when_changed(
    client: TestClient, scratch_db: Callable[[str], str]
) -> None:
    url = scratch_db(SCHEMA)
    headers = register_and_login(client)
    cid = connect(client, headers, url)["id"]
    first = _connection(client, headers, cid)
    # The first index has nothing to compare with.
    assert first["last_check"] is None and first["checked_at"] == first["indexed_at"]

    # Rows are data: the check finds the same catalog and leaves the index as it was.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO author VALUES (2, 'Tolkien')")
    unchanged = _sync(client, headers, cid, {"mode": "check"})
    assert unchanged["mode"] == "check" and unchanged["counts"]["catalog_changed"] is False
    assert "embedded" not in unchanged["counts"]  # nothing was introspected or embedded
    after = _connection(client, headers, cid)
    assert after["indexed_at"] == first["indexed_at"] and after["last_check"] == "unchanged"
    assert after["checked_at"] > first["checked_at"]

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE book ADD COLUMN pages int")
    changed = _sync(client, headers, cid, {"mode": "check"})
    assert changed["counts"]["catalog_changed"] is True and changed["counts"]["embedded"] >= 1
    now = _connection(client, headers, cid)
    assert now["last_check"] == "changed" and now["indexed_at"] > after["indexed_at"]
    schema = client.get(f"/api/connections/{cid}/schema", headers=headers).json()
    book = next(o for o in schema["objects"] if o["name"] == "book")
    assert "pages" in [c["name"] for c in book["columns"]]

    # A full sync (no body, as before) always re-reads; it still reports the comparison.
    full = _sync(client, headers, cid, None)
    assert full["mode"] == "full" and full["counts"]["catalog_changed"] is False
    assert full["counts"]["reused"] == full["counts"]["chunks"]


def test_the_schedule_is_validated_owned_and_audited(client: TestClient, scratch_db: Callable[[str], str]) -> None:
    url = scratch_db(SCHEMA)
    headers = register_and_login(client)
    cid = connect(client, headers, url)["id"]
    for bad in ({"reindex_interval_minutes": 4}, {"reindex_interval_minutes": 10081}, {"interval": 60}, {}):
        response = client.patch(f"/api/connections/{cid}", json=bad, headers=headers)
        assert response.status_code == 422, (bad, response.text)
    assert _connection(client, headers, cid)["reindex_interval_minutes"] is None

    other = register_and_login(client)
    refused = client.patch(f"/api/connections/{cid}", json={"reindex_interval_minutes": 60}, headers=other)
    assert refused.status_code == 404
    assert _connection(client, headers, cid)["reindex_interval_minutes"] is None

    ok = client.patch(f"/api/connections/{cid}", json={"reindex_interval_minutes": 60}, headers=headers)
    assert ok.status_code == 200 and ok.json()["reindex_interval_minutes"] == 60
    off = client.patch(f"/api/connections/{cid}", json={"reindex_interval_minutes": None}, headers=headers)
    assert off.json()["reindex_interval_minutes"] is None
    bad_mode = client.post(f"/api/connections/{cid}/sync", json={"mode": "sometimes"}, headers=headers)
    assert bad_mode.status_code == 422

    created = client.post(
        "/api/connections",
        json={"name": "scheduled", "kind": "postgres", "url": url, "reindex_interval_minutes": 1440},
        headers=headers,
    )
    assert created.status_code == 201 and created.json()["reindex_interval_minutes"] == 1440
    wait_for_sync(client, headers, created.json()["id"])


def test_due_connections_get_a_check_once(client: TestClient, scratch_db: Callable[[str], str], store_dsn: str) -> None:
    url = scratch_db(SCHEMA)
    headers = register_and_login(client)
    scheduled = connect(client, headers, url)["id"]
    unscheduled = connect(client, headers, url)["id"]
    recent = connect(client, headers, url)["id"]
    for cid in (scheduled, recent):
        client.patch(f"/api/connections/{cid}", json={"reindex_interval_minutes": 30}, headers=headers)
    # An hour passes for two of them (their jobs and creation are moved back); ``recent`` was just indexed.
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        for cid in (scheduled, unscheduled):
            conn.execute(
                "UPDATE index_jobs SET created_at = created_at - interval '1 hour' WHERE connection_id = %s", (cid,)
            )
            conn.execute("UPDATE connections SET created_at = created_at - interval '1 hour' WHERE id = %s", (cid,))
    runner = client.app.state.context.runner  # type: ignore[attr-defined]
    assert client.portal.call(runner.start_due_checks) == 1  # type: ignore[union-attr]
    status = wait_for_sync(client, headers, scheduled)
    assert status["mode"] == "check" and status["status"] == "succeeded"
    assert status["counts"]["catalog_changed"] is False
    assert _connection(client, headers, scheduled)["last_check"] == "unchanged"
    # The check it just ran is the newest job: nothing is due until another interval passes.
    assert client.portal.call(runner.start_due_checks) == 0  # type: ignore[union-attr]
    for cid in (unscheduled, recent):
        assert wait_for_sync(client, headers, cid)["mode"] == "full"  # still their first index


def test_a_failing_scheduled_check_is_retried_once_per_interval(
    client: TestClient, scratch_db: Callable[[str], str], store_dsn: str
) -> None:
    url = scratch_db(SCHEMA)
    headers = register_and_login(client)
    cid = connect(client, headers, url)["id"]
    client.patch(f"/api/connections/{cid}", json={"reindex_interval_minutes": 5}, headers=headers)
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE index_jobs SET created_at = %s WHERE connection_id = %s",
            (datetime.now(UTC) - timedelta(minutes=6), cid),
        )
        conn.execute("UPDATE connections SET created_at = created_at - interval '1 hour' WHERE id = %s", (cid,))
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,))
    try:
        runner = client.app.state.context.runner  # type: ignore[attr-defined]
        assert client.portal.call(runner.start_due_checks) == 1  # type: ignore[union-attr]
        failed = wait_for_sync(client, headers, cid)
        assert failed["mode"] == "check" and failed["status"] == "failed"
        assert client.portal.call(runner.start_due_checks) == 0  # type: ignore[union-attr]
        # The index it had is still served.
        assert _connection(client, headers, cid)["indexed_at"] is not None
        found = client.post(f"/api/connections/{cid}/search", json={"query": "books"}, headers=headers)
        assert found.status_code == 200 and found.json()["results"]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')


def test_new_chunk_settings_make_a_check_reindex(
    client: TestClient, scratch_db: Callable[[str], str], settings_factory: Callable[..., Settings]
) -> None:
    url = scratch_db(SCHEMA)
    headers = register_and_login(client)
    cid = connect(client, headers, url)["id"]
    assert _sync(client, headers, cid, {"mode": "check"})["counts"]["catalog_changed"] is False
    # The same store and key, a backend configured to read more sample rows: the index it
    # would build differs, so the check rebuilds it although the catalog is the same.
    changed = settings_factory(indexing=IndexingSettings(job_sweep_interval_s=3600, index_sample_rows=5))
    with TestClient(create_app(changed)) as other:
        status = _sync(other, headers, cid, {"mode": "check"})
    assert status["counts"]["catalog_changed"] is True and "embedded" in status["counts"]
