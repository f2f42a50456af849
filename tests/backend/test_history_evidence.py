"""History keeps each answer's evidence, so a reopened conversation shows what was first shown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from backend.config import QuerySettings, Settings
from backend.main import create_app
from backend.services.history_service import preview
from tests.conftest import connect, register_and_login
from tests.fake_ollama import OllamaScript

PER_CATEGORY = """
SELECT c.name AS category, count(*) AS films FROM category c
JOIN film_category fc ON fc.category_id = c.category_id GROUP BY c.name ORDER BY films DESC, c.name
"""


def _ask_and_reopen(
    client: TestClient, headers: dict[str, str], cid: str, question: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    answer = client.post("/api/query", json={"connection_id": cid, "question": question}, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    listed = client.get(f"/api/history?conversation_id={body['conversation_id']}", headers=headers).json()
    assert listed["total"] == 1
    return body, listed["items"][0]


def test_a_reopened_answer_has_the_rows_sources_and_timings_first_shown(
    client: TestClient, sakila_url: str, ollama: OllamaScript
) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    ollama.reply_sql(PER_CATEGORY)
    ollama.answer = "Sports has the most films, 74."
    body, item = _ask_and_reopen(client, headers, cid, "How many films are in each category?")
    assert item["id"] == body["history_id"]
    assert item["columns"] == body["columns"] == ["category", "films"]
    assert item["rows"] == body["rows"] and len(item["rows"]) == item["row_count"] == 16
    assert item["rows"][0] == ["Sports", 74]
    assert item["sources"] == body["sources"] and item["timings"] == body["timings"]
    assert (item["executed"], item["truncated"], item["error_code"]) == (True, False, None)
    # The light list (sidebars) leaves the rows out and keeps everything else.
    light = client.get(f"/api/history?conversation_id={body['conversation_id']}&rows=false", headers=headers)
    (light_item,) = light.json()["items"]
    assert light_item["rows"] == [] and {**light_item, "rows": item["rows"]} == item


def test_a_refused_query_is_kept_with_its_reason(client: TestClient, sakila_url: str, ollama: OllamaScript) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    ollama.reply_sql("DELETE FROM rental", "DROP TABLE rental")
    body, item = _ask_and_reopen(client, headers, cid, "Remove the rentals")
    assert item["executed"] is False and item["rows"] == [] and item["row_count"] is None
    assert item["error_code"] == body["error_code"] == "no_valid_query" and item["error"] == body["error"]


def test_history_keeps_a_preview_of_a_long_result(
    settings_factory: Callable[..., Settings], sakila_url: str, ollama: OllamaScript
) -> None:
    settings = settings_factory(query=QuerySettings(history_preview_rows=3))
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        ollama.reply_sql(PER_CATEGORY)
        body, item = _ask_and_reopen(client, headers, cid, "How many films are in each category?")
    assert len(body["rows"]) == 16  # the answer itself is whole
    assert item["rows"] == body["rows"][:3] and item["row_count"] == 16


def test_preview_caps_rows_and_bytes_and_stores_what_jsonb_refuses() -> None:
    rows: list[list[Any]] = [[i, "x" * 100] for i in range(50)]
    assert len(preview(rows, 10, 1_000_000)) == 10
    assert len(preview(rows, 100, 1_000)) == 9  # 108 to 110 bytes a row, with its separator
    assert preview(rows, 0, 1_000_000) == []
    assert preview([["a\x00b", {"k\x00": ["\x00"]}, None, 1.5]], 5, 1000) == [
        ["a\ufffdb", {"k\ufffd": ["\ufffd"]}, None, 1.5]
    ]


def test_sources_put_the_tables_the_query_read_first(client: TestClient, sakila_url: str, ollama: OllamaScript) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    ollama.reply_sql(PER_CATEGORY)
    body, item = _ask_and_reopen(client, headers, cid, "How many films are in each category?")
    used = [s["object"] for s in body["sources"] if s["used"]]
    assert used == ["public.category", "public.film_category"]  # the query's order, from the parsed SQL
    assert [s["used"] for s in body["sources"]] == [True, True] + [False] * (len(body["sources"]) - 2)
    assert item["sources"] == body["sources"]  # history keeps the same split
    # A table the query reads that retrieval never offered still shows, marked as found in the query.
    ollama.reply_sql("SELECT count(*) AS n FROM staff")
    odd, _ = _ask_and_reopen(client, headers, cid, "How many films are in each category?")
    first = odd["sources"][0]
    assert (first["object"], first["used"]) == ("public.staff", True)
    assert first["via"] in ("query", "search", "value", "join")
    # A refused query uses nothing.
    ollama.reply_sql("DELETE FROM rental", "DROP TABLE rental")
    refused, _ = _ask_and_reopen(client, headers, cid, "Remove the rentals")
    assert not any(s["used"] for s in refused["sources"])
