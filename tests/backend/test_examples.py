"""Verified examples (``/api/connections/{id}/examples``): kept only after the guard let the query
through and it ran read-only without error, with the question's embedding; CRUD, owner-only,
import and export. Against the real Sakila database, the Mongo wire server fixture, the real
embedding model and the store."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

import psycopg
import pymongo
import pytest
from fastapi.testclient import TestClient

from embedding_service.embedder import Embedder
from tests.conftest import connect, mongo_db_url, register_and_login, wait_for_sync
from tests.fake_ollama import OllamaScript

# Each must be refused with 422 and a reason, and nothing kept.
REFUSED = {
    "DELETE FROM film": "",
    "SELECT title FROM no_such_table": "no_such_table",
    "SELEC title FROM film": "",
    "SELECT * FROM pg_authid": "",
    "SELECT rolname FROM pg_catalog.pg_roles": "",
    "SELECT title, 1 / (film_id - film_id) AS boom FROM film": "The database said:",
    "WITH gone AS (DELETE FROM payment RETURNING *) SELECT count(*) FROM gone": "",
    "SELECT 1; DELETE FROM payment": "",
}

# Each must be kept, reading exactly these objects.
LET_THROUGH = {
    "SELECT c.first_name, count(r.rental_id) AS rentals FROM customer c JOIN rental r ON r.customer_id = c.customer_id "
    "WHERE (c.store_id = 1 AND c.active = 1) OR c.last_name LIKE 'S%' GROUP BY c.first_name": [
        "public.customer",
        "public.rental",
    ],
    "WITH counts AS (SELECT category_id, count(*) AS n FROM film_category GROUP BY category_id) "
    "SELECT c.name, counts.n FROM counts JOIN category c ON c.category_id = counts.category_id": [
        "public.film_category",
        "public.category",
    ],
    "SELECT store_id, count(*) AS customers FROM customer GROUP BY store_id HAVING count(*) > 100": ["public.customer"],
    "SELECT customer_id, amount, rank() OVER (PARTITION BY customer_id ORDER BY amount DESC) AS place "
    "FROM payment WHERE customer_id <= 3": ["public.payment"],
    "SELECT title FROM film WHERE film_id IN (SELECT film_id FROM inventory WHERE store_id = 2)": [
        "public.film",
        "public.inventory",
    ],
}


@pytest.fixture
def sakila(client: TestClient, sakila_url: str) -> dict[str, Any]:
    email = f"ex-{uuid.uuid4().hex[:8]}@example.com"
    headers = register_and_login(client, email=email)
    return {"headers": headers, "id": connect(client, headers, sakila_url)["id"], "email": email}


def _url(who: dict[str, Any], rest: str = "") -> str:
    return f"/api/connections/{who['id']}/examples{rest}"


def _create(client: TestClient, who: dict[str, Any], question: str, query: str, status: int = 201, **extra: Any) -> Any:
    response = client.post(_url(who), json={"question": question, "query": query, **extra}, headers=who["headers"])
    assert response.status_code == status, (query, response.text)
    return response.json()


def _list(client: TestClient, who: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.get(_url(who), headers=who["headers"])
    assert response.status_code == 200, response.text
    out: list[dict[str, Any]] = response.json()
    return out


def _events(store_dsn: str, email: str, *actions: str) -> list[tuple[str, bool, dict[str, Any]]]:
    with psycopg.connect(store_dsn) as conn:
        rows = conn.execute(
            "SELECT action, success, details FROM audit_events WHERE actor_email = %s AND action = ANY(%s) ORDER BY id",
            (email, list(actions)),
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def _embedding(store_dsn: str, example_id: str) -> list[float]:
    with psycopg.connect(store_dsn) as conn:
        row = conn.execute("SELECT embedding::text FROM verified_examples WHERE id = %s", (example_id,)).fetchone()
    assert row is not None
    return [float(x) for x in row[0].strip("[]").split(",")]


def test_crud_round_trip_with_embedding_and_audit(
    client: TestClient, sakila: dict[str, Any], store_dsn: str, embedder: Embedder
) -> None:
    made = _create(client, sakila, "  How many films are there? ", "select count(*) from film")
    assert made["question"] == "How many films are there?" and made["source"] == "manual"
    assert made["language"] == "sql" and made["used_objects"] == ["public.film"] and made["history_id"] is None
    assert made["verified_by_email"] == sakila["email"] and "public.film" in made["query"]
    [expected] = embedder.embed([made["question"]])
    stored = _embedding(store_dsn, made["id"])
    assert len(stored) == 384 and sum(a * b for a, b in zip(stored, expected, strict=True)) > 0.999

    second = _create(client, sakila, "Longest films", "SELECT title FROM film ORDER BY length DESC LIMIT 5")
    assert [e["id"] for e in _list(client, sakila)] == [second["id"], made["id"]]  # newest first

    changed = client.put(
        _url(sakila, f"/{made['id']}"),
        json={"question": "How many actors are there", "query": "SELECT count(*) FROM actor"},
        headers=sakila["headers"],
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["used_objects"] == ["public.actor"] and changed.json()["source"] == "manual"
    [again] = embedder.embed(["How many actors are there"])
    stored = _embedding(store_dsn, made["id"])
    assert sum(a * b for a, b in zip(stored, again, strict=True)) > 0.999
    # An update may not take another example's question, nor keep a broken query.
    taken = {"question": "longest films!", "query": "SELECT 1"}
    assert client.put(_url(sakila, f"/{made['id']}"), json=taken, headers=sakila["headers"]).status_code == 409
    broken = {"question": "x", "query": "DELETE FROM actor"}
    assert client.put(_url(sakila, f"/{made['id']}"), json=broken, headers=sakila["headers"]).status_code == 422

    assert client.delete(_url(sakila, f"/{made['id']}"), headers=sakila["headers"]).status_code == 204
    assert client.delete(_url(sakila, f"/{made['id']}"), headers=sakila["headers"]).status_code == 404
    assert [e["id"] for e in _list(client, sakila)] == [second["id"]]
    actions = [e[0] for e in _events(store_dsn, sakila["email"], "example_create", "example_update", "example_delete")]
    assert actions == ["example_create", "example_create", "example_update", "example_delete"]
    runs = _events(store_dsn, sakila["email"], "query")
    assert len(runs) == 3 and all(ok for _a, ok, _d in runs)  # every run reached the audit trail


def test_duplicate_question_is_a_conflict(client: TestClient, sakila: dict[str, Any], store_dsn: str) -> None:
    _create(client, sakila, "How many films are there?", "SELECT count(*) FROM film")
    body = _create(client, sakila, "how many  films are there", "SELECT count(*) FROM film", status=409)
    assert "already" in body["detail"]
    _create(client, sakila, "How many films are there in store 2?", "SELECT count(*) FROM inventory WHERE store_id = 2")
    # The duplicate was refused before anything ran: two runs for two examples.
    assert len(_events(store_dsn, sakila["email"], "query")) == 2


def test_broken_queries_are_refused_with_the_reason(client: TestClient, sakila: dict[str, Any], store_dsn: str) -> None:
    for query, says in REFUSED.items():
        body = _create(client, sakila, f"Question {uuid.uuid4().hex[:6]}", query, status=422)
        assert isinstance(body["detail"], str) and body["detail"], query
        assert says in body["detail"], (query, body)
    assert _list(client, sakila) == []
    events = _events(store_dsn, sakila["email"], "query", "query_refused")
    # The runtime error ran (a failed ``query`` event); everything else was refused before it ran.
    assert [e[0] for e in events].count("query") == 1 and not next(e for e in events if e[0] == "query")[1]
    assert [e[0] for e in events].count("query_refused") == len(REFUSED) - 1
    with psycopg.connect(store_dsn) as conn:
        assert conn.execute(
            "SELECT count(*) FROM verified_examples WHERE connection_id = %s", (sakila["id"],)
        ).fetchone() == (0,)


def test_good_queries_are_kept_with_their_objects(client: TestClient, sakila: dict[str, Any]) -> None:
    for i, (query, objects) in enumerate(LET_THROUGH.items()):
        body = _create(client, sakila, f"Question number {i}", query)
        assert body["used_objects"] == objects, (query, body)
    assert len(_list(client, sakila)) == len(LET_THROUGH)


def test_check_runs_without_saving(client: TestClient, sakila: dict[str, Any]) -> None:
    ok = client.post(
        _url(sakila, "/check"),
        json={"query": "SELECT title FROM film ORDER BY film_id LIMIT 3"},
        headers=sakila["headers"],
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["executed"] and body["error"] is None and body["columns"] == ["title"] and body["row_count"] == 3
    assert body["rows"] == [["ACADEMY DINOSAUR"], ["ACE GOLDFINGER"], ["ADAPTATION HOLES"]]
    assert body["used_objects"] == ["public.film"]
    bad = client.post(_url(sakila, "/check"), json={"query": "DROP TABLE film"}, headers=sakila["headers"]).json()
    assert bad["executed"] is False and bad["error"] and bad["error_code"] == "query_refused" and bad["rows"] == []
    assert _list(client, sakila) == []


def test_saved_from_an_answer(
    client: TestClient, sakila: dict[str, Any], sakila_url: str, ollama: OllamaScript
) -> None:
    ollama.reply_sql("SELECT title FROM film ORDER BY title LIMIT 3")
    answer = client.post(
        "/api/query", json={"connection_id": sakila["id"], "question": "Three films"}, headers=sakila["headers"]
    )
    history_id = answer.json()["history_id"]
    body = _create(
        client, sakila, "Three films", "SELECT title FROM film ORDER BY title LIMIT 3", history_id=history_id
    )
    assert body["source"] == "feedback" and body["history_id"] == history_id
    other = register_and_login(client)
    theirs = {"headers": other, "id": connect(client, other, sakila_url)["id"]}
    # Someone else's answer is not found; the caller's answer on another connection is a conflict.
    _create(client, theirs, "Mine now", "SELECT 1", status=404, history_id=history_id)
    second = {"headers": sakila["headers"], "id": connect(client, sakila["headers"], sakila_url)["id"]}
    _create(client, second, "Elsewhere", "SELECT 1", status=409, history_id=history_id)


def test_only_the_owner(client: TestClient, sakila: dict[str, Any], sakila_url: str) -> None:
    made = _create(client, sakila, "How many films", "SELECT count(*) FROM film")
    stranger = {"headers": register_and_login(client), "id": sakila["id"]}
    h = stranger["headers"]
    calls = [
        client.get(_url(stranger), headers=h),
        client.post(_url(stranger), json={"question": "q", "query": "SELECT 1"}, headers=h),
        client.put(_url(stranger, f"/{made['id']}"), json={"question": "q", "query": "SELECT 1"}, headers=h),
        client.delete(_url(stranger, f"/{made['id']}"), headers=h),
        client.post(_url(stranger, "/check"), json={"query": "SELECT 1"}, headers=h),
        client.post(_url(stranger, "/import"), json={"format": "csv", "content": "question,query\n"}, headers=h),
        client.get(_url(stranger, "/export"), headers=h),
        client.get(f"/api/connections/{sakila['id']}/suggestions", headers=h),
    ]
    assert [c.status_code for c in calls] == [404] * len(calls), [c.text for c in calls]
    assert [e["id"] for e in _list(client, sakila)] == [made["id"]]
    # An example id of another connection is not found through this one.
    mine = {"headers": stranger["headers"], "id": connect(client, h, sakila_url)["id"]}
    assert client.delete(_url(mine, f"/{made['id']}"), headers=h).status_code == 404


def test_import_jsonl_and_csv_with_exact_counts(client: TestClient, sakila: dict[str, Any], store_dsn: str) -> None:
    _create(client, sakila, "How many films are there?", "SELECT count(*) FROM film")
    lines = [
        {"question": "How many actors?", "query": "SELECT count(*) FROM actor"},
        {"question": "HOW MANY FILMS ARE THERE", "query": "SELECT 1"},  # duplicate of the existing one
        {"question": "Delete them", "query": "DELETE FROM film"},  # refused by the guard
        {"question": "Films per rating", "query": "SELECT rating, count(*) FROM film GROUP BY rating"},
        {"question": "how many actors", "query": "SELECT 2"},  # duplicate within the file
        {"question": "Ghosts", "query": "SELECT * FROM ghosts"},  # unknown table
        {"question": "", "query": "SELECT 1"},  # no question
    ]
    content = "\n".join(json.dumps(x) for x in lines) + "\nnot json\n\n"
    body = client.post(_url(sakila, "/import"), json={"format": "jsonl", "content": content}, headers=sakila["headers"])
    assert body.status_code == 200, body.text
    result = body.json()
    assert result["imported"] == 2 and result["skipped"] == 2
    assert [(r["line"], r["question"]) for r in result["refused"]] == [
        (3, "Delete them"),
        (6, "Ghosts"),
        (7, ""),
        (8, ""),
    ]
    assert all(r["reason"] for r in result["refused"]) and "ghosts" in result["refused"][1]["reason"]

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "query"])
    writer.writerow(["Films longer than\ntwo hours", "SELECT title\nFROM film WHERE length > 120"])  # spans lines
    writer.writerow(["films per rating", "SELECT 1"])  # duplicate
    writer.writerow(["Oops", "SELECT 1/0"])
    writer.writerow(["Customers per store", "SELECT store_id, count(*) FROM customer GROUP BY store_id"])
    body = client.post(
        _url(sakila, "/import"), json={"format": "csv", "content": out.getvalue()}, headers=sakila["headers"]
    )
    result = body.json()
    assert (result["imported"], result["skipped"]) == (2, 1), result
    assert [(r["line"], r["question"]) for r in result["refused"]] == [(6, "Oops")]
    assert result["refused"][0]["reason"].startswith("The database said:")
    examples = _list(client, sakila)
    assert len(examples) == 5 and {e["source"] for e in examples} == {"manual", "import"}
    imports = _events(store_dsn, sakila["email"], "example_import")
    assert [e[2]["imported"] for e in imports] == [2, 2]

    bad = client.post(
        _url(sakila, "/import"), json={"format": "csv", "content": "q,sql\nx,y\n"}, headers=sakila["headers"]
    )
    assert bad.status_code == 422 and "question,query" in bad.json()["detail"]
    many = "".join(json.dumps({"question": f"q{i}", "query": "SELECT 1"}) + "\n" for i in range(1001))
    assert (
        client.post(
            _url(sakila, "/import"), json={"format": "jsonl", "content": many}, headers=sakila["headers"]
        ).status_code
        == 422
    )
    huge = "x" * 2_000_001
    assert (
        client.post(
            _url(sakila, "/import"), json={"format": "jsonl", "content": huge}, headers=sakila["headers"]
        ).status_code
        == 413
    )


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_then_import_round_trip(client: TestClient, sakila: dict[str, Any], sakila_url: str, fmt: str) -> None:
    _create(client, sakila, 'Films called "ACE", with a comma', "SELECT title FROM film WHERE title LIKE 'ACE%'")
    _create(client, sakila, "Actors\nby last name", "SELECT last_name, count(*) FROM actor GROUP BY last_name")
    exported = client.get(_url(sakila, "/export"), params={"format": fmt}, headers=sakila["headers"])
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    assert exported.headers["content-disposition"].endswith(f'.{fmt}"')
    other = {"headers": sakila["headers"], "id": connect(client, sakila["headers"], sakila_url)["id"]}
    result = client.post(
        _url(other, "/import"), json={"format": fmt, "content": exported.text}, headers=other["headers"]
    ).json()
    assert result == {"imported": 2, "skipped": 0, "refused": []}
    pairs = {(e["question"], e["query"]) for e in _list(client, sakila)}
    assert {(e["question"], e["query"]) for e in _list(client, other)} == pairs
    # Importing the same file again skips every line.
    again = client.post(
        _url(other, "/import"), json={"format": fmt, "content": exported.text}, headers=other["headers"]
    ).json()
    assert again == {"imported": 0, "skipped": 2, "refused": []}


@pytest.fixture
def shop(client: TestClient, mongo_url: str) -> dict[str, Any]:
    email = f"exm-{uuid.uuid4().hex[:8]}@example.com"
    headers = register_and_login(client, email=email)
    url = mongo_db_url(mongo_url, "shop")
    response = client.post("/api/connections", json={"name": "shop", "kind": "mongodb", "url": url}, headers=headers)
    assert response.status_code == 201, response.text
    assert wait_for_sync(client, headers, response.json()["id"])["status"] == "succeeded"
    return {"headers": headers, "id": response.json()["id"], "email": email, "url": mongo_url}


def test_mongo_examples(client: TestClient, shop: dict[str, Any], store_dsn: str) -> None:
    db: Any = pymongo.MongoClient(shop["url"])["shop"]
    before = sorted(db.list_collection_names())
    per_status = {"collection": "shop.orders", "pipeline": [{"$group": {"_id": "$status", "n": {"$sum": 1}}}]}
    made = _create(client, shop, "Orders per status", json.dumps(per_status))
    assert made["language"] == "mongo" and made["used_objects"] == ["shop.orders"]
    assert json.loads(made["query"])["pipeline"] == per_status["pipeline"]
    out_stage = {"collection": "shop.orders", "pipeline": [{"$match": {}}, {"$out": "stolen"}]}
    refused = _create(client, shop, "Copy the orders", json.dumps(out_stage), status=422)
    assert refused["detail"]
    assert sorted(db.list_collection_names()) == before
    assert _events(store_dsn, shop["email"], "query_refused")

    lookup = {
        "collection": "shop.orders",
        "pipeline": [
            {"$lookup": {"from": "customers", "localField": "customer_id", "foreignField": "_id", "as": "who"}},
            {"$unwind": "$who"},
            {"$group": {"_id": "$who.name", "orders": {"$sum": 1}}},
        ],
    }
    content = "\n".join(
        [
            json.dumps({"question": "Orders per customer", "query": lookup}),  # the object form
            json.dumps({"question": "Orders", "query": json.dumps({"collection": "shop.orders", "pipeline": []})}),
            json.dumps({"question": "orders per status", "query": per_status}),  # duplicate
            json.dumps(
                {"question": "Merge", "query": {"collection": "shop.orders", "pipeline": [{"$merge": {"into": "x"}}]}}
            ),
        ]
    )
    result = client.post(
        _url(shop, "/import"), json={"format": "jsonl", "content": content}, headers=shop["headers"]
    ).json()
    assert (result["imported"], result["skipped"]) == (2, 1) and [r["line"] for r in result["refused"]] == [4]
    assert sorted(db.list_collection_names()) == before
    by_question = {e["question"]: e for e in _list(client, shop)}
    assert by_question["Orders per customer"]["used_objects"] == ["shop.orders", "shop.customers"]

    exported = client.get(_url(shop, "/export"), params={"format": "jsonl"}, headers=shop["headers"]).text
    first = json.loads(exported.splitlines()[0])
    assert first["question"] == "Orders per status" and first["query"]["collection"] == "shop.orders"
    client.delete(_url(shop, f"/{made['id']}"), headers=shop["headers"])
    again = client.post(
        _url(shop, "/import"), json={"format": "jsonl", "content": exported}, headers=shop["headers"]
    ).json()
    assert again == {"imported": 1, "skipped": 2, "refused": []}
