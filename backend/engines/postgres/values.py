"""Long values are cut by PostgreSQL, before they are sent: the runner's statement is wrapped.

The byte budget of ``ResultCollector`` bounds how many rows are kept, but one value could
still be hundreds of megabytes (``repeat('x', 600000000)``), held whole by libpq and Python
before anything could cut it. ``capped_statement`` describes the checked statement (a
``DECLARE`` plans it without running it) and wraps it so that every value that can be long
leaves the server short: text as its first ``max_bytes + 1`` characters, bytea as its first
65 bytes, anything else (json, arrays, rows, geometry...) as NULL plus a flag column saying
it was too long. The wrapper is a plain projection of the statement, so rows keep their order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

BYTEA_OID = 17
BPCHAR_OID = 1042  # char(n): a cast to text would drop its padding, so it takes the flag path
# Categories of pg_type whose values are short whatever they hold: numbers, dates and times,
# booleans, intervals, network addresses, enums.
SHORT_CATEGORIES = frozenset("NDBTIE")
FLAG_PREFIX = "sextant_cut_"


@dataclass(frozen=True)
class CappedStatement:
    statement: sql.Composed | sql.SQL
    columns: list[str]
    # For each column of the result, the position of its "was too long" flag, if it has one.
    flags: list[int | None]


async def capped_statement(conn: psycopg.AsyncConnection[Any], query: str, max_bytes: int) -> CappedStatement:
    """``query`` wrapped so that no value leaves the server much longer than ``max_bytes``.

    Must run inside the query's transaction; raises ``psycopg.Error`` as the statement would.
    """
    async with conn.cursor(name="sextant_shape") as shape:
        await shape.execute(query)
        described = [(d.name, d.type_code) for d in shape.description or []]
    cursor = await conn.execute(
        "SELECT oid::int, typcategory::text FROM pg_catalog.pg_type WHERE oid = ANY(%s)",
        ([oid for _, oid in described],),
    )
    categories = {int(row[0]): str(row[1]) for row in await cursor.fetchall()}
    if not described:
        return CappedStatement(statement=sql.SQL(query), columns=[], flags=[])
    inner = [sql.Identifier(f"c{i}") for i in range(len(described))]
    outputs: list[sql.Composable] = []
    flags: list[int | None] = []
    extra: list[sql.Composable] = []
    limit = sql.Literal(max_bytes + 1)
    for i, (name, oid) in enumerate(described):
        value = sql.SQL("q.{}").format(inner[i])
        alias = sql.Identifier(name)
        category = categories.get(oid, "X")
        if oid == BYTEA_OID:
            outputs.append(sql.SQL("substring({} FROM 1 FOR 65) AS {}").format(value, alias))
            flags.append(None)
        elif category == "S" and oid != BPCHAR_OID:
            outputs.append(sql.SQL("left({}::text, {}) AS {}").format(value, limit, alias))
            flags.append(None)
        elif category in SHORT_CATEGORIES:
            outputs.append(sql.SQL("{} AS {}").format(value, alias))
            flags.append(None)
        else:
            too_long = sql.SQL("octet_length({}::text) > {}").format(value, sql.Literal(max_bytes))
            outputs.append(sql.SQL("CASE WHEN {} THEN NULL ELSE {} END AS {}").format(too_long, value, alias))
            flags.append(len(described) + len(extra))
            extra.append(sql.SQL("{} AS {}").format(too_long, sql.Identifier(f"{FLAG_PREFIX}{i}")))
    select_list = sql.SQL(", ").join(outputs + extra) if outputs else sql.SQL("")
    statement = sql.SQL("SELECT {} FROM ({}) AS q({})").format(
        select_list,
        sql.SQL(query),
        sql.SQL(", ").join(inner),
    )
    return CappedStatement(statement=statement, columns=[name for name, _ in described], flags=flags)
