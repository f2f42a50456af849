"""The read-only rule, layer by layer and end to end, against the real Sakila database.

Every statement of the adversarial corpus is either refused by the guard or harmless
when run, and the database is byte-for-byte the same afterwards.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
import pytest

from backend.engines.base import QueryExecutionError, QueryLimits, QueryRefusedError
from backend.engines.postgres.connector import PostgresConnector
from backend.engines.postgres.guard_names import guard_sql
from backend.engines.postgres.runner import PostgresQueryRunner
from backend.engines.postgres.schema_index import SchemaIndex
from tests.backend.adversarial_sql import HARMLESS, REFUSED

LIMITS = QueryLimits(max_rows=200, statement_timeout_ms=1000, lock_timeout_ms=200, idle_timeout_ms=2000)

# Writes that go straight to the runner, with no guard in front: the READ ONLY
# transaction and the server-side cursor alone must stop every one of them.
# Names are schema-qualified as the guard would write them: the runner's search_path is pg_catalog.
WRITES_WITHOUT_GUARD = [
    "DELETE FROM public.actor",
    "UPDATE public.film SET rental_rate = 0",
    "INSERT INTO public.category (name) VALUES ('x')",
    "DROP TABLE public.actor",
    "TRUNCATE public.actor",
    "CREATE TABLE public.evil (x int)",
    "SELECT * INTO public.evil FROM public.actor",
    "WITH d AS (DELETE FROM public.actor RETURNING *) SELECT * FROM d",
    "SELECT * FROM public.actor FOR UPDATE",
    "SELECT nextval('public.actor_actor_id_seq')",
    "SELECT setval('public.actor_actor_id_seq', 1)",
    "ALTER TABLE public.actor ADD COLUMN evil int",
    "COPY public.actor TO STDOUT",
]


# PostgreSQL lets these run in a READ ONLY transaction; the forced rollback undoes them.
UNDONE_BY_ROLLBACK = ["SELECT lo_create(0)", "SELECT set_config('default_transaction_read_only', 'off', false)"]


def fingerprint(url: str) -> dict[str, Any]:
    """Row count and checksum of every table, sequence positions, and catalog object counts."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables"
                " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
            )
        ]
        state: dict[str, Any] = {}
        for table in tables:
            state[table] = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
            ).fetchone()
        state["sequences"] = conn.execute(
            "SELECT string_agg(format('%s=%s', sequencename, last_value), ',' ORDER BY sequencename) FROM pg_sequences"
        ).fetchone()
        state["catalog"] = conn.execute(
            "SELECT (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_proc),"
            " (SELECT count(*) FROM pg_roles), (SELECT count(*) FROM pg_largeobject_metadata),"
            " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')"
        ).fetchone()
    return state


@pytest.fixture(scope="module")
def index(sakila_url: str) -> SchemaIndex:
    return SchemaIndex(asyncio.run(PostgresConnector(sakila_url).introspect()))


def guard(sql: str, index: SchemaIndex) -> str | None:
    """The refusal reason of layers 1 and 4, or None when the statement may run."""
    try:
        _, problems = guard_sql(sql, index)
    except QueryRefusedError as exc:
        return str(exc)
    return "; ".join(problems) or None


def test_the_corpus_is_large_enough() -> None:
    assert len(REFUSED) + len(HARMLESS) >= 80
    assert len(set(REFUSED)) == len(REFUSED)


@pytest.mark.parametrize("sql", REFUSED)
def test_guard_refuses(sql: str, index: SchemaIndex) -> None:
    assert guard(sql, index) is not None


def test_corpus_end_to_end_changes_nothing(sakila_url: str, index: SchemaIndex) -> None:
    before = fingerprint(sakila_url)
    runner = PostgresQueryRunner()
    ran = 0
    for sql in REFUSED + HARMLESS:
        if guard(sql, index) is not None:
            continue
        ran += 1
        try:
            result = asyncio.run(runner.run(sakila_url, guard_sql(sql, index)[0], LIMITS))
        except QueryExecutionError:
            continue
        assert result.row_count <= LIMITS.max_rows
    assert ran == len(HARMLESS)
    assert fingerprint(sakila_url) == before


def test_read_only_transaction_alone_stops_writes(sakila_url: str) -> None:
    before = fingerprint(sakila_url)
    runner = PostgresQueryRunner()
    for sql in WRITES_WITHOUT_GUARD:
        with pytest.raises(QueryExecutionError):
            asyncio.run(runner.run(sakila_url, sql, LIMITS))
    for sql in UNDONE_BY_ROLLBACK:
        asyncio.run(runner.run(sakila_url, sql, LIMITS))
    assert fingerprint(sakila_url) == before


def test_timeout_alone_stops_a_slow_query(sakila_url: str) -> None:
    started = time.monotonic()
    with pytest.raises(QueryExecutionError, match="statement timeout") as stopped:
        asyncio.run(
            PostgresQueryRunner().run(
                sakila_url,
                "SELECT count(*) FROM public.rental a CROSS JOIN public.rental b CROSS JOIN public.rental c",
                LIMITS,
            )
        )
    assert time.monotonic() - started < 10
    assert stopped.value.timed_out  # what the ask flow reports as error code db_timeout


def test_row_cap_alone_bounds_a_huge_result(sakila_url: str) -> None:
    started = time.monotonic()
    result = asyncio.run(
        PostgresQueryRunner().run(
            sakila_url, "SELECT a.rental_id, b.rental_id FROM public.rental a CROSS JOIN public.rental b", LIMITS
        )
    )
    # 16,044 x 16,044 rows exist; the cursor hands over 201 and the rest is never produced.
    assert result.row_count == 200 and result.truncated is True
    assert result.columns == ["rental_id", "rental_id"]
    assert time.monotonic() - started < 10


def test_values_come_back_json_safe(sakila_url: str) -> None:
    result = asyncio.run(
        PostgresQueryRunner().run(
            sakila_url,
            "SELECT 1.50::numeric AS n, 'NaN'::numeric AS nan, now()::date AS d, interval '1 day' AS i,"
            " '\\xdead'::bytea AS b, gen_random_uuid() IS NOT NULL AS u, '{\"a\": [1]}'::jsonb AS j,"
            " ARRAY[1, 2] AS arr, 10::bigint ^ 20 AS big",
            LIMITS,
        )
    )
    row = dict(zip(result.columns, result.rows[0], strict=True))
    assert row["n"] == 1.5 and row["nan"] == "NaN" and isinstance(row["d"], str)
    assert row["i"] == "1 day, 0:00:00" and row["b"] == "base64:3q0=" and row["u"] is True
    assert row["j"] == {"a": [1]} and row["arr"] == [1, 2] and isinstance(row["big"], float)
