"""Feedback on an answer: its owner rates it thumbs up or down (with an optional comment), the
rating comes back with the history entry, nobody else can see or change it, every change is an
audit event, and admins see counts per connection (never the comments)."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import connect, register_and_login
from tests.fake_ollama import OllamaScript

FILMS = "SELECT title FROM film ORDER BY title LIMIT 3"


@pytest.fixture
def team(client: TestClient, store_dsn: str) -> dict[str, dict[str, str]]:
    """A fresh store of users: the first one registered is the admin."""
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE users CASCADE")
    admin = register_and_login(client, email=f"admin-{uuid.uuid4().hex[:6]}@example.com")
    user = register_and_login(client, email=f"user-{uuid.uuid4().hex[:6]}@example.com")
    other = register_and_login(client, email=f"other-{uuid.uuid4().hex[:6]}@example.com")
    return {"admin": admin, "user": user, "other": other}


def _ask(client: TestClient, headers: dict[str, str], cid: str, ollama: OllamaScript) -> dict[str, Any]:
    ollama.reply_sql(FILMS)
    answer = client.post("/api/query", json={"connection_id": cid, "question": "Three films?"}, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["history_id"]
    return body


def _stored(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    listed = client.get(f"/api/history?conversation_id={body['conversation_id']}", headers=headers).json()
    (item,) = listed["items"]
    light = client.get(f"/api/history?conversation_id={body['conversation_id']}&rows=false", headers=headers).json()
    fields = ("feedback_rating", "feedback_comment", "feedback_at")
    assert {f: light["items"][0][f] for f in fields} == {f: item[f] for f in fields}
    return {f: item[f] for f in fields}


def _feedback_events(client: TestClient, admin: dict[str, str], history_id: str) -> list[dict[str, Any]]:
    """This answer's feedback events, newest first (the trail is append-only and outlives tests)."""
    page = client.get("/api/audit", params={"action": "feedback", "limit": 500}, headers=admin)
    assert page.status_code == 200, page.text
    return [e for e in page.json()["items"] if e["details"].get("history_id") == history_id]


def test_round_trip_and_clear(
    client: TestClient, team: dict[str, dict[str, str]], sakila_url: str, ollama: OllamaScript
) -> None:
    user = team["user"]
    body = _ask(client, user, connect(client, user, sakila_url)["id"], ollama)
    assert _stored(client, user, body) == {"feedback_rating": None, "feedback_comment": None, "feedback_at": None}
    url = f"/api/history/{body['history_id']}/feedback"
    response = client.put(url, json={"rating": "down", "comment": "  Counted rentals, not films.  "}, headers=user)
    assert response.status_code == 200, response.text
    assert response.json()["rating"] == "down" and response.json()["comment"] == "Counted rentals, not films."
    stored = _stored(client, user, body)
    assert stored["feedback_rating"] == "down" and stored["feedback_comment"] == "Counted rentals, not films."
    assert stored["feedback_at"]
    # A new rating replaces the old one, comment and all.
    assert client.put(url, json={"rating": "up"}, headers=user).status_code == 200
    stored = _stored(client, user, body)
    assert stored["feedback_rating"] == "up" and stored["feedback_comment"] is None
    cleared = client.delete(url, headers=user)
    assert cleared.status_code == 204
    assert _stored(client, user, body) == {"feedback_rating": None, "feedback_comment": None, "feedback_at": None}
    # Each change is in the audit trail, with the rating but not the comment's text.
    events = _feedback_events(client, team["admin"], body["history_id"])
    assert [e["details"]["rating"] for e in events] == [None, "up", "down"]
    assert all(e["details"]["history_id"] == body["history_id"] for e in events)
    assert events[2]["details"]["comment"] is True and "Counted" not in str(events[2]["details"])
    assert all(e["target"] == f"connection:{body['connection_id']}" for e in events if "connection_id" in body)


def test_validation(client: TestClient, team: dict[str, dict[str, str]], sakila_url: str, ollama: OllamaScript) -> None:
    user = team["user"]
    body = _ask(client, user, connect(client, user, sakila_url)["id"], ollama)
    url = f"/api/history/{body['history_id']}/feedback"
    refused: list[Any] = [
        {"rating": "meh"},
        {"rating": "UP"},
        {"rating": None},
        {"comment": "no rating"},
        {"rating": "down", "comment": "x" * 2001},
        {"rating": "down", "comment": "nul \x00 byte"},
    ]
    for payload in refused:
        response = client.put(url, json=payload, headers=user)
        assert response.status_code == 422, (payload, response.text)
    assert _stored(client, user, body)["feedback_rating"] is None
    # The longest comment allowed is let through.
    assert client.put(url, json={"rating": "down", "comment": "x" * 2000}, headers=user).status_code == 200
    assert _feedback_events(client, team["admin"], body["history_id"])[0]["details"]["rating"] == "down"
    assert len(_feedback_events(client, team["admin"], body["history_id"])) == 1


def test_only_the_owner(
    client: TestClient, team: dict[str, dict[str, str]], sakila_url: str, ollama: OllamaScript
) -> None:
    user, other = team["user"], team["other"]
    body = _ask(client, user, connect(client, user, sakila_url)["id"], ollama)
    url = f"/api/history/{body['history_id']}/feedback"
    assert client.put(url, json={"rating": "up"}, headers=other).status_code == 404
    assert client.delete(url, headers=other).status_code == 404
    assert client.put(url, json={"rating": "up"}, headers=team["admin"]).status_code == 404
    missing = f"/api/history/{uuid.uuid4()}/feedback"
    assert client.put(missing, json={"rating": "up"}, headers=user).status_code == 404
    assert client.put(url, json={"rating": "up"}).status_code == 401
    assert client.delete(url).status_code == 401
    assert _stored(client, user, body)["feedback_rating"] is None
    assert _feedback_events(client, team["admin"], body["history_id"]) == []


def test_admins_see_counts_per_connection(
    client: TestClient, team: dict[str, dict[str, str]], sakila_url: str, ollama: OllamaScript
) -> None:
    user, other, admin = team["user"], team["other"], team["admin"]
    first = connect(client, user, sakila_url, name="Sakila one")["id"]
    second = connect(client, other, sakila_url, name="Sakila two")["id"]
    ratings = [(user, first, "up"), (user, first, "up"), (user, first, "down"), (other, second, "down")]
    for headers, cid, rating in ratings:
        body = _ask(client, headers, cid, ollama)
        put = client.put(
            f"/api/history/{body['history_id']}/feedback", json={"rating": rating, "comment": "secret"}, headers=headers
        )
        assert put.status_code == 200
    _ask(client, user, first, ollama)  # an answer without feedback counts for neither
    listed = client.get("/api/admin/connections", headers=admin)
    assert listed.status_code == 200, listed.text
    counts = {c["id"]: (c["feedback_up"], c["feedback_down"]) for c in listed.json()}
    assert counts == {first: (2, 1), second: (0, 1)}
    assert "secret" not in listed.text
    assert client.get("/api/admin/connections", headers=user).status_code == 403
