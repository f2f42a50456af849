"""Full export: the whole result of an answer's query as CSV, run again through the guard and a
read-only session, within its own caps; refused where there is nothing (or nothing allowed) to run."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import psycopg
import pymongo
import pytest
from fastapi.testclient import TestClient

from backend.config import QuerySettings, Settings
from backend.engines.mongo import dialect as mongo_dialect
from backend.main import create_app
from tests.conftest import connect, connect_mongo, register_and_login
from tests.fake_ollama import OllamaScript

ALL_RENTALS = "SELECT rental_id, rental_date, return_date FROM rental ORDER BY rental_id"


def _ask(client: TestClient, headers: dict[str, str], cid: str, question: str) -> dict[str, Any]:
    response = client.post("/api/query", json={"connection_id": cid, "question": question}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_export_has_every_row_the_answer_showed_a_part_of(
    settings_factory: Callable[..., Settings], sakila_url: str, ollama: OllamaScript, store_dsn: str
) -> None:
    settings = settings_factory(query=QuerySettings(query_max_rows=50))
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        ollama.reply_sql(ALL_RENTALS)
        body = _ask(client, headers, cid, "every rental")
        assert body["truncated"] is True and len(body["rows"]) == 50
        response = client.get(f"/api/history/{body['history_id']}/export.csv", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="sextant-')
    rows = _rows(response.text)
    with psycopg.connect(sakila_url) as conn:
        direct = conn.execute(ALL_RENTALS).fetchall()
    assert rows[0] == ["rental_id", "rental_date", "return_date"]
    assert len(rows) - 1 == len(direct) == 16044  # every row, not the answer's 50
    assert rows[1][0] == str(direct[0][0]) and rows[-1][0] == str(direct[-1][0])
    assert not any(r and r[0].startswith("#") for r in rows)
    nulls = [r for r in rows[1:] if r[2] == ""]
    assert len(nulls) == sum(1 for d in direct if d[2] is None) == 183  # NULL is an empty cell
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        (details,) = conn.execute(
            "SELECT details FROM audit_events WHERE action = 'query' AND details->>'export' = 'true' AND target = %s",
            (f"connection:{cid}",),
        ).fetchone() or (None,)
    assert details["row_count"] == 16044 and details["error"] is None


def test_the_export_stops_at_its_cap_and_says_so(
    settings_factory: Callable[..., Settings], sakila_url: str, ollama: OllamaScript
) -> None:
    settings = settings_factory(query=QuerySettings(export_max_rows=100))
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        ollama.reply_sql(ALL_RENTALS)
        body = _ask(client, headers, cid, "every rental")
        rows = _rows(client.get(f"/api/history/{body['history_id']}/export.csv", headers=headers).text)
    assert len(rows) == 1 + 100 + 1
    assert rows[-1] == ["# Export stopped at the cap of 100 rows: the result has more rows."]


def test_nothing_to_export_and_other_peoples_answers_are_refused(
    client: TestClient, sakila_url: str, ollama: OllamaScript
) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    ollama.reply_sql("DELETE FROM rental", "DROP TABLE rental")
    refused = _ask(client, headers, cid, "remove the rentals")
    conflict = client.get(f"/api/history/{refused['history_id']}/export.csv", headers=headers)
    assert conflict.status_code == 409 and "nothing to export" in conflict.json()["detail"]
    ollama.reply_sql("SELECT count(*) AS n FROM film")
    mine = _ask(client, headers, cid, "how many films")
    stranger = register_and_login(client)
    assert client.get(f"/api/history/{mine['history_id']}/export.csv", headers=stranger).status_code == 404
    assert client.get(f"/api/history/{mine['history_id']}/export.csv").status_code == 401
    ok = client.get(f"/api/history/{mine['history_id']}/export.csv", headers=headers)
    assert _rows(ok.text) == [["n"], ["1000"]]


def test_a_mongo_answer_exports_its_documents(client: TestClient, mongo_url: str, ollama: OllamaScript) -> None:
    headers = register_and_login(client)
    cid = connect_mongo(client, headers, mongo_url)
    pipeline = [{"$project": {"_id": 0, "status": 1, "items.sku": 1}}]
    ollama.reply_raw(json.dumps({"collection": "orders", "pipeline": pipeline}))
    body = _ask(client, headers, cid, "status and skus of every order")
    rows = _rows(client.get(f"/api/history/{body['history_id']}/export.csv", headers=headers).text)
    direct: list[dict[str, Any]] = list(pymongo.MongoClient(mongo_url)["shop"]["orders"].aggregate(pipeline))
    assert rows[0] == body["columns"] and len(rows) - 1 == len(direct) == 30
    assert rows[1][rows[0].index("status")] == direct[0]["status"]


def test_a_mongo_export_stops_at_its_own_byte_cap(
    client: TestClient, mongo_url: str, ollama: OllamaScript, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A MongoDB export is collected in memory, so it has a cap of its own below EXPORT_MAX_BYTES.
    monkeypatch.setattr(mongo_dialect, "MONGO_EXPORT_BYTES", 200)
    headers = register_and_login(client)
    cid = connect_mongo(client, headers, mongo_url)
    ollama.reply_raw(json.dumps({"collection": "orders", "pipeline": [{"$project": {"_id": 0, "status": 1}}]}))
    body = _ask(client, headers, cid, "status of every order")
    rows = _rows(client.get(f"/api/history/{body['history_id']}/export.csv", headers=headers).text)
    assert rows[0] == ["status"] and rows[-1][0].startswith("# Export stopped")
    assert 1 < len(rows) - 2 < 30  # the header and the stop line around a part of the 30 orders
