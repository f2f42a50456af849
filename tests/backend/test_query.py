"""The ask flow through the API, against the real Sakila database and the scripted Ollama."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from backend.config import LLMSettings, QuerySettings, Settings
from backend.engines.base import json_value
from backend.main import create_app
from backend.schemas.ask_events import AskEventOut
from tests.conftest import connect, free_port, register_and_login
from tests.fake_ollama import OllamaScript

TOP_RENTERS = """
SELECT c.customer_id, c.first_name, c.last_name, count(r.rental_id) AS rentals, max(r.rental_date) AS last_rental
FROM customer c JOIN rental r ON r.customer_id = c.customer_id
GROUP BY c.customer_id, c.first_name, c.last_name
ORDER BY rentals DESC, c.customer_id
LIMIT 10
"""


@pytest.fixture
def sakila(client: TestClient, sakila_url: str) -> dict[str, Any]:
    headers = register_and_login(client)
    return {"headers": headers, "id": connect(client, headers, sakila_url)["id"], "url": sakila_url}


def _ask(client: TestClient, sakila: dict[str, Any], question: str, **extra: Any) -> dict[str, Any]:
    response = client.post(
        "/api/query", json={"connection_id": sakila["id"], "question": question, **extra}, headers=sakila["headers"]
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _direct(url: str, sql: str) -> tuple[list[str], list[list[Any]]]:
    with psycopg.connect(url) as conn:
        cur = conn.execute(sql)
        columns = [d.name for d in cur.description or []]
        return columns, [[json_value(v) for v in row] for row in cur.fetchall()]


def test_answers_from_exactly_the_rows_the_sql_gives(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript
) -> None:
    ollama.reply_sql(TOP_RENTERS)
    ollama.answer = "ELEANOR HUNT rented the most films: 46."
    body = _ask(client, sakila, "Which customers rented the most films?")
    columns, rows = _direct(sakila["url"], TOP_RENTERS)
    assert body["columns"] == columns
    assert body["rows"] == rows
    assert body["row_count"] == 10 and body["truncated"] is False and body["executed"] is True
    assert body["answer"] == "ELEANOR HUNT rented the most films: 46."
    assert body["language"] == "sql" and body["error"] is None and body["model"] == "llama3.2"
    assert body["error_code"] is None
    assert "FROM public.customer AS c JOIN public.rental AS r" in body["query"]
    assert {"public.customer", "public.rental"} <= {s["object"] for s in body["sources"]}
    assert set(body["timings"]) == {"retrieve", "generate", "validate", "execute", "answer"}
    assert all(v >= 0 for v in body["timings"].values()) and body["timings"]["execute"] > 0
    # The answer prompt carried the real rows.
    answer_prompt = ollama.chat_requests(streaming=True)[0]["messages"][-1]["content"]
    assert "ELEANOR | HUNT | 46" in answer_prompt
    history = client.get("/api/history", headers=sakila["headers"]).json()
    assert history["items"][0]["id"] == body["history_id"]
    assert history["items"][0]["query"] == body["query"] and history["items"][0]["row_count"] == 10


def test_the_generation_prompt_is_compact_ddl_with_keys(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript
) -> None:
    _ask(client, sakila, "which customers rented films last month")
    request = ollama.chat_requests(streaming=False)[0]
    system = request["messages"][0]["content"]
    assert "CREATE TABLE public.rental (" in system
    assert "customer_id integer NOT NULL REFERENCES public.customer(customer_id)" in system
    assert "rental_id integer PRIMARY KEY" in system
    assert request["format"]["required"] == ["sql"]
    assert request["messages"][-1] == {"role": "user", "content": "which customers rented films last month"}


def test_a_hallucinated_column_is_repaired_once(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript
) -> None:
    ollama.reply_sql(
        "SELECT c.full_name FROM customer c LIMIT 5", "SELECT c.first_name FROM customer c ORDER BY 1 LIMIT 5"
    )
    body = _ask(client, sakila, "first names of five customers")
    assert body["error"] is None
    assert body["rows"] == _direct(sakila["url"], "SELECT c.first_name FROM customer c ORDER BY 1 LIMIT 5")[1]
    generations = ollama.chat_requests(streaming=False)
    assert len(generations) == 2
    assert 'Column "full_name" does not exist in table public.customer' in generations[1]["messages"][-1]["content"]


def test_a_database_error_is_repaired_with_its_message(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript
) -> None:
    ollama.reply_sql("SELECT title FROM film WHERE film_id = 'abc'", "SELECT title FROM film WHERE film_id = 1")
    body = _ask(client, sakila, "title of film 1")
    assert body["rows"] == [["ACADEMY DINOSAUR"]]
    repair = ollama.chat_requests(streaming=False)[1]["messages"][-1]["content"]
    assert "invalid input syntax for type integer" in repair


def test_giving_up_after_the_repair_round(client: TestClient, sakila: dict[str, Any], ollama: OllamaScript) -> None:
    ollama.reply_sql("DELETE FROM rental", "DROP TABLE rental")
    body = _ask(client, sakila, "delete everything")
    assert body["executed"] is False and body["rows"] == [] and body["columns"] == []
    assert "Only SELECT queries are allowed" in body["error"] and body["error_code"] == "no_valid_query"
    assert body["answer"] == "The model's queries were refused: Sextant runs only read-only queries it can check."
    assert len(ollama.chat_requests(streaming=False)) == 2
    assert ollama.chat_requests(streaming=True) == []


def test_giving_up_on_a_missing_column_says_so_not_read_only(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript
) -> None:
    ollama.reply_sql("SELECT full_name FROM customer", "SELECT c.full_name FROM customer c")
    body = _ask(client, sakila, "customer full names")
    assert body["answer"] == "I could not write a query that matches this database's tables and columns."
    assert 'Column "full_name" does not exist' in body["error"] and "read-only" not in body["answer"]
    ollama.reply_sql("SELECT title FROM film WHERE film_id = 'abc'", "SELECT title FROM film WHERE film_id = 'x'")
    failed = _ask(client, sakila, "title of film abc")
    assert failed["answer"] == "The database could not run the query the model wrote."
    assert failed["error"].startswith("The database said:") and failed["error_code"] == "db_error"


def test_garbage_from_the_model_reads_as_a_sentence(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript
) -> None:
    ollama.reply_raw("I like turtles.", '{"not_sql": 42}')
    body = _ask(client, sakila, "how many films?")
    assert body["query"] is None and body["executed"] is False
    assert "contained no query" in body["error"]
    assert body["sources"], "the retrieved sources are still returned"


@pytest.mark.parametrize(
    "reply",
    [
        "```sql\nSELECT count(*) AS films FROM film\n```",
        'Sure! Here it is: {"sql": "SELECT count(*) AS films FROM film"} Hope that helps.',
        "The query is:\nSELECT count(*) AS films FROM film;\nThis counts films.",
    ],
)
def test_the_query_is_found_in_chatty_replies(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript, reply: str
) -> None:
    ollama.reply_raw(reply)
    body = _ask(client, sakila, "how many films?")
    assert body["rows"] == [[1000]]


def test_llm_unreachable_still_returns_sources(
    settings_factory: Callable[..., Settings], sakila_url: str, ollama: OllamaScript
) -> None:
    settings = settings_factory(llm=LLMSettings(ollama_url=f"http://127.0.0.1:{free_port()}", llm_timeout_s=5))
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        response = client.post(
            "/api/query", json={"connection_id": cid, "question": "films per category"}, headers=headers
        )
        assert response.status_code == 200
        body = response.json()
        # Said once: the error names the reason, the answer does not repeat it.
        assert "unreachable" in body["error"] and "unreachable" not in body["answer"]
        assert body["error_code"] == "llm_unavailable" and "sources" in body["answer"]
        assert body["query"] is None and body["rows"] == []
        assert "public.film_category" in {s["object"] for s in body["sources"]}
        assert client.get("/api/models", headers=headers).status_code == 503


def test_a_missing_model_is_named(client: TestClient, sakila: dict[str, Any], ollama: OllamaScript) -> None:
    assert client.put("/api/settings", json={"model": "mistral"}, headers=sakila["headers"]).status_code == 200
    body = _ask(client, sakila, "how many films?")
    assert "mistral" in body["error"] and "not available" in body["error"]
    assert body["error_code"] == "model_missing"


def test_follow_up_questions_carry_the_conversation(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript
) -> None:
    ollama.reply_sql("SELECT count(*) FROM film", "SELECT count(*) FROM film WHERE rating = 'PG'")
    first = _ask(client, sakila, "how many films are there?")
    second = _ask(client, sakila, "and how many of them are rated PG?", conversation_id=first["conversation_id"])
    assert second["conversation_id"] == first["conversation_id"]
    messages = ollama.chat_requests(streaming=False)[1]["messages"]
    assert {"role": "user", "content": "how many films are there?"} in messages
    assert any(m["role"] == "assistant" and "count(*)" in m["content"].lower() for m in messages)
    history = client.get(
        "/api/history", params={"conversation_id": first["conversation_id"]}, headers=sakila["headers"]
    ).json()
    assert history["total"] == 2


def test_settings_defaults_partial_update_and_execute_off(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript
) -> None:
    headers = sakila["headers"]
    assert client.get("/api/settings", headers=headers).json() == {
        "model": "llama3.2",
        "top_k": 10,
        "sample_rows": 2,
        "execute_queries": True,
        "export_max_rows": 1_000_000,
    }
    updated = client.put("/api/settings", json={"top_k": 3, "execute_queries": False}, headers=headers).json()
    assert updated == {
        "model": "llama3.2",
        "top_k": 3,
        "sample_rows": 2,
        "execute_queries": False,
        "export_max_rows": 1_000_000,
    }
    assert client.put("/api/settings", json={"top_k": 0}, headers=headers).status_code == 422
    ollama.reply_sql("SELECT count(*) FROM film")
    body = _ask(client, sakila, "how many films?")
    assert body["executed"] is False and body["rows"] == [] and body["query"] == "SELECT COUNT(*) FROM public.film"
    assert "turned off" in body["answer"]
    assert len([s for s in body["sources"] if s["via"] == "search"]) == 3


def test_models_come_from_the_llm_server(client: TestClient, sakila: dict[str, Any], ollama: OllamaScript) -> None:
    body = client.get("/api/models", headers=sakila["headers"]).json()
    assert body["default"] == "llama3.2"
    assert [m["name"] for m in body["models"]] == ["llama3.2:latest", "qwen2.5-coder:7b"]


def test_history_and_conversations_belong_to_their_owner(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript
) -> None:
    first = _ask(client, sakila, "how many films?")
    other = register_and_login(client)
    assert client.get("/api/history", headers=other).json() == {"items": [], "total": 0}
    assert client.delete(f"/api/history/{first['history_id']}", headers=other).status_code == 404
    stolen = client.post(
        "/api/query",
        json={"connection_id": sakila["id"], "question": "x", "conversation_id": first["conversation_id"]},
        headers=other,
    )
    assert stolen.status_code == 404
    assert client.delete(f"/api/history/{first['history_id']}", headers=sakila["headers"]).status_code == 204
    assert client.get("/api/history", headers=sakila["headers"]).json()["total"] == 0


def test_bad_ask_input_is_4xx(client: TestClient, sakila: dict[str, Any], scratch_db: Callable[[str], str]) -> None:
    headers = sakila["headers"]
    assert (
        client.post("/api/query", json={"connection_id": sakila["id"], "question": ""}, headers=headers).status_code
        == 422
    )
    missing = client.post("/api/query", json={"connection_id": str(uuid.uuid4()), "question": "x"}, headers=headers)
    assert missing.status_code == 404
    assert (
        client.post(
            "/api/query/stream", json={"connection_id": str(uuid.uuid4()), "question": "x"}, headers=headers
        ).status_code
        == 404
    )


def test_the_row_cap_reports_truncation(
    settings_factory: Callable[..., Settings], sakila_url: str, ollama: OllamaScript
) -> None:
    settings = settings_factory(query=QuerySettings(query_max_rows=7))
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        ollama.reply_sql("SELECT rental_id FROM rental ORDER BY rental_id")
        body = client.post("/api/query", json={"connection_id": cid, "question": "all rentals"}, headers=headers).json()
    assert body["row_count"] == 7 and body["truncated"] is True
    assert body["rows"] == [[i] for i in range(1, 8)]
    assert "more exist" in ollama.chat_requests(streaming=True)[0]["messages"][-1]["content"]


def test_stream_events_in_order(client: TestClient, sakila: dict[str, Any], ollama: OllamaScript) -> None:
    ollama.reply_sql("SELECT count(*) AS films FROM film")
    ollama.answer = "There are 1000 films."
    events = []
    with client.stream(
        "POST",
        "/api/query/stream",
        json={"connection_id": sakila["id"], "question": "how many films?"},
        headers=sakila["headers"],
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
    steps = [d["step"] for n, d in events if n == "step"]
    assert steps == ["retrieve", "generate", "validate", "execute", "answer"]  # each as it starts
    names = [n for n, _ in events if n != "step"]
    assert names[:3] == ["sources", "query", "rows"]
    assert names[-1] == "done" and names.count("token") == 4
    events = [(n, d) for n, d in events if n != "step"]
    assert "".join(d["text"] for n, d in events if n == "token") == "There are 1000 films."
    assert events[2][1]["rows"] == [[1000]]
    assert events[-1][1]["result"]["answer"] == "There are 1000 films."
    # The contract: every event's data is one AskEvent of the OpenAPI schema, named as it says.
    for name, data in events:
        assert AskEventOut.model_validate(data).root.event == name
