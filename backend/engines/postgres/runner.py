"""``PostgresQueryRunner``: layers 2 and 3 of the read-only rule.

Every statement runs inside ``BEGIN READ ONLY`` on a session that is read-only by default,
with ``statement_timeout``, ``lock_timeout``, ``idle_in_transaction_session_timeout``,
``work_mem`` and (where the role may set it) ``temp_file_limit``, the lexer settings and
search_path the guard assumed, through a server-side cursor that stops at the row cap or
the byte budget; the transaction is always rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg

from backend.components.url_redaction import hide_password
from backend.engines.base import QueryExecutionError, QueryLimits, QueryResult, json_value
from backend.engines.postgres.routines import HAZARDS_SQL
from backend.engines.postgres.session import SessionConnectError, UnsafeSessionError, read_only_session
from backend.engines.postgres.values import capped_statement
from backend.engines.result_budget import CUT_MARK, ResultCollector

# How much longer than statement_timeout a whole run (execute and every fetch) may take.
DEADLINE_GRACE_S = 1.0


async def check_hazards(conn: psycopg.AsyncConnection[Any]) -> None:
    """Refuse a database that now defines what would run its own code inside any query (a cast
    to text added since indexing, say), looked for again in the current snapshot."""
    hazards = [str(r[0]) for r in await (await conn.execute(HAZARDS_SQL)).fetchall()]
    if hazards:
        raise UnsafeSessionError(
            f"This database now defines {'; '.join(hazards)}. PostgreSQL would run them inside "
            "ordinary queries, so Sextant runs no queries on it"
        )


@contextlib.contextmanager
def execution_errors(url: str) -> Iterator[None]:
    """Session and driver errors as ``QueryExecutionError``, with the URL's password hidden."""

    def clean(exc: BaseException) -> str:
        return hide_password(str(exc).strip() or type(exc).__name__, url)

    try:
        yield
    except SessionConnectError as exc:
        cause = exc.__cause__ or exc
        raise QueryExecutionError(f"Could not connect to the database: {clean(cause)}") from cause
    except UnsafeSessionError as exc:
        raise QueryExecutionError(str(exc)) from exc
    except psycopg.Error as exc:
        raise QueryExecutionError(clean(exc), timed_out=isinstance(exc, psycopg.errors.QueryCanceled)) from exc


class PostgresQueryRunner:
    """Runs a checked statement under every limit of ``QueryLimits``.

    The session pins the lexer and search_path the guard assumed (``session.py``) and is
    checked before the statement runs; rows come through a server-side cursor in batches
    sized by ``ResultCollector``, which stops at the row cap or the byte budget, so a huge
    result is never fetched, let alone held.
    """

    async def run(self, url: str, sql: str, limits: QueryLimits) -> QueryResult:
        collector = ResultCollector(limits)
        columns: list[str] = []
        with execution_errors(url):
            async with read_only_session(url, limits, "sextant-query") as conn:
                try:
                    # statement_timeout applies to each FETCH on its own; this bounds them all together.
                    async with asyncio.timeout(limits.statement_timeout_ms / 1000 + DEADLINE_GRACE_S):
                        columns = await self._fetch(conn, sql, limits, collector)
                except TimeoutError as exc:
                    with contextlib.suppress(Exception):
                        await conn.cancel_safe(timeout=2)
                    raise QueryExecutionError(
                        "canceling statement due to statement timeout: the query and its fetches took longer "
                        f"than {limits.statement_timeout_ms} ms",
                        timed_out=True,
                    ) from exc
        return collector.result(columns)

    @staticmethod
    async def _fetch(
        conn: psycopg.AsyncConnection[Any], sql: str, limits: QueryLimits, collector: ResultCollector
    ) -> list[str]:
        async with conn.transaction(force_rollback=True):
            await check_hazards(conn)
            capped = await capped_statement(conn, sql, limits.max_value_bytes)
            width = len(capped.columns)
            async with conn.cursor(name="sextant_query") as cursor:
                await cursor.execute(capped.statement)
                while not collector.full:
                    batch = await cursor.fetchmany(collector.wanted())
                    if not batch:
                        break
                    for row in batch:
                        values = [json_value(v) for v in row[:width]]
                        cut = [i for i, flag in enumerate(capped.flags) if flag is not None and row[flag]]
                        for i in cut:
                            values[i] = f"{CUT_MARK} (longer than {limits.max_value_bytes:,} bytes)"
                        if not collector.add(values, cut=len(cut)):
                            break
        return capped.columns
