"""Evaluation of a model on a connection, end to end through the API: import an evaluation set
(refused lines reported), run it through the real ask flow with the scripted Ollama told which
questions to get right, wrong, refused or without a query, and check that every question's
outcome and the run's scores are exactly that. Against the real Sakila database, the real
embedding model and store, and the Mongo wire server with the sample data."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from backend.components.question_text import normalise_question
from backend.services.ask_plan import AskOptions, AskPlan
from backend.services.ask_service import AskService
from tests.conftest import connect, mongo_db_url, register_and_login, wait_for_sync
from tests.fake_ollama import OllamaScript

SET_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "sakila_evaluation.jsonl"
CASES: list[dict[str, str]] = [json.loads(line) for line in SET_FILE.read_text().splitlines() if line.strip()]
QUESTIONS = [c["question"] for c in CASES]
REPAIR = "That query failed"

# What the scripted model answers, by question index: the first attempt and (when it is refused
# or fails) the repair. Indexes 0-11 answer with the expected SQL itself.
EQUIVALENT = {
    12: "SELECT count(*) AS n, i.store_id FROM inventory i JOIN rental r USING (inventory_id) GROUP BY i.store_id",
    13: "SELECT sum(p.amount) AS spent, c.last_name, c.first_name, c.customer_id FROM payment p "
    "JOIN customer c ON c.customer_id = p.customer_id GROUP BY c.customer_id "
    "ORDER BY spent DESC, c.customer_id LIMIT 10",
    14: "SELECT count(*), co.country FROM country co JOIN city ci ON ci.country_id = co.country_id "
    "GROUP BY co.country HAVING count(*) > 20 ORDER BY 1",
    15: "SELECT f.title FROM film f WHERE f.length < 50 AND f.rating = 'G' ORDER BY f.title DESC",
    16: "SELECT count(i.inventory_id) AS copies, f.title FROM film f JOIN inventory i ON i.film_id = f.film_id "
    "WHERE f.title LIKE 'ACADEMY%' AND i.store_id = 1 GROUP BY f.title",
    17: "SELECT rating, avg(length)::numeric(6, 2) FROM film GROUP BY 1",
}
WRONG = {
    18: "SELECT a.first_name, a.last_name FROM actor a JOIN film_actor fa ON fa.actor_id = a.actor_id "
    "JOIN film f ON f.film_id = fa.film_id WHERE f.title = 'ACE GOLDFINGER'",
    19: "SELECT a.actor_id, a.first_name, a.last_name, count(*) AS films FROM actor a JOIN film_actor fa "
    "ON fa.actor_id = a.actor_id GROUP BY a.actor_id ORDER BY films DESC, a.actor_id LIMIT 4",
    20: "SELECT count(*) FROM rental WHERE rental_date >= '2005-06-01' AND rental_date < '2005-07-01'",
    21: "SELECT count(*) FROM rental WHERE return_date IS NOT NULL",
    22: "SELECT min(replacement_cost) FROM film",
    23: "SELECT store_id, count(*) FROM customer WHERE customer_id > 10 GROUP BY store_id",
    24: "SELECT first_name FROM staff",  # a column short
}
REFUSED = {
    25: ("DELETE FROM payment", "DELETE FROM payment WHERE amount > 10"),
    26: ("SELECT count(*) FROM film_archive", "SELECT count(*) FROM films_archive"),
    27: ("DELETE FROM rental", "SELECT count(*) FROM rental_archive"),
}
NO_QUERY = 28  # replies in prose, twice
DB_ERROR = 29  # a query the guard passes and the database refuses, twice
EXPECTED: dict[int, str] = {
    **dict.fromkeys(range(18), "match"),
    **dict.fromkeys(WRONG, "mismatch"),
    **dict.fromkeys(REFUSED, "refused"),
    NO_QUERY: "no_query",
    DB_ERROR: "error",
}


def scripted_reply(body: dict[str, Any]) -> str | None:
    """The reply to one chat request: found by the question among its user messages."""
    if body.get("stream"):
        return None
    users = [m["content"] for m in body["messages"] if m["role"] == "user"]
    index = next((QUESTIONS.index(u) for u in users if u in QUESTIONS), None)
    if index is None:
        return None
    repair = any(u.startswith(REPAIR) for u in users)
    if index in REFUSED:
        return json.dumps({"sql": REFUSED[index][repair]})
    if index == NO_QUERY:
        return "I am not sure which table holds that."
    if index == DB_ERROR:
        return json.dumps({"sql": "SELECT count(*) / 0 FROM payment WHERE amount > 10"})
    sql = EQUIVALENT.get(index) or WRONG.get(index) or CASES[index]["query"]
    return json.dumps({"sql": sql})


def wait_for_run(
    client: TestClient, headers: dict[str, str], cid: str, run_id: str, timeout: float = 240
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/connections/{cid}/evaluations/{run_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] not in ("pending", "running"):
            return body
        assert time.monotonic() < deadline, f"the run did not finish: {body['done']}/{body['total']}"
        time.sleep(0.2)


def _import(client: TestClient, headers: dict[str, str], cid: str, **body: Any) -> Any:
    return client.put(f"/api/connections/{cid}/evaluation-set", json=body, headers=headers)


def test_an_evaluation_of_sakila_scores_exactly_what_the_model_was_told(
    client: TestClient, sakila_url: str, ollama: OllamaScript, store_dsn: str
) -> None:
    email = f"eval-{uuid.uuid4().hex[:8]}@example.com"
    headers = register_and_login(client, email=email)
    cid = connect(client, headers, sakila_url)["id"]

    # Import: 30 good lines, and three the import refuses (a write, an unknown table, broken JSON).
    bad = [
        json.dumps({"question": "Remove payments", "query": "DELETE FROM payment"}),
        json.dumps({"question": "Archived films", "sql": "SELECT * FROM film_archive"}),
        '{"question": "broken", ',
    ]
    content = "\n".join(SET_FILE.read_text().splitlines()[:10] + bad + SET_FILE.read_text().splitlines()[10:])
    imported = _import(client, headers, cid, format="jsonl", content=content, mode="replace")
    assert imported.status_code == 200, imported.text
    body = imported.json()
    assert body["added"] == 30 and body["total"] == 30
    assert [r["line"] for r in body["refused"]] == [11, 12, 13]
    assert "refused by the guard" in body["refused"][0]["reason"]
    assert "film_archive" in body["refused"][1]["reason"]
    assert body["refused"][2]["reason"].startswith("not valid JSON")
    listed = client.get(f"/api/connections/{cid}/evaluation-set", headers=headers).json()
    assert listed["total"] == 30 and listed["language"] == "sql"
    assert [c["question"] for c in listed["cases"]] == QUESTIONS

    ollama.handler = scripted_reply
    started = client.post(f"/api/connections/{cid}/evaluations", json={"model": "qwen2.5-coder:7b"}, headers=headers)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    # At most one running evaluation per connection.
    again = client.post(f"/api/connections/{cid}/evaluations", json={}, headers=headers)
    assert again.status_code == 409, again.text

    run = wait_for_run(client, headers, cid, run_id)
    assert run["status"] == "done", run
    outcomes = {r["position"]: r["outcome"] for r in run["results"]}
    assert outcomes == EXPECTED
    assert run["done"] == run["total"] == 30 and run["scored"] == 30
    assert run["correct"] == 18 and run["accuracy"] == pytest.approx(18 / 30)
    assert all(r["correct"] == (r["outcome"] == "match") for r in run["results"])
    assert {r["model"] for r in ollama.chat_requests()} == {"qwen2.5-coder:7b"}
    assert not ollama.chat_requests(streaming=True)  # no prose over the rows

    results = run["results"]
    recalls = [r["context_recall"] for r in results]
    assert all(v is not None and 0 <= v <= 1 for v in recalls)
    assert run["context_recall"] == pytest.approx(sum(recalls) / len(recalls))
    assert results[0]["context_recall"] == 1.0 and results[0]["missing_objects"] == []
    for r in results:
        if r["context_recall"] < 1:
            assert r["missing_objects"], r
    assert all(r["timings"]["total"] > 0 and r["timings"]["expected"] > 0 for r in results)
    assert run["median_ms"] > 0

    # What the screen shows of a question.
    swapped = results[13]
    assert swapped["generated_query"] and "sum(p.amount)" in swapped["generated_query"].lower()
    assert swapped["diff"]["column_map"] == [3, 2, 1, 0] and swapped["diff"]["ordered"] is True
    wrong = results[18]
    assert wrong["diff"]["reason"] == "4 rows where 10 were expected" and wrong["diff"]["only_expected"]
    assert wrong["diff"]["only_generated"] and wrong["diff"]["expected_row_count"] == 10
    assert results[23]["diff"]["reason"] == "the rows differ" and len(results[23]["diff"]["only_generated"]) == 2
    assert results[24]["diff"]["generated_columns"] == ["first_name"]
    assert "DELETE" in results[25]["generated_query"] or "rental_archive" in results[27]["generated_query"]
    assert results[25]["error"] and results[29]["error"] and "division by zero" in results[29]["error"]
    assert results[NO_QUERY]["generated_query"] is None

    # Every query of the run reached the audit trail; nothing went into the history.
    with psycopg.connect(store_dsn) as conn:
        actions = [row[0] for row in conn.execute("SELECT action FROM audit_events WHERE actor_email = %s", (email,))]
        history = conn.execute("SELECT count(*) FROM query_history WHERE connection_id = %s", (cid,)).fetchone()
    assert actions.count("query") >= 30 + 25  # each expected query, and each generated query that ran
    assert actions.count("query_refused") == 4  # the three refused questions and the one with no query
    assert history == (0,)

    # A second run, with another model (the person's default), on the set with one more question
    # whose expected query fails: it does not count against the model.
    appended = _import(
        client, headers, cid, format="csv", content="question,query\nBroken on purpose,SELECT count(*) / 0 FROM film\n",
        mode="append",
    )  # fmt: skip
    assert appended.json()["added"] == 1 and appended.json()["total"] == 31
    second_id = client.post(f"/api/connections/{cid}/evaluations", json={}, headers=headers).json()["id"]
    second = wait_for_run(client, headers, cid, second_id)
    assert second["model"] == "llama3.2" and second["status"] == "done"
    assert second["done"] == 31 and second["scored"] == 30 and second["correct"] == 18
    assert second["accuracy"] == pytest.approx(18 / 30)
    assert (
        second["results"][30]["outcome"] == "expected_failed" and "division by zero" in second["results"][30]["error"]
    )
    runs = client.get(f"/api/connections/{cid}/evaluations", headers=headers).json()["runs"]
    assert [r["id"] for r in runs] == [second_id, run_id]
    assert [r["model"] for r in runs] == ["llama3.2", "qwen2.5-coder:7b"]
    assert [r["scored"] for r in runs] == [30, 30]

    # Owner only: anyone else gets 404 for all of it.
    other = register_and_login(client)
    base = f"/api/connections/{cid}"
    for method, path, payload in [
        ("GET", "/evaluation-set", None),
        ("PUT", "/evaluation-set", {"format": "csv", "content": "question,query\nq,SELECT 1\n"}),
        ("DELETE", "/evaluation-set", None),
        ("POST", "/evaluations", {}),
        ("GET", "/evaluations", None),
        ("GET", f"/evaluations/{run_id}", None),
        ("POST", f"/evaluations/{run_id}/cancel", None),
        ("DELETE", f"/evaluations/{run_id}", None),
    ]:
        response = client.request(method, base + path, json=payload, headers=other)
        assert response.status_code == 404, (method, path, response.text)
    assert client.get(f"{base}/evaluations/{uuid.uuid4()}", headers=headers).status_code == 404

    # An unknown model is refused before anything runs.
    unknown = client.post(f"{base}/evaluations", json={"model": "sqlcoder:15b"}, headers=headers)
    assert unknown.status_code == 422 and "sqlcoder" in unknown.json()["detail"]

    assert client.delete(f"{base}/evaluations/{run_id}", headers=headers).status_code == 204
    assert client.get(f"{base}/evaluations/{run_id}", headers=headers).status_code == 404
    assert [r["id"] for r in client.get(f"{base}/evaluations", headers=headers).json()["runs"]] == [second_id]
    assert client.delete(f"{base}/evaluation-set", headers=headers).status_code == 204
    assert client.get(f"{base}/evaluation-set", headers=headers).json()["total"] == 0
    empty = client.post(f"{base}/evaluations", json={}, headers=headers)
    assert empty.status_code == 422


def test_import_refuses_lines_with_their_reason_and_changes_nothing_when_none_is_usable(
    client: TestClient, sakila_url: str
) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    csv_text = (
        "question,query\n"
        '"How many films, in all?",SELECT count(*) FROM film\n'
        "Drop it,DROP TABLE film\n"
        ",SELECT 1\n"
        '"Multi\nline question",SELECT count(*) FROM actor\n'
        "No query,\n"
    )
    body = _import(client, headers, cid, format="csv", content=csv_text).json()
    assert body["added"] == 2 and body["total"] == 2
    assert [(r["line"], r["reason"].split(":")[0]) for r in body["refused"]] == [
        (3, "refused by the guard"),
        (4, 'no "question"'),
        (7, 'no "query" (or "expected_query", "sql")'),
    ]
    cases = client.get(f"/api/connections/{cid}/evaluation-set", headers=headers).json()["cases"]
    assert [c["question"] for c in cases] == ["How many films, in all?", "Multi\nline question"]
    # Nothing usable: the set stays as it was, even in replace mode.
    nothing = _import(
        client, headers, cid, format="jsonl", content='{"question": "x", "query": "UPDATE film SET title = 1"}'
    )
    assert nothing.json()["added"] == 0 and nothing.json()["total"] == 2
    bad_header = _import(client, headers, cid, format="csv", content="q,sql_text\na,SELECT 1\n").json()
    assert bad_header["refused"] == [{"line": 1, "reason": "the header must name the columns question and query"}]
    assert _import(client, headers, cid, format="xml", content="x").status_code == 422
    assert _import(client, headers, cid, format="jsonl", content="\n\n").status_code == 422


def test_a_mongo_evaluation_on_the_sample_data(client: TestClient, mongo_url: str, ollama: OllamaScript) -> None:
    headers = register_and_login(client)
    created = client.post(
        "/api/connections", json={"name": "samples", "kind": "mongodb", "url": mongo_db_url(mongo_url, "sample_mflix")},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert wait_for_sync(client, headers, cid)["status"] == "succeeded"
    by_state = [{"$group": {"_id": "$location.address.state", "n": {"$sum": 1}}}, {"$sort": {"n": -1, "_id": 1}}]
    minnesota = [{"$match": {"location.address.state": "MN"}}, {"$count": "n"}]
    ned = {"collection": "users", "filter": {"name": "Ned Stark"}, "projection": {"_id": 0, "name": 1, "email": 1}}
    cases = [
        ("How many theaters are in Minnesota?", {"collection": "theaters", "pipeline": minnesota}),
        (
            "Which five states have the most theaters?",
            {"collection": "theaters", "pipeline": [*by_state, {"$limit": 5}]},
        ),
        ("How many users are there?", {"collection": "users", "pipeline": [{"$count": "users"}]}),
        ("List the users named Ned Stark", ned),
    ]
    lines = [json.dumps({"question": q, "query": query}) for q, query in cases]
    lines.append(json.dumps({"question": "Write out", "query": {"collection": "users", "pipeline": [{"$out": "x"}]}}))
    lines.append(json.dumps({"question": "As text", "query": json.dumps(cases[2][1])}))
    imported = _import(client, headers, cid, format="jsonl", content="\n".join(lines)).json()
    assert imported["added"] == 5 and [r["line"] for r in imported["refused"]] == [5]

    replies = {
        cases[0][0]: cases[0][1],  # the same pipeline
        cases[1][0]: {  # the same rows, the columns the other way round and renamed
            "collection": "theaters",
            "pipeline": [*by_state, {"$limit": 5}, {"$project": {"_id": 0, "theaters": "$n", "state": "$_id"}}],
        },
        cases[2][0]: {"collection": "users", "pipeline": [{"$match": {"name": "Ned Stark"}}, {"$count": "users"}]},
        cases[3][0]: {"collection": "users", "pipeline": [{"$out": "stolen"}]},  # refused, twice
        "As text": cases[2][1],
    }

    def reply(body: dict[str, Any]) -> str | None:
        users = [m["content"] for m in body["messages"] if m["role"] == "user"]
        question = next(u for u in users if u in replies)
        return json.dumps(replies[question])

    ollama.handler = reply
    run_id = client.post(f"/api/connections/{cid}/evaluations", json={}, headers=headers).json()["id"]
    run = wait_for_run(client, headers, cid, run_id)
    assert run["status"] == "done", run
    assert [r["outcome"] for r in run["results"]] == ["match", "match", "mismatch", "refused", "match"]
    assert run["accuracy"] == pytest.approx(3 / 5)
    assert run["results"][0]["context_recall"] == 1.0
    assert run["results"][1]["diff"]["ordered"] is True and run["results"][1]["diff"]["column_map"] == [1, 0]
    assert run["context_recall"] is not None and run["median_ms"] > 0


def test_a_run_can_be_deleted_while_it_goes_and_a_dead_one_is_swept(
    client: TestClient, sakila_url: str, ollama: OllamaScript, store_dsn: str
) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    _import(client, headers, cid, format="jsonl", content=SET_FILE.read_text())

    def slow(body: dict[str, Any]) -> str | None:
        time.sleep(0.3)
        return scripted_reply(body)

    ollama.handler = slow

    def started_one() -> str:
        run_id: str = client.post(f"/api/connections/{cid}/evaluations", json={}, headers=headers).json()["id"]
        deadline = time.monotonic() + 60
        while client.get(f"/api/connections/{cid}/evaluations/{run_id}", headers=headers).json()["done"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        return run_id

    def asks_stopped() -> bool:
        asked = len(ollama.chat_requests())
        time.sleep(1)
        return len(ollama.chat_requests()) == asked

    # Stopping a running run keeps what it scored so far, and frees the connection.
    stopped = started_one()
    assert client.post(f"/api/connections/{cid}/evaluations/{stopped}/cancel", headers=headers).status_code == 204
    body = client.get(f"/api/connections/{cid}/evaluations/{stopped}", headers=headers).json()
    assert body["status"] == "cancelled" and body["error"] == "Stopped by its owner"
    assert 1 <= body["done"] < 30 and len(body["results"]) == body["done"]
    assert asks_stopped()
    # Deleting a running run stops it too, and it is gone.
    run_id = started_one()
    assert client.delete(f"/api/connections/{cid}/evaluations/{run_id}", headers=headers).status_code == 204
    assert [r["id"] for r in client.get(f"/api/connections/{cid}/evaluations", headers=headers).json()["runs"]] == [
        stopped
    ]
    assert asks_stopped()
    # Stopping a finished run changes nothing.
    assert client.post(f"/api/connections/{cid}/evaluations/{stopped}/cancel", headers=headers).status_code == 204
    assert client.get(f"/api/connections/{cid}/evaluations/{stopped}", headers=headers).json()["done"] == body["done"]

    # A run whose process died stops beating; the sweep fails it and frees the connection.
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO evaluation_runs (id, connection_id, source, model, settings, status, done, total, correct,"
            " created_at, heartbeat_at) VALUES (%s, %s, 'set', 'llama3.2', '{}', 'running', 3, 30, 1,"
            " now() - interval '1 hour', now() - interval '1 hour')",
            (dead := uuid.uuid4(), cid),
        )
    blocked = client.post(f"/api/connections/{cid}/evaluations", json={}, headers=headers)
    assert blocked.status_code == 409
    runner = client.app.state.context.evaluation_runner  # type: ignore[attr-defined]
    assert client.portal.call(runner.fail_stale_runs) == 1  # type: ignore[union-attr]
    swept = client.get(f"/api/connections/{cid}/evaluations/{dead}", headers=headers).json()
    assert swept["status"] == "failed" and swept["error"].startswith("Interrupted")
    ollama.handler = scripted_reply
    again = client.post(f"/api/connections/{cid}/evaluations", json={}, headers=headers)
    assert again.status_code == 202, again.text
    assert wait_for_run(client, headers, cid, again.json()["id"])["correct"] == 18


def test_verified_examples_are_a_source_and_never_shown_their_own_question(
    client: TestClient, sakila_url: str, ollama: OllamaScript, store_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    ids = [uuid.uuid4(), uuid.uuid4()]
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        for example_id, index in zip(ids, (0, 18), strict=True):
            conn.execute(
                "INSERT INTO verified_examples (id, connection_id, question, question_norm, query, language, source,"
                " embedding) VALUES (%s, %s, %s, %s, %s, 'sql', 'manual', array_fill(0.01, ARRAY[384])::vector)",
                (example_id, cid, QUESTIONS[index], normalise_question(QUESTIONS[index]), CASES[index]["query"]),
            )
    seen: list[tuple[str, AskOptions]] = []
    original = AskService.run

    def spy(self: AskService, plan: AskPlan) -> Any:
        seen.append((plan.question, plan.options))
        return original(self, plan)

    monkeypatch.setattr(AskService, "run", spy)
    ollama.handler = scripted_reply
    run_id = client.post(f"/api/connections/{cid}/evaluations", json={"source": "examples"}, headers=headers)
    run = wait_for_run(client, headers, cid, run_id.json()["id"])
    assert run["source"] == "examples" and [r["outcome"] for r in run["results"]] == ["match", "mismatch"]

    def asked(example: uuid.UUID) -> AskOptions:
        return AskOptions(reuse_verified=False, exclude_examples=frozenset({example}), answer=False, record=False)

    assert seen == [(QUESTIONS[0], asked(ids[0])), (QUESTIONS[18], asked(ids[1]))]
    # From the set: a question that is also a verified example does not see that example either.
    seen.clear()
    lines = "\n".join(json.dumps(CASES[i]) for i in (0, 1))
    _import(client, headers, cid, format="jsonl", content=lines)
    run_id = client.post(f"/api/connections/{cid}/evaluations", json={"use_examples": False}, headers=headers)
    assert wait_for_run(client, headers, cid, run_id.json()["id"])["settings"]["use_examples"] is False
    assert [(q, o.exclude_examples, o.use_examples) for q, o in seen] == [
        (QUESTIONS[0], frozenset({ids[0]}), False),
        (QUESTIONS[1], frozenset(), False),
    ]


def test_a_run_fails_when_the_model_goes_away(client: TestClient, sakila_url: str, ollama: OllamaScript) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    _import(client, headers, cid, format="jsonl", content=SET_FILE.read_text())
    ollama.handler = scripted_reply
    started = client.post(f"/api/connections/{cid}/evaluations", json={}, headers=headers)
    ollama.status = 500  # the LLM server breaks under the run: scoring on would blame the model
    run = wait_for_run(client, headers, cid, started.json()["id"])
    assert run["status"] == "failed" and run["error"], run
    assert run["done"] < 30 and len(run["results"]) == run["done"]
    assert all(r["outcome"] != "error" for r in run["results"])
