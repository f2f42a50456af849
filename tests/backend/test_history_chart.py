"""The chart chosen for an answer is kept with it: its owner sets it, nobody else sees or changes
it, and only the answer's own columns (a numeric one as the value) are accepted."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import connect, register_and_login
from tests.fake_ollama import OllamaScript

PER_CATEGORY = """
SELECT c.name AS category, count(*) AS films FROM category c
JOIN film_category fc ON fc.category_id = c.category_id GROUP BY c.name ORDER BY films DESC, c.name
"""


def _answer(client: TestClient, headers: dict[str, str], sakila_url: str, ollama: OllamaScript) -> dict[str, Any]:
    cid = connect(client, headers, sakila_url)["id"]
    ollama.reply_sql(PER_CATEGORY)
    answer = client.post("/api/query", json={"connection_id": cid, "question": "Films per category?"}, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["history_id"]
    return body


def _reset(client: TestClient, url: str, headers: dict[str, str]) -> Any:
    """PATCH with the JSON body ``null`` (httpx sends no body at all for ``json=None``)."""
    return client.patch(url, content=b"null", headers={**headers, "Content-Type": "application/json"})


def _stored_chart(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    listed = client.get(f"/api/history?conversation_id={body['conversation_id']}", headers=headers).json()
    (item,) = listed["items"]
    light = client.get(f"/api/history?conversation_id={body['conversation_id']}&rows=false", headers=headers).json()
    assert light["items"][0]["chart"] == item["chart"]
    return item["chart"]


def test_the_owner_sets_and_resets_the_chart(client: TestClient, sakila_url: str, ollama: OllamaScript) -> None:
    headers = register_and_login(client)
    body = _answer(client, headers, sakila_url, ollama)
    assert _stored_chart(client, headers, body) is None  # automatic until chosen
    url = f"/api/history/{body['history_id']}/chart"
    pie = {"kind": "pie", "x": "category", "y": "films"}
    response = client.patch(url, json=pie, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == pie
    assert _stored_chart(client, headers, body) == pie
    line = {"kind": "line", "x": "category", "y": "films"}
    assert client.patch(url, json=line, headers=headers).json() == line
    assert _stored_chart(client, headers, body) == line
    # null goes back to the automatic chart.
    response = _reset(client, url, headers)
    assert response.status_code == 200 and response.json() is None
    assert _stored_chart(client, headers, body) is None


def test_another_users_entry_is_not_found(client: TestClient, sakila_url: str, ollama: OllamaScript) -> None:
    owner = register_and_login(client, "owner@example.com")
    body = _answer(client, owner, sakila_url, ollama)
    other = register_and_login(client, "other@example.com")
    url = f"/api/history/{body['history_id']}/chart"
    response = client.patch(url, json={"kind": "bar", "x": "category", "y": "films"}, headers=other)
    assert response.status_code == 404
    assert _reset(client, url, other).status_code == 404
    missing = "/api/history/00000000-0000-4000-8000-000000000000/chart"
    assert _reset(client, missing, owner).status_code == 404
    assert _stored_chart(client, owner, body) is None


def test_a_chart_must_fit_the_answer(client: TestClient, sakila_url: str, ollama: OllamaScript) -> None:
    headers = register_and_login(client)
    body = _answer(client, headers, sakila_url, ollama)
    url = f"/api/history/{body['history_id']}/chart"
    refused = [
        {"kind": "radar", "x": "category", "y": "films"},  # not a kind the app draws
        {"kind": "bar", "x": "rating", "y": "films"},  # not a column of this answer
        {"kind": "bar", "x": "category", "y": "revenue"},
        {"kind": "bar", "x": "films", "y": "category"},  # the value must be numeric
        {"kind": "bar", "x": "films", "y": "films"},
        {"kind": "bar", "x": "category"},
        {"kind": "bar", "x": "", "y": "films"},
    ]
    for choice in refused:
        response = client.patch(url, json=choice, headers=headers)
        assert response.status_code == 422, (choice, response.text)
        assert response.json()["detail"]
    assert _stored_chart(client, headers, body) is None
    # The same columns the other way round, and each kind, are let through.
    for kind in ("bar", "line", "pie"):
        assert client.patch(url, json={"kind": kind, "x": "category", "y": "films"}, headers=headers).status_code == 200
