"""The Mongo guard on its own, and every adversarial pipeline refused."""

from __future__ import annotations

import asyncio
import json

import pytest

from backend.engines.base import QueryRefusedError
from backend.engines.mongo.connector import MongoConnector
from backend.engines.mongo.guard import check_pipeline, parse_mongo_query, used_collections
from backend.engines.mongo.runner import flatten, to_table
from backend.schemas.schema_snapshot import SchemaSnapshot
from tests.backend.adversarial_mongo import REFUSED_MONGO
from tests.conftest import mongo_db_url


@pytest.fixture(scope="module")
def shop(mongo_url: str) -> SchemaSnapshot:
    return asyncio.run(MongoConnector(mongo_db_url(mongo_url, "shop")).introspect())


def _refused(text: str, snapshot: SchemaSnapshot) -> bool:
    try:
        return bool(check_pipeline(parse_mongo_query(text, snapshot), snapshot))
    except QueryRefusedError:
        return True


def test_corpus_size() -> None:
    assert len(REFUSED_MONGO) >= 90


@pytest.mark.parametrize("text", REFUSED_MONGO)
def test_every_adversarial_query_is_refused(text: str, shop: SchemaSnapshot) -> None:
    assert _refused(text, shop)


def test_everyday_pipelines_pass(shop: SchemaSnapshot) -> None:
    good = [
        {"collection": "orders", "pipeline": [{"$match": {"status": "paid"}}, {"$count": "n"}]},
        {"collection": "orders", "pipeline": [
            {"$unwind": "$items"}, {"$group": {"_id": "$items.sku", "qty": {"$sum": "$items.qty"}}},
            {"$sort": {"qty": -1}}, {"$limit": 5}]},
        {"collection": "orders", "pipeline": [
            {"$lookup": {"from": "customers", "localField": "customer_id", "foreignField": "_id", "as": "c"}},
            {"$unwind": "$c"}, {"$group": {"_id": "$c.name", "n": {"$sum": 1}}}]},
        {"collection": "shop.customers", "filter": {"address.city": "London"}, "projection": {"name": 1}},
        {"collection": "orders", "pipeline": [{"$facet": {"by_status": [{"$sortByCount": "$status"}]}}]},
    ]  # fmt: skip
    for query in good:
        parsed = parse_mongo_query(json.dumps(query), shop)
        assert check_pipeline(parsed, shop) == [], query


def test_find_becomes_a_pipeline_in_mongo_order(shop: SchemaSnapshot) -> None:
    text = json.dumps({"collection": "orders", "filter": {"status": "new"}, "sort": {"total": -1}, "limit": 3,
                       "projection": {"status": 1}})  # fmt: skip
    parsed = parse_mongo_query(text, shop)
    assert (parsed.database, parsed.collection) == ("shop", "orders")
    assert parsed.pipeline == [{"$match": {"status": "new"}}, {"$sort": {"total": -1}}, {"$limit": 3},
                               {"$project": {"status": 1}}]  # fmt: skip


def test_unknown_fields_are_named_for_repair(shop: SchemaSnapshot) -> None:
    parsed = parse_mongo_query(json.dumps({"collection": "orders", "pipeline": [
        {"$match": {"customer.name": "Ada", "$or": [{"state": "paid"}, {"status": "new"}]}},
        {"$addFields": {"year": {"$year": "$placed_at"}}}, {"$sort": {"year": 1}},
        {"$group": {"_id": "$anything"}}]}), shop)  # fmt: skip
    assert check_pipeline(parsed, shop) == [
        'Field "customer.name" does not exist in collection shop.orders',
        'Field "state" does not exist in collection shop.orders',
    ]


def test_results_flatten_into_columns() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": 2}}, "e": [1, {"f": 2}]}) == {"a.b": 1, "a.c.d": 2, "e": [1, {"f": 2}]}
    columns, rows = to_table([{"x": 1, "y": {"z": 2}}, {"x": 3, "w": "k"}])
    assert columns == ["x", "y.z", "w"]
    assert rows == [[1, 2, None], [3, None, "k"]]


def test_computed_projection_keys_are_not_fields(shop: SchemaSnapshot) -> None:
    parsed = parse_mongo_query(json.dumps({"collection": "orders", "pipeline": [
        {"$project": {"sku_count": {"$size": "$items"}, "status": 1, "nope": 1}}]}), shop)  # fmt: skip
    assert check_pipeline(parsed, shop) == ['Field "nope" does not exist in collection shop.orders']


def test_used_collections_follow_joins_unions_and_facets(shop: SchemaSnapshot) -> None:
    parsed = parse_mongo_query(json.dumps({"collection": "orders", "pipeline": [
        {"$lookup": {"from": "customers", "localField": "customer_id", "foreignField": "_id", "as": "c"}},
        {"$facet": {"again": [{"$lookup": {"from": "orders", "pipeline": [], "as": "o"}}],
                    "more": [{"$unionWith": "customers"}]}}]}), shop)  # fmt: skip
    assert used_collections(parsed) == ["shop.orders", "shop.customers"]
    alone = parse_mongo_query(json.dumps({"collection": "customers", "filter": {"name": "Ada"}}), shop)
    assert used_collections(alone) == ["shop.customers"]


def test_used_collections_ignore_pipeline_keys_in_fields_and_literals(shop: SchemaSnapshot) -> None:
    """Reproduction (review): only $lookup, $unionWith and $facet hold pipelines."""
    literal = {"$literal": {"pipeline": [{"$lookup": {"from": "customers", "pipeline": [], "as": "x"}}]}}
    parsed = parse_mongo_query(json.dumps({"collection": "orders", "pipeline": [
        {"$addFields": {"pipeline": [literal]}}]}), shop)  # fmt: skip
    assert used_collections(parsed) == ["shop.orders"]


def test_the_query_text_names_its_database(shop: SchemaSnapshot) -> None:
    """Reproduction (review): the text that is stored, shown and run again keeps the database,
    so a connection spanning databases with the same collection name can run it again."""
    parsed = parse_mongo_query(json.dumps({"collection": "orders", "pipeline": []}), shop)
    assert json.loads(parsed.to_text())["collection"] == "shop.orders"
    assert parse_mongo_query(parsed.to_text(), shop) == parsed
