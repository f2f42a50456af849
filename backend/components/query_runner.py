"""The ``QueryRunner`` seam and ``PostgresQueryRunner``: layers 2 and 3 of the read-only rule.

Every statement runs inside ``BEGIN READ ONLY`` on a session that is read-only by default,
with ``statement_timeout``, ``lock_timeout``, ``idle_in_transaction_session_timeout``,
``work_mem`` and (where the role may set it) ``temp_file_limit``, the lexer settings and
search_path the guard assumed, through a server-side cursor that stops at the row cap or
the byte budget; the transaction is always rolled back.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import decimal
import ipaddress
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg

from backend.components.connectors.postgres_routines import HAZARDS_SQL
from backend.components.pg_session import (
    UnsafeSessionError,
    bound_session,
    isolated,
    session_options,
    verify_session,
)
from backend.components.pg_values import capped_statement
from backend.components.url_redaction import hide_password

JsonValue = Any


@dataclass(frozen=True)
class QueryLimits:
    max_rows: int = 200
    statement_timeout_ms: int = 10_000
    lock_timeout_ms: int = 1_000
    idle_timeout_ms: int = 15_000
    connect_timeout_s: int = 5
    max_bytes: int = 8_000_000
    max_value_bytes: int = 65_536
    work_mem: str = "16MB"
    temp_file_limit: str = "256MB"


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[JsonValue]]
    truncated: bool
    # Why the result is not whole, in a sentence: rows past the cap, the byte budget, long values.
    truncation: str | None = None

    @property
    def row_count(self) -> int:
        return len(self.rows)


CUT_MARK = "… [cut]"
# A result stops once this many times max_bytes have been read (values before cutting), and
# one fetch asks for about BATCH_BYTES of rows: a row of huge values comes one at a time.
READ_FACTOR = 4
# How much longer than statement_timeout a whole run (execute and every fetch) may take.
DEADLINE_GRACE_S = 1.0
BATCH_BYTES = 1_000_000


def cap_value(value: JsonValue, max_bytes: int) -> tuple[JsonValue, int, bool]:
    """``(value, its JSON size in bytes, whether it was cut)`` for one JSON-safe value.

    A value whose JSON is longer than ``max_bytes`` becomes a string of at most
    ``max_bytes`` bytes ending in ``CUT_MARK``: text is cut, an array or object is
    replaced by its cut JSON text. Anything shorter comes back unchanged.
    """
    if value is None or isinstance(value, bool | int | float):
        return value, 8, False
    if isinstance(value, str):
        raw = value.encode()
        if len(raw) + 2 <= max_bytes:
            return value, len(raw) + 2, False
    else:
        raw = json.dumps(value, ensure_ascii=False).encode()
        if len(raw) <= max_bytes:
            return value, len(raw), False
    keep = max(max_bytes - len(CUT_MARK.encode()) - 2, 0)
    cut = raw[:keep].decode(errors="ignore") + CUT_MARK
    return cut, len(cut.encode()) + 2, True


class ResultCollector:
    """Gathers rows while they are fetched and stops at the row cap or the byte budget.

    ``add`` takes one JSON-safe row and answers False once no more rows are wanted, so a
    runner stops fetching there: a result never holds more than ``max_bytes`` of values
    (plus the one row that crossed the line, which is dropped).
    """

    def __init__(self, limits: QueryLimits):
        self._limits = limits
        self.rows: list[list[JsonValue]] = []
        self.bytes = 0
        self.raw_bytes = 0
        self.values_cut = 0
        self.cut_at_bytes = False
        self.cut_at_rows = False
        self.cut_at_read = False

    @property
    def full(self) -> bool:
        return self.cut_at_rows or self.cut_at_bytes or self.cut_at_read

    def add(self, row: Sequence[JsonValue], cut: int = 0) -> bool:
        """Keep one JSON-safe row (``cut`` of its values were already cut upstream); False once full."""
        if self.full:
            return False
        if len(self.rows) >= self._limits.max_rows:
            self.cut_at_rows = True
            return False
        capped: list[JsonValue] = []
        size = 2
        raw = 2
        for value in row:
            kept, value_size, was_cut = cap_value(value, self._limits.max_value_bytes)
            capped.append(kept)
            size += value_size + 1
            raw += (len(value) + 3 if isinstance(value, str) else value_size + 1) if was_cut else value_size + 1
            cut += was_cut
        if self.bytes + size > self._limits.max_bytes:
            self.cut_at_bytes = True
            return False
        self.rows.append(capped)
        self.bytes += size
        self.raw_bytes += raw
        self.values_cut += cut
        if self.raw_bytes > READ_FACTOR * self._limits.max_bytes:
            self.cut_at_read = True  # enough read: long values are being cut, more rows add little
        return True

    def wanted(self) -> int:
        """How many rows the next fetch should ask for: one while rows are big, up to 64."""
        if not self.rows:
            return 1
        average = max(self.raw_bytes // len(self.rows), 1)
        left_rows = self._limits.max_rows - len(self.rows) + 1
        return max(1, min(64, left_rows, BATCH_BYTES // average))

    def result(self, columns: list[str]) -> QueryResult:
        reasons: list[str] = []
        if self.cut_at_rows:
            reasons.append(f"only the first {self._limits.max_rows} rows were fetched")
        if self.cut_at_bytes:
            reasons.append(f"the result was cut at {self._limits.max_bytes:,} bytes after {len(self.rows)} rows")
        if self.cut_at_read:
            reasons.append(
                f"only {len(self.rows)} rows were read: their values came to more than "
                f"{READ_FACTOR * self._limits.max_bytes:,} bytes before cutting"
            )
        if self.values_cut:
            reasons.append(f"{self.values_cut} values longer than {self._limits.max_value_bytes:,} bytes were cut")
        return QueryResult(
            columns=columns,
            rows=self.rows,
            truncated=self.full or self.values_cut > 0,
            truncation="; ".join(reasons) or None,
        )


class QueryExecutionError(Exception):
    """The database rejected or aborted the query; the message is the database's own, without secrets.

    ``timed_out``: it was stopped for running past its time limit.
    """

    def __init__(self, message: str, timed_out: bool = False):
        super().__init__(message)
        self.timed_out = timed_out


class QueryRunner(Protocol):
    async def run(self, url: str, sql: str, limits: QueryLimits) -> QueryResult: ...


def json_safe(value: Any) -> JsonValue:
    """Turn a value psycopg returns into something ``json.dumps`` writes without loss of meaning."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return str(value)
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network | ipaddress.IPv4Interface):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return "base64:" + base64.b64encode(raw[:64]).decode() + ("..." if len(raw) > 64 else "")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return str(value)


class PostgresQueryRunner:
    """Runs a checked statement under every limit of ``QueryLimits``.

    The session pins the lexer and search_path the guard assumed (``pg_session``) and is
    checked before the statement runs; rows come through a server-side cursor in batches
    sized by ``ResultCollector``, which stops at the row cap or the byte budget, so a huge
    result is never fetched, let alone held.
    """

    async def run(self, url: str, sql: str, limits: QueryLimits) -> QueryResult:
        def clean(exc: BaseException) -> str:
            return hide_password(str(exc).strip() or type(exc).__name__, url)

        try:
            conn = await psycopg.AsyncConnection.connect(
                url,
                autocommit=True,
                connect_timeout=limits.connect_timeout_s,
                application_name="sextant-query",
                options=session_options(
                    limits.statement_timeout_ms, limits.lock_timeout_ms, limits.idle_timeout_ms, limits.work_mem
                ),
                **isolated(url),
            )
        except (psycopg.Error, OSError) as exc:
            raise QueryExecutionError(f"Could not connect to the database: {clean(exc)}") from exc
        collector = ResultCollector(limits)
        columns: list[str] = []
        try:
            await verify_session(conn)
            await bound_session(conn, limits.temp_file_limit)
            await conn.set_read_only(True)
            # statement_timeout applies to each FETCH on its own; this bounds them all together.
            async with asyncio.timeout(limits.statement_timeout_ms / 1000 + DEADLINE_GRACE_S):
                columns = await self._fetch(conn, sql, limits, collector)
        except TimeoutError as exc:
            with contextlib.suppress(Exception):
                await conn.cancel_safe(timeout=2)
            raise QueryExecutionError(
                f"canceling statement due to statement timeout: the query and its fetches took longer than "
                f"{limits.statement_timeout_ms} ms",
                timed_out=True,
            ) from exc
        except UnsafeSessionError as exc:
            raise QueryExecutionError(str(exc)) from exc
        except psycopg.Error as exc:
            raise QueryExecutionError(clean(exc), timed_out=isinstance(exc, psycopg.errors.QueryCanceled)) from exc
        finally:
            await conn.close()
        return collector.result(columns)

    @staticmethod
    async def _fetch(
        conn: psycopg.AsyncConnection[Any], sql: str, limits: QueryLimits, collector: ResultCollector
    ) -> list[str]:
        async with conn.transaction(force_rollback=True):
            # The index may be older than the database: what would run its own code inside any
            # query (a cast to text added since, say) is looked for again, in this snapshot.
            hazards = [str(r[0]) for r in await (await conn.execute(HAZARDS_SQL)).fetchall()]
            if hazards:
                raise UnsafeSessionError(
                    f"This database now defines {'; '.join(hazards)}. PostgreSQL would run them inside "
                    "ordinary queries, so Sextant runs no queries on it"
                )
            capped = await capped_statement(conn, sql, limits.max_value_bytes)
            width = len(capped.columns)
            async with conn.cursor(name="sextant_query") as cursor:
                await cursor.execute(capped.statement)
                while not collector.full:
                    batch = await cursor.fetchmany(collector.wanted())
                    if not batch:
                        break
                    for row in batch:
                        values = [json_safe(v) for v in row[:width]]
                        cut = [i for i, flag in enumerate(capped.flags) if flag is not None and row[flag]]
                        for i in cut:
                            values[i] = f"{CUT_MARK} (longer than {limits.max_value_bytes:,} bytes)"
                        if not collector.add(values, cut=len(cut)):
                            break
        return capped.columns
