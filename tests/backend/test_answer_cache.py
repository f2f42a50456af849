"""The answer cache against the machine's real Redis (through a proxy the last test cuts), on one
Sakila connection for the whole module: a repeated first question is served with no model call
(``ollama.requests`` stays empty), recorded in the asker's history and audited as a cache hit
with no query event; other settings, another model, a re-index, a changed note or verified
example, a follow-up, ``fresh`` and the connection's switch all go to the model; Redis cut
mid-session still answers, with no error."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from backend.components.question_text import normalise_question
from backend.components.vector_store import vector_literal
from backend.config import CacheSettings
from backend.main import create_app
from backend.services import example_retrieval
from embedding_service.embedder import Embedder
from tests.conftest import ServerThread, backend_settings, connect, register_and_login, wait_for_sync
from tests.fake_ollama import OllamaScript
from tests.redis_proxy import RedisProxy, flush_prefix, keys_under, redis_or_skip

PREFIX = f"test-answer-cache-{uuid.uuid4().hex[:8]}:"
FILMS = "How many films are there?"
FILMS_SQL = "SELECT count(*) AS films FROM film"
ACTORS = "How many actors are there?"
ACTORS_SQL = "SELECT count(*) AS actors FROM actor"


@pytest.fixture(scope="module")
def redis_client() -> Iterator[redis.Redis]:
    client = redis_or_skip()
    yield client
    flush_prefix(client, PREFIX)


@pytest.fixture(scope="module")
def proxy(redis_client: redis.Redis) -> Iterator[RedisProxy]:
    proxy = RedisProxy()
    yield proxy
    proxy.cut()


@pytest.fixture(scope="module")
def app_client(
    store_url: str,
    embedding_server: ServerThread,
    ollama_server: ServerThread,
    tmp_path_factory: pytest.TempPathFactory,
    proxy: RedisProxy,
) -> Iterator[TestClient]:
    data_dir: Path = tmp_path_factory.mktemp("answer-cache") / "data"
    cache = CacheSettings(redis_url=SecretStr(proxy.url), redis_key_prefix=PREFIX)
    settings = backend_settings(store_url, embedding_server.url, ollama_server.url, data_dir, cache=cache)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def sakila(app_client: TestClient, sakila_url: str) -> dict[str, Any]:
    headers = register_and_login(app_client)
    return {"headers": headers, "id": connect(app_client, headers, sakila_url)["id"], "url": sakila_url}


@pytest.fixture(autouse=True)
def _clean(redis_client: redis.Redis) -> None:
    flush_prefix(redis_client, PREFIX)


def _ask(client: TestClient, db: dict[str, Any], question: str, **extra: Any) -> dict[str, Any]:
    body = {"connection_id": db["id"], "question": question, **extra}
    response = client.post("/api/query", json=body, headers=db["headers"])
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def _fresh_answer(client: TestClient, db: dict[str, Any], ollama: OllamaScript, question: str, sql: str) -> None:
    """Ask with the model (a miss) and check it was one: generation and answer requests."""
    before = len(ollama.requests)
    ollama.reply_sql(sql)
    body = _ask(client, db, question)
    assert len(ollama.requests) == before + 2, "the model was not asked (served from the cache?)"
    assert body["cached_at"] is None and body["executed"] is True and body["error"] is None


def _audit(store_dsn: str, connection_id: str) -> list[tuple[str, dict[str, Any]]]:
    with psycopg.connect(store_dsn) as conn:
        rows = conn.execute(
            "SELECT action, details FROM audit_events WHERE target = %s ORDER BY id", (f"connection:{connection_id}",)
        ).fetchall()
    return [(str(a), dict(d)) for a, d in rows]


def _metric(client: TestClient, name: str, labels: str) -> float:
    text = client.app.state.context.metrics.render().decode()  # type: ignore[attr-defined]
    for line in text.splitlines():
        if line.startswith(f"{name}{{{labels}}}"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_repeated_first_question_is_served_from_the_cache_without_the_model(
    app_client: TestClient, sakila: dict[str, Any], ollama: OllamaScript, store_dsn: str, redis_client: redis.Redis
) -> None:
    ollama.reply_sql(FILMS_SQL)
    first = _ask(app_client, sakila, FILMS)
    assert len(ollama.requests) == 2 and first["cached_at"] is None and first["rows"] == [[1000]]
    assert any(k.startswith(f"{PREFIX}answer:{sakila['id']}:") for k in keys_under(redis_client, PREFIX))
    assert any(k.startswith(f"{PREFIX}emb:") for k in keys_under(redis_client, PREFIX))  # the question's embedding
    queries_before = [a for a, _ in _audit(store_dsn, sakila["id"])].count("query")

    again = _ask(app_client, sakila, "  how MANY films are there ")  # the same normalised question
    assert len(ollama.requests) == 2  # the model was not called again
    assert again["cached_at"] is not None and "Cached answer from" in again["answer"]
    assert again["answer"].startswith(first["answer"])
    assert again["rows"] == first["rows"] and again["query"] == first["query"] and again["sources"] == first["sources"]
    assert again["history_id"] and again["history_id"] != first["history_id"]
    assert again["conversation_id"] != first["conversation_id"]
    # In the asker's history (their question), audited as a hit and with no query event.
    items = app_client.get("/api/history", headers=sakila["headers"]).json()["items"]
    assert items[0]["id"] == again["history_id"] and "Cached answer from" in items[0]["answer"]
    events = _audit(store_dsn, sakila["id"])
    hits = [d for a, d in events if a == "answer_cache_hit"]
    assert hits and hits[-1]["history_id"] == again["history_id"] and hits[-1]["query_ran"] is False
    assert [a for a, _ in events].count("query") == queries_before
    assert _metric(app_client, "sextant_cache_lookups_total", 'cache="answer",result="hit"') >= 1

    # Streaming serves the same cached answer: rows, the answer as one token, done.
    with app_client.stream(
        "POST", "/api/query/stream", json={"connection_id": sakila["id"], "question": FILMS}, headers=sakila["headers"]
    ) as response:
        lines = [json.loads(x.removeprefix("data: ")) for x in response.iter_lines() if x.startswith("data:")]
    kinds = [e["event"] for e in lines]
    assert "rows" in kinds and "token" in kinds and kinds[-1] == "done" and len(ollama.requests) == 2
    assert lines[-1]["result"]["cached_at"] is not None


def test_another_question_settings_or_model_is_a_miss(
    app_client: TestClient, sakila: dict[str, Any], ollama: OllamaScript
) -> None:
    _fresh_answer(app_client, sakila, ollama, FILMS, FILMS_SQL)
    _fresh_answer(app_client, sakila, ollama, ACTORS, ACTORS_SQL)  # another question
    headers = sakila["headers"]
    settings = app_client.get("/api/settings", headers=headers).json()
    try:
        for change in ({"top_k": settings["top_k"] + 1}, {"sample_rows": 0}, {"model": "qwen2.5-coder:7b"}):
            assert app_client.put("/api/settings", json=change, headers=headers).status_code == 200
            _fresh_answer(app_client, sakila, ollama, FILMS, FILMS_SQL)
        # And with all of them as they were for the first answer: served again.
        restore = {k: settings[k] for k in ("top_k", "sample_rows", "model")}
        assert app_client.put("/api/settings", json=restore, headers=headers).status_code == 200
        before = len(ollama.requests)
        assert _ask(app_client, sakila, FILMS)["cached_at"] is not None and len(ollama.requests) == before
    finally:
        restore = {k: settings[k] for k in ("top_k", "sample_rows", "model", "execute_queries")}
        app_client.put("/api/settings", json=restore, headers=headers)


def test_not_executed_answers_are_not_kept(
    app_client: TestClient, sakila: dict[str, Any], ollama: OllamaScript
) -> None:
    headers = sakila["headers"]
    assert app_client.put("/api/settings", json={"execute_queries": False}, headers=headers).status_code == 200
    try:
        for _ in range(2):
            ollama.reply_sql(FILMS_SQL)
            body = _ask(app_client, sakila, FILMS)
            assert body["executed"] is False and body["cached_at"] is None
        assert len(ollama.chat_requests(streaming=False)) == 2  # both asked the model
    finally:
        app_client.put("/api/settings", json={"execute_queries": True}, headers=headers)
    # A query the database fails is not kept either.
    ollama.reply_sql("SELECT no_such_column FROM film", "SELECT no_such_column FROM film")
    ollama.reply_sql("SELECT no_such_column FROM film", "SELECT no_such_column FROM film")
    failed = _ask(app_client, sakila, "What is the no such column of films?")
    assert failed["error"] is not None
    before = len(ollama.requests)
    assert _ask(app_client, sakila, "What is the no such column of films?")["cached_at"] is None
    assert len(ollama.requests) > before


def test_a_changed_note_or_verified_example_is_a_miss(
    app_client: TestClient, sakila: dict[str, Any], ollama: OllamaScript, store_dsn: str, embedder: Embedder
) -> None:
    _fresh_answer(app_client, sakila, ollama, FILMS, FILMS_SQL)
    note = {"object_name": "public.film", "text": f"One row per title ({uuid.uuid4().hex[:6]})."}
    url = f"/api/connections/{sakila['id']}/notes"
    assert app_client.put(url, json=note, headers=sakila["headers"]).status_code == 200
    _fresh_answer(app_client, sakila, ollama, FILMS, FILMS_SQL)
    before = len(ollama.requests)
    assert _ask(app_client, sakila, FILMS)["cached_at"] is not None and len(ollama.requests) == before
    # A verified example of another question: the prompt would carry it now, so a miss.
    _add_example(store_dsn, embedder, sakila["id"])
    _fresh_answer(app_client, sakila, ollama, FILMS, FILMS_SQL)


def test_an_example_added_while_the_model_writes_does_not_file_the_answer_under_the_new_examples(
    app_client: TestClient,
    sakila: dict[str, Any],
    ollama: OllamaScript,
    store_dsn: str,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The key is made before the answer: the answer written from the old examples is not
    served to a question asked with the new ones. (A real model takes longer than the
    examples' stamp is reused for; here every stamp is read anew.)"""
    monkeypatch.setattr(example_retrieval, "STAMP_FRESH_S", 0.0)

    def add_while_generating(body: dict[str, Any]) -> str | None:
        if not body.get("stream", True):
            _add_example(store_dsn, embedder, sakila["id"])
            return json.dumps({"sql": ACTORS_SQL})
        return None

    ollama.handler = add_while_generating
    assert _ask(app_client, sakila, ACTORS)["cached_at"] is None
    ollama.handler = None
    _fresh_answer(app_client, sakila, ollama, ACTORS, ACTORS_SQL)


def _add_example(store_dsn: str, embedder: Embedder, connection_id: str) -> None:
    question = f"How many customers are there ({uuid.uuid4().hex[:4]})?"
    with psycopg.connect(store_dsn) as conn:
        conn.execute(
            "INSERT INTO verified_examples (id, connection_id, question, question_norm, query, language,"
            " used_objects, source, embedding) VALUES (%s, %s, %s, %s, %s, 'sql', '[\"public.customer\"]',"
            " 'manual', %s::vector)",
            (
                uuid.uuid4(),
                connection_id,
                question,
                normalise_question(question),
                "SELECT count(*) FROM customer",
                vector_literal(embedder.embed([question])[0]),
            ),
        )


def test_a_follow_up_is_not_served_nor_kept_and_fresh_asks_again(
    app_client: TestClient, sakila: dict[str, Any], ollama: OllamaScript
) -> None:
    ollama.reply_sql(FILMS_SQL)
    first = _ask(app_client, sakila, FILMS)
    # The same question as a follow-up: its answer depends on the conversation, so the model.
    ollama.reply_sql(FILMS_SQL)
    follow = _ask(app_client, sakila, FILMS, conversation_id=first["conversation_id"])
    assert follow["cached_at"] is None and len(ollama.requests) == 4
    # A follow-up's answer is not kept: the same words as a first question go to the model.
    ollama.reply_sql(ACTORS_SQL)
    _ask(app_client, sakila, ACTORS, conversation_id=first["conversation_id"])
    _fresh_answer(app_client, sakila, ollama, ACTORS, ACTORS_SQL)
    # "Run again": fresh skips the cache, and its answer replaces the kept one.
    before = len(ollama.requests)
    ollama.reply_sql(FILMS_SQL)
    rerun = _ask(app_client, sakila, FILMS, fresh=True)
    assert rerun["cached_at"] is None and len(ollama.requests) == before + 2
    assert _ask(app_client, sakila, FILMS)["cached_at"] is not None and len(ollama.requests) == before + 2


def test_the_connection_switch_turns_the_cache_off(
    app_client: TestClient, sakila: dict[str, Any], ollama: OllamaScript
) -> None:
    url, headers = f"/api/connections/{sakila['id']}", sakila["headers"]
    off = app_client.patch(url, json={"answer_cache": False}, headers=headers)
    assert off.status_code == 200 and off.json()["options"]["answer_cache"] is False
    try:
        _fresh_answer(app_client, sakila, ollama, FILMS, FILMS_SQL)
        _fresh_answer(app_client, sakila, ollama, FILMS, FILMS_SQL)
    finally:
        on = app_client.patch(url, json={"answer_cache": True}, headers=headers)
    assert on.json()["options"]["answer_cache"] is True
    assert on.json()["reindex_interval_minutes"] is None  # left out: unchanged
    for bad in ({}, {"answer_cache": None}, {"answer_cache": "sometimes"}):
        assert app_client.patch(url, json=bad, headers=headers).status_code == 422, bad
    other = register_and_login(app_client)
    assert app_client.patch(url, json={"answer_cache": False}, headers=other).status_code == 404


def test_a_re_index_is_a_miss(app_client: TestClient, sakila: dict[str, Any], ollama: OllamaScript) -> None:
    _fresh_answer(app_client, sakila, ollama, FILMS, FILMS_SQL)
    headers = sakila["headers"]
    indexed_at = app_client.get(f"/api/connections/{sakila['id']}", headers=headers).json()["indexed_at"]
    assert app_client.post(f"/api/connections/{sakila['id']}/sync", headers=headers).status_code in (200, 202)
    assert wait_for_sync(app_client, headers, sakila["id"])["status"] == "succeeded"
    assert app_client.get(f"/api/connections/{sakila['id']}", headers=headers).json()["indexed_at"] != indexed_at
    _fresh_answer(app_client, sakila, ollama, FILMS, FILMS_SQL)


def test_redis_cut_mid_session_still_answers(
    app_client: TestClient, sakila: dict[str, Any], ollama: OllamaScript, proxy: RedisProxy
) -> None:
    """Last in the module: the proxy stays cut."""
    _fresh_answer(app_client, sakila, ollama, FILMS, FILMS_SQL)

    def errors() -> float:
        return sum(_metric(app_client, "sextant_cache_errors_total", f'cache="{c}"') for c in ("answer", "embedding"))

    before = errors()
    proxy.cut()
    for _ in range(2):
        _fresh_answer(app_client, sakila, ollama, FILMS, FILMS_SQL)  # no cache, no error
    assert errors() > before
