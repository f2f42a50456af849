"""``POST /api/query/run``: a person's query, run without the model, through the same guard,
read-only runner, limits, rate limit, audit and history as an asked question. Against the real
Sakila database, the Mongo wire server fixture, and the scripted Ollama (or none at all)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pymongo
import pytest
from fastapi.testclient import TestClient

from backend.config import LLMSettings, SecuritySettings, Settings
from backend.engines.base import json_value
from backend.engines.mongo.runner import to_table
from backend.engines.postgres.dialect import PostgresDialect
from backend.main import create_app
from tests.conftest import connect, free_port, mongo_db_url, register_and_login, wait_for_sync
from tests.fake_ollama import OllamaScript

REFUSED_SQL = [
    "INSERT INTO actor (first_name, last_name) VALUES ('A', 'B')",
    "UPDATE film SET title = 'gone'",
    "DELETE FROM payment",
    "DELETE FROM payment WHERE payment_id = 1",
    "DROP TABLE rental",
    "CREATE TABLE mine (id int)",
    "ALTER TABLE film ADD COLUMN x int",
    "TRUNCATE film",
    "GRANT ALL ON film TO PUBLIC",
    "SELECT pg_sleep(10)",
    "SELECT pg_sleep(10), title FROM film",
    "WITH gone AS (DELETE FROM payment RETURNING *) SELECT count(*) FROM gone",
    "WITH changed AS (UPDATE film SET title = 'x' RETURNING film_id) SELECT * FROM changed",
    "SELECT 1; DELETE FROM payment",
    "SELECT title FROM film; SELECT 1",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT * FROM pg_authid",
    "COPY film TO '/tmp/film.csv'",
]

# Each must run and return exactly what PostgreSQL gives for it directly.
PASSING_SQL = [
    # multi-condition WHERE with AND and OR
    "SELECT film_id, title, length, rental_rate FROM film "
    "WHERE (length > 180 AND rental_rate < 1) OR (title LIKE 'ACADEMY%' AND NOT length < 40) ORDER BY film_id",
    # joins
    "SELECT c.customer_id, c.first_name, count(r.rental_id) AS rentals "
    "FROM customer c JOIN rental r ON r.customer_id = c.customer_id "
    "LEFT JOIN address a ON a.address_id = c.address_id "
    "WHERE c.customer_id BETWEEN 1 AND 20 GROUP BY c.customer_id, c.first_name ORDER BY c.customer_id",
    # a CTE
    "WITH counts AS (SELECT category_id, count(*) AS n FROM film_category GROUP BY category_id) "
    "SELECT c.name, counts.n FROM counts JOIN category c ON c.category_id = counts.category_id ORDER BY c.name",
    # window functions
    "SELECT customer_id, payment_id, amount, "
    "rank() OVER (PARTITION BY customer_id ORDER BY amount DESC, payment_id) AS place, "
    "sum(amount) OVER (PARTITION BY customer_id) AS total "
    "FROM payment WHERE customer_id <= 3 ORDER BY customer_id, place",
    # GROUP BY / HAVING
    "SELECT store_id, count(*) AS customers FROM customer GROUP BY store_id HAVING count(*) > 100 ORDER BY store_id",
]


@pytest.fixture
def sakila(client: TestClient, sakila_url: str) -> dict[str, Any]:
    email = f"run-{uuid.uuid4().hex[:8]}@example.com"
    headers = register_and_login(client, email=email)
    return {"headers": headers, "id": connect(client, headers, sakila_url)["id"], "url": sakila_url, "email": email}


def _run(client: TestClient, who: dict[str, Any], query: str, status: int = 200, **extra: Any) -> dict[str, Any]:
    body = {"connection_id": who["id"], "query": query, **extra}
    response = client.post("/api/query/run", json=body, headers=who["headers"])
    assert response.status_code == status, response.text
    out: dict[str, Any] = response.json()
    return out


def _direct(url: str, sql: str) -> tuple[list[str], list[list[Any]]]:
    with psycopg.connect(url) as conn:
        cur = conn.execute(sql)
        return [d.name for d in cur.description or []], [[json_value(v) for v in row] for row in cur.fetchall()]


def _audit(store_dsn: str, email: str) -> list[tuple[str, bool, dict[str, Any]]]:
    with psycopg.connect(store_dsn) as conn:
        rows = conn.execute(
            "SELECT action, success, details FROM audit_events WHERE actor_email = %s "
            "AND action IN ('query', 'query_refused') ORDER BY id",
            (email,),
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def _counts(url: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM payment), (SELECT count(*) FROM film), (SELECT count(*) FROM actor), "
            "(SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'), "
            "(SELECT string_agg(title, ',' ORDER BY film_id) FROM film WHERE film_id < 5)"
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_refused_queries_are_not_run_and_say_why(
    client: TestClient, sakila: dict[str, Any], store_dsn: str, ollama: OllamaScript
) -> None:
    before = _counts(sakila["url"])
    for query in REFUSED_SQL:
        body = _run(client, sakila, query)
        assert body["executed"] is False and body["error_code"] == "query_refused", (query, body)
        assert body["error"] and body["rows"] == [] and body["origin"] == "typed", query
        assert "refused" in body["answer"] and body["error"] not in body["answer"]
    assert _counts(sakila["url"]) == before
    assert ollama.chat_requests() == []  # no model was asked anything
    events = _audit(store_dsn, sakila["email"])
    assert [e[0] for e in events] == ["query_refused"] * len(REFUSED_SQL)  # one per refusal, none ran
    assert [e[2]["query"] for e in events] == REFUSED_SQL
    assert all(e[1] is False and e[2]["error"] and e[2]["origin"] == "typed" for e in events)


def test_everyday_queries_run_and_return_what_postgres_gives(
    client: TestClient, sakila: dict[str, Any], store_dsn: str
) -> None:
    for query in PASSING_SQL:
        body = _run(client, sakila, query)
        columns, rows = _direct(sakila["url"], query)
        assert body["error"] is None and body["executed"] is True, (query, body)
        assert body["columns"] == columns and body["rows"] == rows and body["row_count"] == len(rows), query
        assert body["answer"] == f"{len(rows)} rows." and body["model"] == "" and body["language"] == "sql"
    joined = _run(client, sakila, PASSING_SQL[1])
    assert [(s["object"], s["used"], s["via"]) for s in joined["sources"]] == [
        ("public.customer", True, "query"),
        ("public.rental", True, "query"),
        ("public.address", True, "query"),
    ]
    events = _audit(store_dsn, sakila["email"])
    assert [e[0] for e in events] == ["query"] * (len(PASSING_SQL) + 1)
    assert all(e[1] is True and e[2]["row_count"] is not None and e[2]["error"] is None for e in events)
    assert "payment" in events[3][2]["query"]


def test_names_the_database_lacks_and_database_errors_are_said(
    client: TestClient, sakila: dict[str, Any], store_dsn: str
) -> None:
    missing = _run(client, sakila, "SELECT no_such_column FROM film")
    assert missing["executed"] is False and missing["error_code"] == "unknown_names"
    assert "no_such_column" in missing["error"]
    # A system catalog named with its schema is refused by the name layer: audited as a refusal
    # (as the same query from the model is), not left out of the trail.
    catalog = _run(client, sakila, "SELECT rolname, rolpassword FROM pg_catalog.pg_authid")
    assert catalog["executed"] is False and catalog["error_code"] == "unknown_names" and catalog["rows"] == []
    events = _audit(store_dsn, sakila["email"])
    assert [(e[0], e[1]) for e in events] == [("query_refused", False)] * 2
    assert [e[2]["query"] for e in events] == ["SELECT no_such_column FROM film", catalog["query"]]
    assert "pg_authid" in events[1][2]["error"] and events[1][2]["origin"] == "typed"
    failed = _run(client, sakila, "SELECT 1 / (film_id - film_id) FROM film")
    assert failed["executed"] is False and failed["error_code"] == "db_error" and "division by zero" in failed["error"]
    one = _run(client, sakila, "SELECT title FROM film WHERE film_id = 1")
    assert one["answer"] == "1 row." and one["rows"] == [["ACADEMY DINOSAUR"]]
    none = _run(client, sakila, "SELECT title FROM film WHERE film_id = -1")
    assert none["answer"] == "No rows." and none["executed"] is True


def test_history_records_edited_and_typed_with_their_origin(
    client: TestClient, sakila: dict[str, Any], ollama: OllamaScript
) -> None:
    ollama.reply_sql("SELECT title, length FROM film ORDER BY film_id LIMIT 5")
    asked = client.post(
        "/api/query", json={"connection_id": sakila["id"], "question": "some films"}, headers=sakila["headers"]
    ).json()
    assert asked["origin"] == "asked" and asked["row_count"] == 5
    edited = _run(
        client,
        sakila,
        "SELECT title, length FROM film WHERE length > 100 ORDER BY film_id LIMIT 5",
        edited_from=asked["history_id"],
    )
    assert edited["origin"] == "edited" and edited["conversation_id"] == asked["conversation_id"]
    assert all(row[1] > 100 for row in edited["rows"]) and edited["row_count"] == 5
    refused = _run(client, sakila, "DELETE FROM film", edited_from=asked["history_id"])
    assert refused["origin"] == "edited" and refused["error_code"] == "query_refused"
    typed = _run(client, sakila, "SELECT count(*) AS films FROM film", conversation_id=asked["conversation_id"])
    assert typed["origin"] == "typed" and typed["rows"] == [[1000]]
    items = client.get(
        "/api/history", params={"conversation_id": asked["conversation_id"]}, headers=sakila["headers"]
    ).json()["items"]
    by_id = {i["id"]: i for i in items}
    assert [by_id[b["history_id"]]["origin"] for b in (asked, edited, refused, typed)] == [
        "asked",
        "edited",
        "edited",
        "typed",
    ]
    assert by_id[edited["history_id"]]["question"] == "some films"  # labelled with what it was edited from
    assert by_id[edited["history_id"]]["rows"] == edited["rows"] and by_id[edited["history_id"]]["model"] is None
    assert by_id[refused["history_id"]]["error"] == refused["error"]
    assert by_id[typed["history_id"]]["question"] == "SELECT count(*) AS films FROM film"
    alone = _run(client, sakila, "SELECT 1 AS one")
    assert alone["conversation_id"] != asked["conversation_id"]


def test_another_users_connection_entry_or_conversation_is_not_found(
    client: TestClient, sakila: dict[str, Any], sakila_url: str, ollama: OllamaScript
) -> None:
    ollama.reply_sql("SELECT title FROM film LIMIT 1")
    asked = client.post(
        "/api/query", json={"connection_id": sakila["id"], "question": "a film"}, headers=sakila["headers"]
    ).json()
    other_headers = register_and_login(client)
    other = {"headers": other_headers, "id": connect(client, other_headers, sakila_url)["id"]}
    # Someone else's connection: 404, as for one that does not exist.
    _run(client, {**other, "id": sakila["id"]}, "SELECT 1", status=404)
    _run(client, {**other, "id": str(uuid.uuid4())}, "SELECT 1", status=404)
    # Someone else's answer to edit, or conversation to add to: 404, and nothing ran.
    _run(client, other, "SELECT 1", status=404, edited_from=asked["history_id"])
    _run(client, other, "SELECT 1", status=404, conversation_id=asked["conversation_id"])
    assert client.get("/api/history", headers=other_headers).json()["total"] == 0
    # The owner may edit it, but only against the connection it came from.
    second = connect(client, sakila["headers"], sakila_url)["id"]
    _run(client, {**sakila, "id": second}, "SELECT 1", status=409, edited_from=asked["history_id"])
    _run(client, sakila, "", status=422)
    _run(client, sakila, "SELECT 1", status=422, edited_from="not-a-uuid")


def test_runs_while_the_llm_is_unreachable(settings_factory: Callable[..., Settings], sakila_url: str) -> None:
    settings = settings_factory(llm=LLMSettings(ollama_url=f"http://127.0.0.1:{free_port()}", llm_timeout_s=5))
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        asked = client.post("/api/query", json={"connection_id": cid, "question": "films"}, headers=headers).json()
        assert asked["error_code"] == "llm_unavailable"
        body = _run(client, {"headers": headers, "id": cid}, "SELECT name FROM category ORDER BY name LIMIT 3")
        assert body["executed"] is True and body["rows"] == [["Action"], ["Animation"], ["Children"]]
        assert body["error"] is None and body["answer"] == "3 rows."


def test_the_question_rate_limit_applies(settings_factory: Callable[..., Settings], sakila_url: str) -> None:
    settings = settings_factory(
        security=SecuritySettings(rate_login_failures=1000, rate_signups_per_hour=1000, rate_questions_per_minute=2)
    )
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client)
        who = {"headers": headers, "id": connect(client, headers, sakila_url)["id"]}
        _run(client, who, "SELECT 1 AS one")
        _run(client, who, "DELETE FROM film")  # a refusal counts too
        _run(client, who, "SELECT 1 AS one", status=429)


# ---- MongoDB -------------------------------------------------------------------------------


@pytest.fixture
def shop(client: TestClient, mongo_url: str) -> dict[str, Any]:
    email = f"shop-{uuid.uuid4().hex[:8]}@example.com"
    headers = register_and_login(client, email=email)
    url = mongo_db_url(mongo_url, "shop")
    response = client.post("/api/connections", json={"name": "shop", "kind": "mongodb", "url": url}, headers=headers)
    assert response.status_code == 201, response.text
    assert wait_for_sync(client, headers, response.json()["id"])["status"] == "succeeded"
    return {"headers": headers, "id": response.json()["id"], "email": email, "url": mongo_url}


def _pipeline(collection: str, pipeline: list[dict[str, Any]]) -> str:
    # As an answer shows it (and the editor formats it): indented JSON.
    return json.dumps({"collection": collection, "pipeline": pipeline}, indent=2)


def test_mongo_refusals_and_pass_through(client: TestClient, shop: dict[str, Any], store_dsn: str) -> None:
    db: Any = pymongo.MongoClient(shop["url"])["shop"]
    before = sorted(db.list_collection_names()), db["orders"].count_documents({})
    refused = [
        _pipeline("shop.orders", [{"$match": {}}, {"$out": "stolen"}]),
        _pipeline("shop.orders", [{"$merge": {"into": "customers"}}]),
        _pipeline("shop.orders", [{"$match": {"$where": "sleep(1000)"}}]),
        '{"collection": "shop.orders", "pipeline": [',
        # Nested past Python's JSON decoder (a RecursionError, once a 500 with no audit event).
        '{"collection": "shop.orders", "pipeline": ' + "[" * 5000 + "]" * 5000 + "}",
    ]
    for query in refused:
        body = _run(client, shop, query)
        assert body["executed"] is False and body["error_code"] == "query_refused" and body["error"], body
        assert body["language"] == "mongo"
    assert (sorted(db.list_collection_names()), db["orders"].count_documents({})) == before
    passing: list[list[dict[str, Any]]] = [
        [{"$match": {"$or": [{"status": "paid"}, {"status": "shipped", "tags": "gift"}]}},
         {"$group": {"_id": "$status", "orders": {"$sum": 1}}}, {"$sort": {"_id": 1}}],
        [{"$lookup": {"from": "customers", "localField": "customer_id", "foreignField": "_id", "as": "who"}},
         {"$unwind": "$who"}, {"$group": {"_id": "$who.name", "orders": {"$sum": 1}}}, {"$sort": {"_id": 1}}],
    ]  # fmt: skip
    for pipeline in passing:
        body = _run(client, shop, _pipeline("shop.orders", pipeline))
        columns, rows = to_table(list(db["orders"].aggregate(pipeline)))
        assert body["error"] is None and body["executed"] is True, body
        assert body["columns"] == columns and body["rows"] == rows and rows
    assert [s["object"] for s in body["sources"]] == ["shop.orders", "shop.customers"]
    events = _audit(store_dsn, shop["email"])
    assert [e[0] for e in events] == ["query_refused"] * len(refused) + ["query"] * len(passing)
    assert all(e[2]["language"] == "mongo" for e in events)


# A query of 20,000 characters the guard lets through: about a second of parsing and name checks.
HEAVY_SQL = "SELECT title FROM film WHERE film_id IN (" + ",".join(["1"] * 9500) + ")"


def test_the_guard_runs_off_the_event_loop(
    client: TestClient, sakila: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person's query is checked (and its objects parsed) in a worker thread: a long query,
    which takes the parser a second or more, must not stall every other request meanwhile."""
    on_loop: list[tuple[str, bool]] = []

    def watched(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: PostgresDialect, *args: Any) -> Any:
            try:
                asyncio.get_running_loop()
                on_loop.append((name, True))
            except RuntimeError:
                on_loop.append((name, False))
            return original(self, *args)

        return call

    monkeypatch.setattr(PostgresDialect, "check", watched("check", PostgresDialect.check))
    monkeypatch.setattr(PostgresDialect, "used_objects", watched("used_objects", PostgresDialect.used_objects))
    body = _run(client, sakila, HEAVY_SQL)
    assert body["executed"] is True and body["rows"] == [["ACADEMY DINOSAUR"]], body
    # Deep nesting still ends in a refusal in the worker thread (its stack holds the recursion limit).
    deep = _run(client, sakila, "SELECT " + "(" * 3000 + "1" + ")" * 3000)
    assert deep["error_code"] == "query_refused" and "recursion" in deep["error"]
    assert on_loop == [("check", False), ("used_objects", False), ("check", False)]
