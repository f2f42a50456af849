"""``GET /api/connections/{id}/suggestions``: verified examples' questions first, then the model's
(one call per index version, cached), or questions made from the schema when the model cannot
answer, naming only the connection's own tables and columns. Against Sakila, Chinook and the
Mongo sample, with the scripted Ollama."""

from __future__ import annotations

import re
import uuid
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import connect, mongo_db_url, register_and_login, wait_for_sync
from tests.fake_ollama import OllamaScript

WRITTEN = ["Which actor appears in the most films?", "What is the total revenue per store?", "Films per category"]


def _suggest(client: TestClient, headers: dict[str, str], cid: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/connections/{cid}/suggestions", headers=headers)
    assert response.status_code == 200, response.text
    out: list[dict[str, Any]] = response.json()["suggestions"]
    return out


def _writes(ollama: OllamaScript) -> None:
    ollama.suggestions = list(WRITTEN)


def _calls(ollama: OllamaScript) -> int:
    return len(ollama.suggestion_requests)


def test_examples_first_then_the_model_once(client: TestClient, sakila_url: str, ollama: OllamaScript) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    _writes(ollama)
    ollama.reply_sql("SELECT 42")  # a question's scripted query, which suggestions must leave alone
    first = _suggest(client, headers, cid)
    assert first == [{"question": q, "origin": "model"} for q in WRITTEN]
    assert _calls(ollama) == 1
    # The model's system prompt carries the schema summary of this connection.
    [request] = ollama.suggestion_requests
    assert "suggest questions" in request["messages"][0]["content"]
    assert "public.film(" in request["messages"][1]["content"] and request["format"]["required"] == ["questions"]
    assert ollama.requests == [] and list(ollama.queries) == ['{"sql": "SELECT 42"}']
    made = client.post(
        f"/api/connections/{cid}/examples",
        json={"question": "How many films are there?", "query": "SELECT count(*) FROM film"},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    # A model question that is the same as an example is not offered twice.
    client.post(
        f"/api/connections/{cid}/examples",
        json={"question": "films per category", "query": "SELECT category_id, count(*) FROM film_category GROUP BY 1"},
        headers=headers,
    )
    second = _suggest(client, headers, cid)
    assert [s["origin"] for s in second] == ["example", "example", "model", "model"]
    assert [s["question"] for s in second] == ["films per category", "How many films are there?", *WRITTEN[:2]]
    assert _calls(ollama) == 1  # cached for this index version


def _words(question: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", question))


def _names(snapshot_objects: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    tables = {o["name"] for o in snapshot_objects} | {f"{o['schema_name']}.{o['name']}" for o in snapshot_objects}
    columns = {c["name"] for o in snapshot_objects for c in o["columns"]}
    return tables, columns


@pytest.mark.parametrize("database", ["sakila", "chinook"])
def test_templated_when_the_model_is_down(
    client: TestClient, ollama: OllamaScript, database: str, sakila_url: str, chinook_url: str
) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url if database == "sakila" else chinook_url)["id"]
    ollama.status = 500
    suggestions = _suggest(client, headers, cid)
    assert len(suggestions) == 6 and {s["origin"] for s in suggestions} == {"schema"}
    objects = client.get(f"/api/connections/{cid}/schema", headers=headers).json()["objects"]
    tables, columns = _names(objects)
    for s in suggestions:
        named = _words(s["question"]) & (tables | columns)
        assert named, s  # every question names something real
    kinds = [s["question"].split(" ")[0] for s in suggestions]
    assert kinds[:3] == ["Which", "Top", "How"] and any("per" in s["question"] for s in suggestions)
    # Nothing of another sample database leaks in.
    other = {"film", "actor", "rental"} if database == "chinook" else {"Track", "Album", "Invoice"}
    assert not any(_words(s["question"]) & other for s in suggestions)
    assert _calls(ollama) == 1  # tried once; the failure is remembered for a while
    _suggest(client, headers, cid)
    assert _calls(ollama) == 1


def test_templated_when_the_model_is_unreachable(
    settings_factory: Any, sakila_url: str, mongo_url: str, store_dsn: str
) -> None:
    from backend.config import LLMSettings
    from backend.main import create_app
    from tests.conftest import free_port

    llm = LLMSettings(ollama_url=f"http://127.0.0.1:{free_port()}", ollama_model="llama3.2", llm_timeout_s=5)
    with TestClient(create_app(settings_factory(llm=llm))) as client:
        headers = register_and_login(client, email=f"sg-{uuid.uuid4().hex[:6]}@example.com")
        url = mongo_db_url(mongo_url, "shop")
        made = client.post("/api/connections", json={"name": "shop", "kind": "mongodb", "url": url}, headers=headers)
        cid = made.json()["id"]
        assert wait_for_sync(client, headers, cid)["status"] == "succeeded"
        suggestions = _suggest(client, headers, cid)
        assert suggestions and {s["origin"] for s in suggestions} == {"schema"}
        with psycopg.connect(store_dsn) as conn:
            row = conn.execute("SELECT schema_snapshot FROM connections WHERE id = %s", (cid,)).fetchone()
        assert row is not None
        real = {o["name"] for o in row[0]["objects"]} | {f"{o['schema_name']}.{o['name']}" for o in row[0]["objects"]}
        for s in suggestions:
            assert _words(s["question"]) & real, s
            assert "documents" in s["question"] and "rows" not in s["question"], s
        # Other users' connections are not found.
        stranger = register_and_login(client)
        assert client.get(f"/api/connections/{cid}/suggestions", headers=stranger).status_code == 404
