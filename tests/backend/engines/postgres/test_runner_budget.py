"""Bounded results and work on PostgreSQL: a byte budget per result and per value, enforced
while fetching, and ``work_mem``/``temp_file_limit`` on every query session."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import psutil
import psycopg
import pytest
from fastapi.testclient import TestClient

from backend.engines.base import QueryExecutionError, QueryLimits
from backend.engines.postgres.runner import PostgresQueryRunner
from backend.engines.result_budget import CUT_MARK
from tests.conftest import connect, register_and_login
from tests.fake_ollama import OllamaScript
from tests.memory import peak_rss_during

HUGE = "SELECT repeat('x', 5000000) AS big FROM generate_series(1, 200)"


def test_two_hundred_values_of_five_megabytes_come_back_cut(sakila_url: str) -> None:
    limits = QueryLimits()
    result = asyncio.run(PostgresQueryRunner().run(sakila_url, HUGE, limits))
    assert result.truncated is True and 1 <= result.row_count < 200
    assert all(len(row[0].encode()) <= limits.max_value_bytes and row[0].endswith(CUT_MARK) for row in result.rows)
    assert result.truncation is not None and "values longer than" in result.truncation
    assert "cut" in result.truncation


def test_the_byte_budget_stops_the_fetch(sakila_url: str) -> None:
    limits = QueryLimits(max_bytes=20_000)
    sql = "SELECT film_id, repeat(title, 40) AS t FROM public.film ORDER BY film_id"
    result = asyncio.run(PostgresQueryRunner().run(sakila_url, sql, limits))
    size = sum(len(str(v)) + 4 for row in result.rows for v in row)
    assert result.truncated is True and 0 < result.row_count < 100 and size <= limits.max_bytes
    assert result.rows[0][0] == 1 and "20,000 bytes" in (result.truncation or "")


def test_small_results_are_whole(sakila_url: str) -> None:
    result = asyncio.run(PostgresQueryRunner().run(sakila_url, "SELECT name FROM public.category", QueryLimits()))
    assert result.row_count == 16 and result.truncated is False and result.truncation is None


def test_work_mem_and_temp_file_limit_are_set_for_a_superuser(sakila_url: str) -> None:
    limits = QueryLimits(work_mem="8MB", temp_file_limit="1MB")
    sql = "SELECT current_setting('work_mem'), current_setting('temp_file_limit')"
    result = asyncio.run(PostgresQueryRunner().run(sakila_url, sql, limits))
    assert result.rows == [["8MB", "1MB"]]
    with pytest.raises(QueryExecutionError, match="temp_file_limit"):
        asyncio.run(
            PostgresQueryRunner().run(
                sakila_url, "SELECT g FROM generate_series(1, 3000000) g ORDER BY random() LIMIT 1", limits
            )
        )


def test_a_role_that_may_not_set_temp_file_limit_still_runs_and_says_why(
    scratch_db: Callable[[str], str], caplog: pytest.LogCaptureFixture
) -> None:
    url = scratch_db(
        "DROP ROLE IF EXISTS sextant_plain; CREATE ROLE sextant_plain LOGIN;"
        "CREATE TABLE t (x int); INSERT INTO t VALUES (1); GRANT SELECT ON t TO sextant_plain;"
    )
    plain = url.replace("postgres@", "sextant_plain@")
    with caplog.at_level(logging.INFO, logger="backend.engines.postgres.session"):
        result = asyncio.run(
            PostgresQueryRunner().run(plain, "SELECT x, current_setting('work_mem') FROM public.t", QueryLimits())
        )
    assert result.rows == [[1, "16MB"]]
    assert any("temp_file_limit" in r.getMessage() and "permission" in r.getMessage() for r in caplog.records)


def test_the_api_answers_a_huge_result_truncated(client: TestClient, sakila_url: str, ollama: OllamaScript) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    ollama.reply_sql(HUGE)
    response = client.post("/api/query", json={"connection_id": cid, "question": "big?"}, headers=headers)
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and body["error"] is None and body["executed"] is True
    assert body["truncated"] is True and "cut" in body["truncation"]
    assert len(response.content) < 9_000_000


def test_one_huge_value_is_cut_by_the_server_before_it_is_sent(sakila_url: str) -> None:
    """A 400 MB value must not reach this process whole (libpq would hold it all)."""
    before = psutil.Process().memory_info().rss
    peak, result = peak_rss_during(
        lambda: asyncio.run(
            PostgresQueryRunner().run(sakila_url, "SELECT repeat('x', 400000000) AS big", QueryLimits())
        )
    )
    assert result.rows[0][0].endswith(CUT_MARK) and len(result.rows[0][0]) <= QueryLimits().max_value_bytes
    assert peak - before < 150 * 1024 * 1024


def test_long_values_of_other_types_come_back_as_a_marker(sakila_url: str) -> None:
    sql = "SELECT to_jsonb(repeat('x', 100000)) AS j, ARRAY[repeat('y', 100000)] AS a, 'short'::jsonb IS NULL AS b"
    result = asyncio.run(
        PostgresQueryRunner().run(sakila_url, sql.replace("'short'::jsonb IS NULL", "1 = 1"), QueryLimits())
    )
    assert result.columns == ["j", "a", "b"]
    assert result.rows[0][0].startswith(CUT_MARK) and result.rows[0][1].startswith(CUT_MARK)
    assert result.rows[0][2] is True and result.truncated is True


def test_fetches_together_stay_within_the_statement_timeout(sakila_url: str) -> None:
    """statement_timeout limits each FETCH; the runner's deadline limits them all together."""
    wide = ", ".join(f"repeat('x', 70000) AS c{i}" for i in range(16))
    sql = f"SELECT {wide}, (SELECT count(*) FROM generate_series(1, 4000000 + g)) AS n FROM generate_series(1, 40) g"
    started = time.monotonic()
    with pytest.raises(QueryExecutionError, match="statement timeout") as stopped:
        asyncio.run(PostgresQueryRunner().run(sakila_url, sql, QueryLimits(statement_timeout_ms=1000)))
    assert time.monotonic() - started < 8 and stopped.value.timed_out


def test_settings_a_database_raises_for_itself_are_bounded_again(scratch_db: Callable[[str], str]) -> None:
    url = scratch_db("SELECT 1")
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET max_parallel_workers_per_gather = 64')
        conn.execute(f'ALTER DATABASE "{name}" SET hash_mem_multiplier = 1000')
    sql = (
        "SELECT current_setting('max_parallel_workers_per_gather'), current_setting('hash_mem_multiplier'),"
        " current_setting('client_connection_check_interval')"
    )
    result = asyncio.run(PostgresQueryRunner().run(url, sql, QueryLimits()))
    assert result.rows == [["2", "1", "1s"]]
