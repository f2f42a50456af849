"""Full export: the whole result of an answer's query as CSV, run again through the guard and a
read-only session, streamed, within its own row and byte caps (``EXPORT_MAX_ROWS``,
``EXPORT_MAX_BYTES``, ``EXPORT_STATEMENT_TIMEOUT_MS``).

Everything that can refuse an export (not found, no query, the query no longer passes the
guard) is refused in ``prepare``, before the first byte, so it answers with a 4xx. A failure
while rows stream can no longer change the status: it ends the file with a ``#`` line.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio

from backend.config import QuerySettings
from backend.engines.base import QueryDialect, QueryExecutionError, QueryRefusedError
from backend.errors import ConflictError
from backend.services.ask_plan import AskTarget
from backend.services.audit_service import Actor, AuditService
from backend.services.connection_service import ConnectionService
from backend.services.history_service import HistoryService
from backend.services.query_writer import query_limits


@dataclass(frozen=True)
class ExportPlan:
    actor: Actor
    target: AskTarget
    dialect: QueryDialect
    query: str
    filename: str


def csv_lines(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


class ExportService:
    def __init__(
        self,
        connections: ConnectionService,
        history: HistoryService,
        dialects: dict[str, QueryDialect],
        settings: QuerySettings,
        audit: AuditService,
    ):
        self._connections = connections
        self._history = history
        self._dialects = dialects
        self._settings = settings
        self._audit = audit

    async def prepare(self, actor: Actor, history_id: uuid.UUID) -> ExportPlan:
        """The caller's answer, its connection (policy checked again) and its query as the guard
        accepts it today; 404 for another user's answer, 409 when there is nothing to run."""
        item = await self._history.get(actor.id, history_id)
        if not item.query or not item.executed or item.connection_id is None:
            raise ConflictError("This answer has no query that ran, so there is nothing to export")
        target = await self._connections.ask_target(actor.id, item.connection_id)
        dialect = self._dialects[target.kind]
        if dialect.language != item.language:
            raise ConflictError("This answer's query is for another kind of database than the connection now")
        try:
            query, problems = dialect.check(item.query, target.snapshot)
        except QueryRefusedError as exc:
            raise ConflictError(f"The query is refused now: {exc}") from None
        if problems:
            raise ConflictError(f"The query no longer fits the database: {'; '.join(problems)}")
        stamp = item.created_at.strftime("%Y%m%d-%H%M%S")
        return ExportPlan(actor, target, dialect, query, f"sextant-{stamp}.csv")

    async def stream(self, plan: ExportPlan) -> AsyncIterator[str]:
        """The CSV text, a batch of lines at a time; the run goes into the audit trail."""
        s = self._settings
        limits = dataclasses.replace(query_limits(s), statement_timeout_ms=s.export_statement_timeout_ms)
        started = time.perf_counter()
        rows, problem = -1, None  # the header is not a row
        batch: list[list[Any]] = []
        try:
            async for row in plan.dialect.export(
                plan.target.url, plan.query, plan.target.snapshot, limits, s.export_max_rows, s.export_max_bytes
            ):
                if isinstance(row, str):  # a cap: said on the file's last line
                    batch.append([f"# {row}"])
                    continue
                rows += 1
                batch.append(row)
                if len(batch) >= 500:
                    yield csv_lines(batch)
                    batch = []
            yield csv_lines(batch)
        except (QueryExecutionError, QueryRefusedError) as exc:
            problem = f"The database said: {exc}"
            yield csv_lines(batch) + csv_lines([[f"# Export failed: {problem}"]])
        except (GeneratorExit, anyio.get_cancelled_exc_class()):
            # The download was dropped: closed at a yield, or cancelled mid-fetch.
            problem = "cancelled before it finished"
            raise
        except Exception as exc:
            problem = f"failed: {type(exc).__name__}"
            raise
        finally:
            await self._audit.record_query(
                plan.actor,
                plan.target.connection_id,
                plan.dialect.language,
                plan.query,
                row_count=max(rows, 0),
                duration_ms=(time.perf_counter() - started) * 1000,
                error=problem,
                export=True,
            )
