"""The Postgres connector against the machine's real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from backend.db.store import EmbeddedStore
from backend.engines.base import ConnectorError, IntrospectOptions, QueryExecutionError, QueryLimits
from backend.engines.postgres.connector import PostgresConnector
from backend.engines.postgres.runner import PostgresQueryRunner
from backend.engines.registry import build_connector
from backend.schemas.schema_snapshot import ObjectInfo, SchemaSnapshot


@pytest.fixture(scope="module")
def odd(oddtypes_url: str) -> SchemaSnapshot:
    return asyncio.run(PostgresConnector(oddtypes_url).introspect())


def _obj(snapshot: SchemaSnapshot, name: str) -> ObjectInfo:
    return snapshot.by_name()[name]


async def test_every_kind_of_object_is_found(odd: SchemaSnapshot) -> None:
    kinds = {o.qualified_name: o.kind for o in odd.objects}
    assert kinds == {
        "sales.Customer": "table",
        "sales.orders": "table",
        "archive.orders": "table",
        "sales.events": "partitioned_table",
        "sales.paid_orders": "view",
        "sales.revenue_by_customer": "materialized_view",
        "sales.wide": "table",
    }
    assert _obj(odd, "sales.events").partitions == ["sales.events_2025", "sales.events_2026"]


async def test_same_table_name_in_two_schemas_stays_apart(odd: SchemaSnapshot) -> None:
    assert [c.name for c in _obj(odd, "archive.orders").columns] == ["order_id", "archived_at"]
    assert "gross" in [c.name for c in _obj(odd, "sales.orders").columns]


async def test_mixed_case_types_keys_and_comments(odd: SchemaSnapshot) -> None:
    customer = _obj(odd, "sales.Customer")
    assert customer.comment == "People who buy from the shop"
    assert customer.primary_key == ["CustomerId"]
    cols = {c.name: c for c in customer.columns}
    assert cols["tags"].type == "text[]"
    assert cols["profile"].type == "jsonb" and cols["settings"].type == "json"
    assert cols["tier"].comment == "Loyalty tier"
    assert cols["tier"].values == ["gold", "silver"]
    assert not cols["fullName"].nullable
    sample = customer.samples[0]
    assert sample["avatar"] == "<bytea 4 bytes>"
    assert sample["location"] == "<point>"
    assert sample["tags"] == "{vip,early}"
    assert len(customer.samples) == 3


async def test_enums_generated_columns_and_foreign_keys_both_ways(odd: SchemaSnapshot) -> None:
    orders = _obj(odd, "sales.orders")
    cols = {c.name: c for c in orders.columns}
    assert cols["status"].values == ["new", "paid", "shipped", "cancelled"]
    assert cols["gross"].generated == "(net + vat)" and cols["gross"].default is None
    assert cols["order_id"].default is not None and "nextval" in cols["order_id"].default
    (fk,) = orders.foreign_keys
    assert (fk.source, fk.columns, fk.target, fk.ref_columns) == (
        "sales.orders",
        ["customer_id"],
        "sales.Customer",
        ["CustomerId"],
    )
    assert [r.source for r in _obj(odd, "sales.Customer").referenced_by] == ["sales.orders"]


async def test_sample_values_are_cut(odd: SchemaSnapshot) -> None:
    notes = [s["note"] for s in _obj(odd, "sales.orders").samples if s["note"]]
    assert max(len(n) for n in notes) == 200


async def test_options_bound_samples_and_values(oddtypes_url: str) -> None:
    snapshot = await PostgresConnector(
        oddtypes_url, IntrospectOptions(sample_rows=1, distinct_limit=1, value_max_chars=10)
    ).introspect()
    orders = snapshot.by_name()["sales.orders"]
    assert len(orders.samples) == 1
    assert all(len(v or "") <= 10 for v in orders.samples[0].values())
    cols = {c.name: c for c in snapshot.by_name()["sales.Customer"].columns}
    assert cols["tier"].values is None  # two distinct values exceed a limit of one


async def test_progress_is_reported_to_the_total(oddtypes_url: str) -> None:
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    snapshot = await PostgresConnector(oddtypes_url).introspect(progress)
    assert seen[0] == (0, len(snapshot.objects))
    assert seen[-1] == (len(snapshot.objects), len(snapshot.objects))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


async def test_introspection_never_writes(scratch_db: Callable[[str], str]) -> None:
    url = scratch_db("CREATE TABLE t (id int PRIMARY KEY, name text); INSERT INTO t VALUES (1, 'a');")
    connector = PostgresConnector(url)
    async with connector._connect() as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            await conn.execute("INSERT INTO public.t VALUES (2, 'b')")


async def test_unreadable_tables_are_listed_without_samples(scratch_db: Callable[[str], str]) -> None:
    url = scratch_db(
        "CREATE TABLE open_t (id int); CREATE TABLE closed_t (id int); INSERT INTO closed_t VALUES (1);"
        "DROP ROLE IF EXISTS sextant_reader; CREATE ROLE sextant_reader LOGIN;"
        "GRANT SELECT ON open_t TO sextant_reader;"
    )
    limited = url.replace("postgres@", "sextant_reader@")
    snapshot = await PostgresConnector(limited).introspect()
    closed = snapshot.by_name()["public.closed_t"]
    assert closed.samples == [] and "no SELECT privilege" in closed.notes[0]


def test_unknown_kind_and_bad_url_raise() -> None:
    with pytest.raises(ConnectorError, match="not supported"):
        build_connector("oracle", "oracle://x", IntrospectOptions())
    with pytest.raises(ConnectorError):
        PostgresConnector("http://example.com")


async def test_the_appliances_own_credentials_never_stand_in_for_a_missing_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libpq alone would log in with ``PGPASSWORD`` or ``~/.pgpass`` of the appliance: a server a
    user names would receive them. A real PostgreSQL that asks for a password shows it does not."""
    secret = "Appliance-Own-Secret-1"
    store = EmbeddedStore(tmp_path / "pg", SecretStr(secret))
    store.start()
    with_password = store.url("postgres")
    try:
        without = store.url("postgres", with_password=False)
        home = tmp_path / "home"
        home.mkdir()
        (home / ".pgpass").write_text(f"*:*:*:*:{secret}\n")
        (home / ".pgpass").chmod(0o600)
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.setenv("PGPASSWORD", secret)
        psycopg.connect(without).close()  # the setup is real: libpq on its own gets in
        with pytest.raises(ConnectorError, match="password"):
            await PostgresConnector(without).test()
        with pytest.raises(QueryExecutionError, match="password"):
            await PostgresQueryRunner().run(without, "SELECT 1", QueryLimits())
        monkeypatch.delenv("PGPASSWORD")
        psycopg.connect(without).close()  # ~/.pgpass alone is enough for libpq...
        with pytest.raises(ConnectorError, match="password"):
            await PostgresConnector(without).test()  # ...and not for the connector
        assert await PostgresConnector(with_password).test()  # the URL's own password still works
    finally:
        store.stop()
