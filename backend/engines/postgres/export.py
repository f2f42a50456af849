"""Full export of a checked statement: every row, streamed from a server-side cursor.

The same read-only session as the runner (``session.py``: read-only by default, timeouts,
lexer, search_path), a read-only transaction that is always rolled back, and the hazards
check; what differs is that rows are handed on in batches instead of collected, up to
``max_rows`` rows and ``max_bytes`` bytes of values, and no value is cut.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from backend.engines.base import QueryLimits, csv_cell
from backend.engines.postgres.runner import check_hazards, execution_errors
from backend.engines.postgres.session import read_only_session

BATCH_ROWS = 2_000


async def stream_rows(
    url: str, sql: str, limits: QueryLimits, max_rows: int, max_bytes: int
) -> AsyncIterator[list[str | None] | str]:
    """The column names first, then each row as CSV cells; at a cap, a last ``str`` says which
    cap stopped it. Raises ``QueryExecutionError`` with the password hidden."""
    with execution_errors(url):
        async with (
            read_only_session(url, limits, "sextant-export") as conn,
            conn.transaction(force_rollback=True),
        ):
            await check_hazards(conn)
            async with conn.cursor(name="sextant_export") as cursor:
                await cursor.execute(sql)
                yield [c.name for c in cursor.description or []]
                rows = size = 0
                while batch := await cursor.fetchmany(BATCH_ROWS):
                    for row in batch:
                        cells = [csv_cell(v) for v in row]
                        size += sum(len(c.encode()) for c in cells if c is not None)
                        if rows >= max_rows or size > max_bytes:
                            what = f"{max_rows:,} rows" if rows >= max_rows else f"{max_bytes:,} bytes"
                            yield f"Export stopped at the cap of {what}: the result has more rows."
                            return
                        rows += 1
                        yield cells
