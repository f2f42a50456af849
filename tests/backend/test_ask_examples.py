"""Verified examples when asking, on Sakila and the Mongo sample data: the same question reuses
the verified query with no model at all; a similar one gets the example in its prompt (read
from the scripted Ollama's log) and its tables in the context; an unrelated one gets none;
the options an evaluation asks with turn both off; a verified query the guard now refuses goes
to the model."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from backend.components.question_text import normalise_question
from backend.components.vector_store import vector_literal
from backend.engines.base import json_value
from backend.schemas.ask_events import DoneEvent
from backend.schemas.query import QueryIn
from backend.services import example_retrieval
from backend.services.ask_plan import AskOptions
from backend.services.audit_service import Actor
from embedding_service.embedder import Embedder
from tests.conftest import connect, connect_mongo, register_and_login
from tests.fake_ollama import OllamaScript

HORROR = "How many films are in the Horror category?"
HORROR_SQL = (
    "SELECT count(*) AS films FROM film f JOIN film_category fc ON fc.film_id = f.film_id"
    " JOIN category c ON c.category_id = fc.category_id WHERE c.name = 'Horror'"
)
HORROR_USES = ["public.film", "public.film_category", "public.category"]
VERIFIER = "ana@example.com"

AddExample = Callable[..., str]


@pytest.fixture
def add_example(store_dsn: str, embedder: Embedder) -> AddExample:
    """Insert a verified example as the examples API would keep it (question embedded by the
    same model as the chunks); returns its id."""

    def add(connection_id: str, question: str, query: str, used: list[str], language: str = "sql") -> str:
        example_id = str(uuid.uuid4())
        vector = embedder.embed([question])[0]
        with psycopg.connect(store_dsn) as conn:
            conn.execute(
                "INSERT INTO verified_examples (id, connection_id, question, question_norm, query, language,"
                " used_objects, source, verified_by_email, verified_at, embedding)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, 'manual', %s, '2026-12-01T10:00:00Z', %s::vector)",
                (
                    example_id,
                    connection_id,
                    question,
                    normalise_question(question),
                    query,
                    language,
                    json.dumps(used),
                    VERIFIER,
                    vector_literal(vector),
                ),
            )
        return example_id

    return add


@pytest.fixture
def sakila(client: TestClient, sakila_url: str) -> dict[str, Any]:
    headers = register_and_login(client)
    return {"headers": headers, "id": connect(client, headers, sakila_url)["id"], "url": sakila_url}


def _ask(client: TestClient, db: dict[str, Any], question: str) -> dict[str, Any]:
    response = client.post("/api/query", json={"connection_id": db["id"], "question": question}, headers=db["headers"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _direct(url: str, sql: str) -> list[list[Any]]:
    with psycopg.connect(url) as conn:
        return [[json_value(v) for v in row] for row in conn.execute(sql).fetchall()]


def _prompt(ollama: OllamaScript) -> list[dict[str, str]]:
    generation = ollama.chat_requests(streaming=False)
    assert generation, "the model was not asked"
    messages: list[dict[str, str]] = generation[0]["messages"]
    return messages


def test_the_same_question_is_answered_from_the_verified_example_without_the_model(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript, add_example: AddExample
) -> None:
    example_id = add_example(sakila["id"], HORROR, HORROR_SQL, HORROR_USES)
    body = _ask(client, sakila, "  how many FILMS are in the horror   category ")
    assert ollama.requests == []  # no generation, no answer: the model was never called
    assert body["rows"] == _direct(sakila["url"], HORROR_SQL) == [[56]]
    assert body["columns"] == ["films"] and body["executed"] is True and body["error"] is None
    assert body["verified_example"] == {
        "id": example_id,
        "question": HORROR,
        "verified_by_email": VERIFIER,
        "verified_at": "2026-12-01T10:00:00Z",
        "similarity": None,
    }
    assert (
        body["answer"] == f'Answered from a verified example ("{HORROR}", verified by {VERIFIER} on 2026-12-01). 1 row.'
    )
    assert "public.film_category" in body["query"]  # as the guard normalised it
    assert {(s["object"], s["via"], s["used"]) for s in body["sources"]} == {(o, "example", True) for o in HORROR_USES}
    assert body["timings"]["generate"] == 0 and body["timings"]["execute"] > 0
    item = client.get("/api/history", headers=sakila["headers"]).json()["items"][0]
    assert item["id"] == body["history_id"] and item["verified_example"]["id"] == example_id
    # Streaming says the same: no generate step, the rows and the sentence.
    with client.stream(
        "POST",
        "/api/query/stream",
        json={"connection_id": sakila["id"], "question": HORROR},
        headers=sakila["headers"],
    ) as response:
        events = [json.loads(line.removeprefix("data: ")) for line in response.iter_lines() if line.startswith("data:")]
    kinds = [e["event"] for e in events]
    assert "rows" in kinds and "token" in kinds and kinds[-1] == "done"
    assert {"event": "step", "step": "generate"} not in events and ollama.requests == []
    assert events[-1]["result"]["verified_example"]["id"] == example_id


def test_a_similar_question_gets_the_example_in_its_prompt_and_its_tables_in_the_context(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript, add_example: AddExample
) -> None:
    question = "number of films in category Comedy"
    ollama.reply_sql(HORROR_SQL.replace("Horror", "Comedy"))
    before = _ask(client, sakila, question)
    assert before["examples_used"] == [] and before["verified_example"] is None
    assert all("Verified example" not in m["content"] for m in _prompt(ollama))
    # A verified query that read a table retrieval does not offer for this question: it joins the context.
    retrieved = {s["object"] for s in before["sources"]}
    assert "public.inventory" not in retrieved, sorted(retrieved)
    sql = HORROR_SQL + " AND f.film_id IN (SELECT film_id FROM inventory)"
    example_id = add_example(sakila["id"], HORROR, sql, [*HORROR_USES, "public.inventory"])
    unrelated_id = add_example(sakila["id"], "Which staff member took the most payments?", "SELECT 1", ["public.staff"])

    ollama.requests.clear()
    ollama.reply_sql(HORROR_SQL.replace("Horror", "Comedy"))
    body = _ask(client, sakila, question)
    assert body["verified_example"] is None and body["error"] is None
    assert [e["id"] for e in body["examples_used"]] == [example_id]
    assert unrelated_id not in json.dumps(body)
    assert 0.47 <= body["examples_used"][0]["similarity"] < 1
    messages = _prompt(ollama)
    roles = [m["role"] for m in messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert "verified examples" in messages[0]["content"]
    assert messages[1]["content"] == f"Verified example question: {HORROR}"
    assert json.loads(messages[2]["content"]) == {"sql": sql}
    assert messages[3]["content"] == question
    assert "CREATE TABLE public.inventory (" in messages[0]["content"]
    sources = {s["object"]: s for s in body["sources"]}
    assert set(HORROR_USES) <= set(sources)
    assert sources["public.inventory"]["via"] == "example"
    item = client.get("/api/history", headers=sakila["headers"]).json()["items"][0]
    assert [e["id"] for e in item["examples_used"]] == [example_id]


def test_the_store_scan_finds_what_the_in_memory_matrix_finds(
    client: TestClient,
    sakila: dict[str, Any],
    ollama: OllamaScript,
    add_example: AddExample,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    near = add_example(sakila["id"], HORROR, HORROR_SQL, HORROR_USES)
    add_example(sakila["id"], "Which staff member took the most payments?", "SELECT 1", ["public.staff"])
    found = []
    for limit in (50_000, 0):  # in memory, then past the matrix's limit: pgvector's exact scan
        monkeypatch.setattr(example_retrieval, "MATRIX_MAX_EXAMPLES", limit)
        ollama.reply_sql("SELECT 1")
        body = _ask(client, sakila, "number of films in category Comedy")
        found.append([(e["id"], round(e["similarity"], 3)) for e in body["examples_used"]])
    assert found[0] == found[1] and [i for i, _ in found[0]] == [near]


@pytest.mark.parametrize("question", ["list all the countries", "what's the weather like today"])
def test_an_unrelated_question_gets_no_example(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript, add_example: AddExample, question: str
) -> None:
    add_example(sakila["id"], HORROR, HORROR_SQL, HORROR_USES)
    add_example(sakila["id"], "Which customers rented the most films?", "SELECT 1", ["public.customer"])
    add_example(sakila["id"], "What is the total revenue per store?", "SELECT 2", ["public.payment"])
    ollama.reply_sql("SELECT country FROM country")
    body = _ask(client, sakila, question)
    assert body["examples_used"] == [] and body["verified_example"] is None
    assert all("Verified example" not in m["content"] for m in _prompt(ollama))
    assert all(s["via"] != "example" for s in body["sources"])


def test_the_options_of_an_evaluation_turn_reuse_and_an_example_off(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript, add_example: AddExample
) -> None:
    example_id = add_example(sakila["id"], HORROR, HORROR_SQL, HORROR_USES)
    other_id = add_example(sakila["id"], "How many films are in the Comedy category?", "SELECT 3", HORROR_USES)
    me = client.get("/api/auth/me", headers=sakila["headers"]).json()
    ask = client.app.state.context.ask  # type: ignore[attr-defined]
    actor = Actor(uuid.UUID(me["id"]), me["email"], "127.0.0.1")

    def run(options: AskOptions) -> Any:
        async def go() -> Any:
            plan = await ask.prepare(actor, QueryIn(connection_id=sakila["id"], question=HORROR))
            plan.options = options
            async for event in ask.run(plan):
                if isinstance(event, DoneEvent):
                    return event.result
            raise AssertionError("no done event")

        return client.portal.call(go)  # type: ignore[union-attr]

    ollama.reply_sql(HORROR_SQL)
    out = run(AskOptions(reuse_verified=False, exclude_examples=frozenset({uuid.UUID(example_id)}), record=False))
    assert out.verified_example is None and out.history_id is None
    prompt = json.dumps(_prompt(ollama))
    assert f"Verified example question: {HORROR}" not in prompt and HORROR_SQL not in prompt
    assert "SELECT 3" in prompt  # the other example is still used
    assert [str(e.id) for e in out.examples_used] == [other_id]

    ollama.requests.clear()
    ollama.reply_sql(HORROR_SQL)
    out = run(AskOptions(reuse_verified=False, use_examples=False, record=False))
    assert out.examples_used == [] and out.verified_example is None
    assert "Verified example" not in json.dumps(_prompt(ollama))

    # Excluded, the exact twin is not reused either.
    ollama.requests.clear()
    ollama.reply_sql(HORROR_SQL)
    out = run(AskOptions(exclude_examples=frozenset({uuid.UUID(example_id)}), record=False))
    assert out.verified_example is None and ollama.chat_requests(streaming=False)

    ollama.requests.clear()
    out = run(AskOptions(record=False))
    assert out.verified_example is not None and str(out.verified_example.id) == example_id
    assert ollama.requests == []


def test_a_verified_query_the_guard_now_refuses_goes_to_the_model(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript, add_example: AddExample
) -> None:
    # As if the column had been dropped since the example was verified.
    add_example(
        sakila["id"], "What are the films' star ratings?", "SELECT title, star_rating FROM film", ["public.film"]
    )
    ollama.reply_sql("SELECT title, rating FROM film ORDER BY title LIMIT 3")
    body = _ask(client, sakila, "what are the films' star ratings")
    assert body["verified_example"] is None and body["error"] is None
    assert len(ollama.chat_requests(streaming=False)) == 1
    assert body["rows"] == _direct(sakila["url"], "SELECT title, rating::text FROM film ORDER BY title LIMIT 3")


def test_a_mongo_example_on_the_sample_data(
    client: TestClient, mongo_url: str, ollama: OllamaScript, add_example: AddExample
) -> None:
    headers = register_and_login(client)
    shop = {"headers": headers, "id": connect_mongo(client, headers, mongo_url)}
    query = json.dumps({"collection": "orders", "pipeline": [{"$match": {"status": "paid"}}, {"$count": "paid"}]})
    example_id = add_example(shop["id"], "How many orders are paid?", query, ["shop.orders"], "mongo")
    body = _ask(client, shop, "how many orders are paid")
    assert ollama.requests == []
    assert body["verified_example"]["id"] == example_id and body["language"] == "mongo"
    assert body["columns"] == ["paid"] and body["rows"] == [[10]]
    assert [(s["object"], s["via"]) for s in body["sources"]] == [("shop.orders", "example")]

    ollama.reply_raw(json.dumps({"collection": "orders", "pipeline": [{"$match": {"status": "new"}}]}))
    body = _ask(client, shop, "how many orders are new")
    assert [e["id"] for e in body["examples_used"]] == [example_id]
    messages = _prompt(ollama)
    assert messages[1]["content"] == "Verified example question: How many orders are paid?"
    assert json.loads(messages[2]["content"]) == json.loads(query)
