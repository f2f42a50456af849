"""MongoDB end to end through the API: connect, index, search, ask; the adversarial corpus changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pymongo
import pytest
from fastapi.testclient import TestClient

from backend.engines.mongo.runner import to_table
from tests import mongo_fixtures
from tests.backend.adversarial_mongo import REFUSED_MONGO
from tests.conftest import mongo_db_url, register_and_login, wait_for_sync
from tests.fake_ollama import OllamaScript


def _connect(client: TestClient, headers: dict[str, str], url: str) -> str:
    response = client.post("/api/connections", json={"name": url[-12:], "kind": "mongodb", "url": url}, headers=headers)
    assert response.status_code == 201, response.text
    status = wait_for_sync(client, headers, response.json()["id"])
    assert status["status"] == "succeeded", status
    return str(response.json()["id"])


@pytest.fixture
def shop(client: TestClient, mongo_url: str) -> dict[str, Any]:
    headers = register_and_login(client)
    return {"headers": headers, "id": _connect(client, headers, mongo_db_url(mongo_url, "shop"))}


def _search(client: TestClient, headers: dict[str, str], cid: str, query: str) -> list[str]:
    body = client.post(f"/api/connections/{cid}/search", json={"query": query, "k": 3}, headers=headers).json()
    return [r["object"] for r in body["results"]]


def test_a_mongo_connection_indexes_and_search_finds_the_collection(
    client: TestClient, shop: dict[str, Any], mongo_url: str
) -> None:
    headers = shop["headers"]
    status = client.get(f"/api/connections/{shop['id']}/sync", headers=headers).json()
    assert status["counts"]["collection"] == 4 and status["counts"]["objects"] == 4
    schema = client.get(f"/api/connections/{shop['id']}/schema", headers=headers).json()
    orders = next(o for o in schema["objects"] if o["name"] == "orders")
    assert {"customer_id", "items.sku", "status"} <= {c["name"] for c in orders["columns"]}
    assert _search(client, headers, shop["id"], "which items were ordered and how many")[0] == "shop.orders"
    assert "shop.customers" in _search(client, headers, shop["id"], "customers living in London")[:2]
    samples = _connect(client, headers, mongo_url)
    assert _search(client, headers, samples, "movie theaters in Minnesota")[0] == "sample_mflix.theaters"
    assert "sample_analytics.accounts" in _search(client, headers, samples, "investment products held by accounts")


def test_ask_returns_the_documents_the_pipeline_gives(
    client: TestClient, shop: dict[str, Any], mongo_url: str, ollama: OllamaScript
) -> None:
    pipeline: list[dict[str, Any]] = [
        {"$unwind": "$items"},
        {"$project": {"sku": "$items.sku", "qty": "$items.qty"}},
        {"$group": {"_id": "$sku", "qty": {"$sum": "$qty"}, "lines": {"$sum": 1}}},
        {"$sort": {"_id": 1}},
    ]
    ollama.reply_raw(json.dumps({"collection": "orders", "pipeline": pipeline}))
    body = client.post(
        "/api/query", json={"connection_id": shop["id"], "question": "quantity sold per SKU"}, headers=shop["headers"]
    ).json()
    direct: list[dict[str, Any]] = list(pymongo.MongoClient(mongo_url)["shop"]["orders"].aggregate(pipeline))
    columns, rows = to_table(direct)
    assert body["error"] is None and body["language"] == "mongo"
    assert body["columns"] == columns == ["_id", "qty", "lines"]
    assert body["rows"] == rows and body["row_count"] == 3
    assert [r[0] for r in rows] == ["SKU-0", "SKU-1", "SKU-2"]
    assert json.loads(body["query"]) == {"collection": "shop.orders", "pipeline": pipeline}
    system = ollama.chat_requests(streaming=False)[0]["messages"][0]["content"]
    assert "collection shop.orders" in system and "items.sku: string" in system


def test_nested_results_are_flattened_with_dots(client: TestClient, shop: dict[str, Any], ollama: OllamaScript) -> None:
    ollama.reply_raw(json.dumps({"collection": "customers", "filter": {"name": "Ada"},
                                 "projection": {"_id": 0, "name": 1, "address": 1}}))  # fmt: skip
    body = client.post(
        "/api/query", json={"connection_id": shop["id"], "question": "where does Ada live"}, headers=shop["headers"]
    ).json()
    assert body["columns"] == ["name", "address.city", "address.geo.lat", "address.geo.lon"]
    assert body["rows"] == [["Ada", "London", 51.5, -0.1]]


def test_an_unknown_field_is_repaired(client: TestClient, shop: dict[str, Any], ollama: OllamaScript) -> None:
    ollama.reply_raw(
        json.dumps({"collection": "orders", "pipeline": [{"$match": {"state": "paid"}}, {"$count": "n"}]}),
        json.dumps({"collection": "orders", "pipeline": [{"$match": {"status": "paid"}}, {"$count": "n"}]}),
    )
    body = client.post(
        "/api/query", json={"connection_id": shop["id"], "question": "paid orders?"}, headers=shop["headers"]
    ).json()
    assert body["rows"] == [[10]]
    assert 'Field "state" does not exist' in ollama.chat_requests(streaming=False)[1]["messages"][-1]["content"]


def test_the_adversarial_corpus_changes_nothing(
    client: TestClient, shop: dict[str, Any], mongo_url: str, ollama: OllamaScript
) -> None:
    before = mongo_fixtures.fingerprint(mongo_url)
    for text in REFUSED_MONGO:
        ollama.reply_raw(text, text)
        body = client.post(
            "/api/query", json={"connection_id": shop["id"], "question": "do it"}, headers=shop["headers"]
        ).json()
        assert body["executed"] is False and body["rows"] == [], text
    assert mongo_fixtures.fingerprint(mongo_url) == before
