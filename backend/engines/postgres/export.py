"""Full export of a checked statement: every row, streamed from a server-side cursor.

The same read-only session as the runner (``session.py``: read-only by default, timeouts,
lexer, search_path), a read-only transaction that is always rolled back, and the hazards
check; what differs is that rows are handed on in batches instead of collected, up to
``max_rows`` rows and ``max_bytes`` bytes of values, and no value is cut.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import psycopg

from backend.components.url_redaction import hide_password
from backend.engines.base import QueryExecutionError, QueryLimits, json_value
from backend.engines.postgres.routines import HAZARDS_SQL
from backend.engines.postgres.session import SessionConnectError, UnsafeSessionError, read_only_session

BATCH_ROWS = 2_000


def cell(value: Any) -> str | None:
    """A value as CSV text: JSON for structures, None for NULL."""
    shown = json_value(value)
    if shown is None or isinstance(shown, str):
        return shown
    return json.dumps(shown, ensure_ascii=False)


async def stream_rows(
    url: str, sql: str, limits: QueryLimits, max_rows: int, max_bytes: int
) -> AsyncIterator[list[str | None] | str]:
    """The column names first, then each row as CSV cells; at a cap, a last ``str`` says which
    cap stopped it. Raises ``QueryExecutionError`` with the password hidden."""
    try:
        async with (
            read_only_session(url, limits, "sextant-export") as conn,
            conn.transaction(force_rollback=True),
        ):
            hazards = [str(r[0]) for r in await (await conn.execute(HAZARDS_SQL)).fetchall()]
            if hazards:
                raise UnsafeSessionError(
                    f"This database now defines {'; '.join(hazards)}; Sextant runs no queries on it"
                )
            async with conn.cursor(name="sextant_export") as cursor:
                await cursor.execute(sql)
                yield [c.name for c in cursor.description or []]
                rows = size = 0
                while batch := await cursor.fetchmany(BATCH_ROWS):
                    for row in batch:
                        cells = [cell(v) for v in row]
                        size += sum(len(c.encode()) for c in cells if c is not None)
                        if rows >= max_rows or size > max_bytes:
                            what = f"{max_rows:,} rows" if rows >= max_rows else f"{max_bytes:,} bytes"
                            yield f"Export stopped at the cap of {what}: the result has more rows."
                            return
                        rows += 1
                        yield cells
    except SessionConnectError as exc:
        cause = exc.__cause__ or exc
        raise QueryExecutionError(f"Could not connect to the database: {hide_password(str(cause), url)}") from cause
    except UnsafeSessionError as exc:
        raise QueryExecutionError(str(exc)) from exc
    except psycopg.Error as exc:
        raise QueryExecutionError(
            hide_password(str(exc).strip() or type(exc).__name__, url),
            timed_out=isinstance(exc, psycopg.errors.QueryCanceled),
        ) from exc
