"""The MongoDB connector against a real wire-protocol server (nx-27017, or mongod with MONGO_URL)."""

from __future__ import annotations

import asyncio
import os
import uuid

import pymongo
import pytest

from backend.engines.base import ConnectorError, IntrospectOptions, QueryLimits
from backend.engines.mongo.connector import MongoConnector
from backend.schemas.schema_snapshot import ObjectInfo, SchemaSnapshot
from tests.conftest import free_port, mongo_db_url


@pytest.fixture(scope="module")
def shop(mongo_url: str) -> SchemaSnapshot:
    return asyncio.run(MongoConnector(mongo_db_url(mongo_url, "shop")).introspect())


def _columns(obj: ObjectInfo) -> dict[str, object]:
    return {c.name: c for c in obj.columns}


async def test_reports_the_server_version(mongo_url: str) -> None:
    version = await MongoConnector(mongo_url).test()
    assert version[0].isdigit()


async def test_without_a_database_every_user_database_is_read(mongo_url: str) -> None:
    snapshot = await MongoConnector(mongo_url).introspect()
    names = {o.qualified_name for o in snapshot.objects}
    assert {"sample_analytics.accounts", "sample_analytics.customers", "sample_mflix.theaters", "shop.orders"} <= names
    assert not any(n.startswith(("admin.", "local.", "config.")) for n in names)


def test_the_database_in_the_url_limits_the_scope(shop: SchemaSnapshot) -> None:
    assert {o.qualified_name for o in shop.objects} == {"shop.customers", "shop.orders", "shop.events", "shop.empty"}
    orders = shop.by_name()["shop.orders"]
    assert orders.kind == "collection" and orders.row_estimate == 30
    assert any(i.startswith("_id_") for i in orders.indexes)


def test_nested_paths_types_and_optional_fields(shop: SchemaSnapshot) -> None:
    customers = {c.name: c for c in shop.by_name()["shop.customers"].columns}
    assert customers["address.geo.lat"].type == "double"
    assert customers["address.city"].values == ["London", "New York"]
    assert customers["email"].nullable is True  # Alan has none
    assert customers["name"].nullable is False
    assert customers["tier"].values == ["gold", "silver"]
    orders = {c.name: c for c in shop.by_name()["shop.orders"].columns}
    assert orders["items"].type == "array<object>"
    assert orders["items.sku"].type == "string" and "items.qty" in orders
    assert orders["total"].type.startswith(("double", "string")) and "%" in orders["total"].type
    assert orders["placed_at"].type == "date"


def test_object_id_fields_named_like_references_point_at_their_collection(shop: SchemaSnapshot) -> None:
    (fk,) = shop.by_name()["shop.orders"].foreign_keys
    assert (fk.columns, fk.target, fk.ref_columns) == (["customer_id"], "shop.customers", ["_id"])


def test_deep_huge_and_empty_collections(shop: SchemaSnapshot) -> None:
    events = {c.name for c in shop.by_name()["shop.events"].columns}
    assert "payload.child.child.level" in events
    assert max(name.count(".") for name in events) <= 7  # nesting is capped
    sample = shop.by_name()["shop.events"].samples[0]
    assert len(sample["blob"] or "") <= 600
    empty = shop.by_name()["shop.empty"]
    assert empty.columns == [] and "empty" in empty.notes[0]


def test_sample_size_is_configurable(mongo_url: str) -> None:
    snapshot = asyncio.run(
        MongoConnector(mongo_db_url(mongo_url, "sample_analytics"), IntrospectOptions(mongo_sample_size=5)).introspect()
    )
    assert "5 sampled documents" in snapshot.by_name()["sample_analytics.accounts"].notes[0]


def test_map_like_objects_collapse_their_id_keys(mongo_url: str) -> None:
    snapshot = asyncio.run(MongoConnector(mongo_db_url(mongo_url, "sample_analytics")).introspect())
    fields = {c.name for c in snapshot.by_name()["sample_analytics.customers"].columns}
    assert "tier_and_details.*.tier" in fields
    assert len(fields) < 30


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:27017", "mongodb://"),
        ("mongodb://", "no host"),
        ("mongodb://127.0.0.1:abc/x", "not a number"),
        ("mongodb+srv://a.example.com:27017/x", "no port"),
    ],
)
def test_malformed_urls(url: str, expected: str) -> None:
    with pytest.raises(ConnectorError, match=expected):
        MongoConnector(url)


async def test_unresolvable_srv_and_unreachable_hosts_say_so() -> None:
    options = IntrospectOptions(session=QueryLimits(connect_timeout_s=1))
    with pytest.raises(ConnectorError, match=r"Could not resolve the SRV record of no-such-cluster\.invalid"):
        await MongoConnector("mongodb+srv://no-such-cluster.invalid/x", options).test()
    with pytest.raises(ConnectorError, match="Could not connect"):
        await MongoConnector(f"mongodb://127.0.0.1:{free_port()}/x", options).test()


@pytest.mark.skipif(not os.environ.get("MONGO_URL"), reason="needs a real mongod with authentication (MONGO_URL)")
async def test_wrong_credentials_are_refused(mongo_url: str) -> None:
    host = mongo_url.split("@")[-1].split("://")[-1]
    with pytest.raises(ConnectorError, match=r"(?i)auth"):
        options = IntrospectOptions(session=QueryLimits(connect_timeout_s=2))
        await MongoConnector(f"mongodb://nobody:wrong-password@{host}", options).test()


async def test_catalog_hash_follows_collections_and_indexes_not_documents(mongo_url: str) -> None:
    database = f"freshness_{uuid.uuid4().hex[:8]}"
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(mongo_url)
    try:
        client[database]["books"].insert_one({"title": "The Dispossessed"})
        connector = MongoConnector(mongo_db_url(mongo_url, database))
        first = await connector.catalog_hash()
        assert await connector.catalog_hash() == first
        client[database]["books"].insert_many([{"title": "Lavinia", "pages": 279}, {"title": "Always Coming Home"}])
        assert await connector.catalog_hash() == first  # documents are data, not catalog
        client[database]["shelves"].insert_one({"label": "A"})
        second = await connector.catalog_hash()
        assert second != first
        client[database]["books"].create_index("title")
        third = await connector.catalog_hash()
        assert third != second
        client[database]["shelves"].drop()
        assert await connector.catalog_hash() not in (second, third)
    finally:
        client.drop_database(database)
        client.close()
