"""The ``QueryRunner`` seam and ``PostgresQueryRunner``: layers 2 and 3 of the read-only rule.

Every statement runs inside ``BEGIN READ ONLY`` on a session that is read-only by default,
with ``statement_timeout``, ``lock_timeout`` and ``idle_in_transaction_session_timeout``,
through a server-side cursor of which at most ``max_rows + 1`` rows are fetched; the
transaction is always rolled back.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import ipaddress
import math
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg

from backend.components.url_cipher import hide_password

JsonValue = Any


@dataclass(frozen=True)
class QueryLimits:
    max_rows: int = 200
    statement_timeout_ms: int = 10_000
    lock_timeout_ms: int = 1_000
    idle_timeout_ms: int = 15_000
    connect_timeout_s: int = 5


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[JsonValue]]
    truncated: bool

    @property
    def row_count(self) -> int:
        return len(self.rows)


class QueryExecutionError(Exception):
    """The database rejected or aborted the query; the message is the database's own, without secrets."""


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
    async def run(self, url: str, sql: str, limits: QueryLimits) -> QueryResult:
        def clean(exc: BaseException) -> str:
            return hide_password(str(exc).strip() or type(exc).__name__, url)

        try:
            conn = await psycopg.AsyncConnection.connect(
                url,
                connect_timeout=limits.connect_timeout_s,
                application_name="sextant-query",
                options=(
                    "-c default_transaction_read_only=on "
                    f"-c statement_timeout={limits.statement_timeout_ms} "
                    f"-c lock_timeout={limits.lock_timeout_ms} "
                    f"-c idle_in_transaction_session_timeout={limits.idle_timeout_ms}"
                ),
            )
        except (psycopg.Error, OSError) as exc:
            raise QueryExecutionError(f"Could not connect to the database: {clean(exc)}") from exc
        try:
            await conn.set_read_only(True)
            async with conn.transaction(force_rollback=True), conn.cursor(name="sextant_query") as cursor:
                await cursor.execute(sql)
                rows = await cursor.fetchmany(limits.max_rows + 1)
                columns = [d.name for d in cursor.description or []]
        except psycopg.Error as exc:
            raise QueryExecutionError(clean(exc)) from exc
        finally:
            await conn.close()
        truncated = len(rows) > limits.max_rows
        return QueryResult(
            columns=columns,
            rows=[[json_safe(v) for v in row] for row in rows[: limits.max_rows]],
            truncated=truncated,
        )
