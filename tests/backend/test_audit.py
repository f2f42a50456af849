"""The audit trail: logins, sign-ups, connections and every query, append-only in the database."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import connect, register_and_login
from tests.fake_ollama import OllamaScript


@pytest.fixture
def admin(client: TestClient, store_dsn: str) -> dict[str, str]:
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE users CASCADE")
    return register_and_login(client, email="auditor@example.com")


def _events(client: TestClient, admin: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/audit", params=params, headers=admin)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_logins_and_sign_ups_are_recorded_with_the_client_address(client: TestClient, admin: dict[str, str]) -> None:
    client.post("/api/auth/login", json={"email": "auditor@example.com", "password": "wrong-password"})
    failed = _events(client, admin, action="login", success=False)
    assert failed[0]["actor_email"] == "auditor@example.com" and failed[0]["client_ip"] == "testclient"
    assert failed[0]["details"] == {"reason": "wrong password"}
    assert _events(client, admin, action="login", success=True)[0]["actor_email"] == "auditor@example.com"
    assert _events(client, admin, action="signup")[0]["details"] == {"role": "admin"}


def test_queries_are_recorded_with_their_sql_and_refusals_with_the_reason(
    client: TestClient, admin: dict[str, str], sakila_url: str, ollama: OllamaScript
) -> None:
    cid = connect(client, admin, sakila_url, name="sakila")["id"]
    assert _events(client, admin, action="connection_create")[0]["target"] == f"connection:{cid}"
    ollama.reply_sql("SELECT count(*) AS films FROM film")
    client.post("/api/query", json={"connection_id": cid, "question": "how many films?"}, headers=admin)
    # Other tests share the store: only this connection's events are this test's.
    (query,) = [e for e in _events(client, admin, action="query") if e["target"] == f"connection:{cid}"]
    assert query["details"]["query"] == "SELECT COUNT(*) AS films FROM public.film"
    assert query["details"]["row_count"] == 1 and query["details"]["duration_ms"] > 0 and query["success"] is True
    ollama.reply_sql("DELETE FROM film", "DROP TABLE film")
    client.post("/api/query", json={"connection_id": cid, "question": "delete"}, headers=admin)
    # One refused question is one entry, with each attempt's query and reason.
    (refused,) = [e for e in _events(client, admin, action="query_refused") if e["target"] == f"connection:{cid}"]
    assert refused["success"] is False and "Only SELECT" in refused["details"]["error"]
    assert [a["query"] for a in refused["details"]["attempts"]] == ["DELETE FROM film", "DROP TABLE film"]
    assert all(a["error"] for a in refused["details"]["attempts"])
    # A refusal then a repair that runs: the refusal is kept once, the run on its own.
    ollama.reply_sql("SELECT nope FROM film", "SELECT count(*) AS n FROM film")
    client.post("/api/query", json={"connection_id": cid, "question": "count"}, headers=admin)
    mine = [e for e in _events(client, admin) if e["target"] == f"connection:{cid}"]
    assert [e["action"] for e in mine[:2]] == ["query_refused", "query"]
    assert 'Column "nope"' in mine[0]["details"]["error"]
    # Events name the connection, also after it is deleted.
    assert {e["target_name"] for e in mine} == {"sakila"}
    # Reproduction (review): a failed create named after another connection's id does not make
    # the trail name that connection.
    spoof = client.post(
        "/api/connections",
        json={"name": f"connection:{cid}", "kind": "postgres", "url": "postgresql://postgres@127.0.0.1:1/x"},
        headers=admin,
    )
    assert spoof.status_code == 400
    failed = _events(client, admin, action="connection_create", success=False)[0]
    assert failed["target"] is None and failed["target_name"] is None
    assert failed["details"]["name"] == f"connection:{cid}"
    client.delete(f"/api/connections/{cid}", headers=admin)
    deleted = _events(client, admin, action="connection_delete")[0]
    assert deleted["target"] == f"connection:{cid}" and deleted["target_name"] == "sakila (deleted)"


def test_filters_and_paging(client: TestClient, admin: dict[str, str]) -> None:
    for _ in range(3):
        client.post("/api/auth/login", json={"email": "auditor@example.com", "password": "nope-nope"})
    page = client.get("/api/audit", params={"action": "login", "limit": 2, "offset": 1}, headers=admin).json()
    assert page["total"] >= 4 and len(page["items"]) == 2 and page["offset"] == 1
    ids = [e["id"] for e in page["items"]]
    assert ids == sorted(ids, reverse=True)
    assert client.get("/api/audit", params={"limit": 0}, headers=admin).status_code == 422


def test_the_database_refuses_to_change_audit_rows(client: TestClient, admin: dict[str, str], store_dsn: str) -> None:
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        count = conn.execute("SELECT count(*) FROM audit_events").fetchone()
        for statement in (
            "UPDATE audit_events SET action = 'nothing happened'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM audit_events").fetchone() == count
