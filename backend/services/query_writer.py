"""Write the query: generate with the LLM, check with the engine's guard, run read-only, and
repair with the model (up to ``query_repair_attempts`` times) when a step refuses or fails.

Every query that ran against a user database, or was refused, goes into the audit trail.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator

import anyio
import anyio.to_thread

from backend.components.llm_client import ChatMessage, LLMClient
from backend.components.metrics import Metrics
from backend.config import QuerySettings
from backend.engines.base import QueryExecutionError, QueryLimits, QueryRefusedError
from backend.engines.prompting import repair_messages
from backend.schemas.query import ErrorCode, Step
from backend.services.ask_plan import AskPlan, AskState, Failure
from backend.services.audit_service import AuditService

logger = logging.getLogger(__name__)


def query_limits(s: QuerySettings) -> QueryLimits:
    """The bounds of a question's query, from the settings."""
    return QueryLimits(
        max_rows=s.query_max_rows,
        statement_timeout_ms=s.query_statement_timeout_ms,
        lock_timeout_ms=s.query_lock_timeout_ms,
        idle_timeout_ms=s.query_idle_timeout_ms,
        max_bytes=s.query_max_bytes,
        max_value_bytes=s.query_max_value_bytes,
        work_mem=s.query_work_mem,
        temp_file_limit=s.query_temp_file_limit,
    )


class QueryWriter:
    def __init__(self, llm: LLMClient, settings: QuerySettings, audit: AuditService, metrics: Metrics | None = None):
        self._llm = llm
        self._settings = settings
        self._audit = audit
        self._metrics = metrics

    async def write(self, plan: AskPlan, messages: list[ChatMessage], state: AskState) -> AsyncGenerator[Step, None]:
        """Generate, validate and (when allowed) execute, with repair rounds, yielding each step
        as it starts. The query that passed ends in ``state.final_sql`` (None when it gave up).

        Every run goes into the audit trail; the refusals of one question go in as one
        ``query_refused`` event with each attempt's query and reason, even when the question
        is cancelled half-way."""
        refusals: list[dict[str, str]] = []
        try:
            async for step in self._attempts(plan, messages, state, refusals):
                yield step
        finally:
            if refusals:
                with anyio.CancelScope(shield=True):
                    await self._audit_refusals(plan, refusals)

    async def _attempts(
        self, plan: AskPlan, messages: list[ChatMessage], state: AskState, refusals: list[dict[str, str]]
    ) -> AsyncGenerator[Step, None]:
        dialect, snapshot = plan.dialect, plan.target.snapshot
        for attempt in range(self._settings.query_repair_attempts + 1):
            yield "generate"
            started = time.perf_counter()
            reply = await self._llm.complete(messages, plan.prefs.model, dialect.json_schema)
            state.add("generate", started)
            query = dialect.extract(reply)
            yield "validate"
            started = time.perf_counter()
            problem: str | None = None
            code: ErrorCode = "no_valid_query"
            failure: Failure = "no_query"
            if query is None:
                problem = "Your reply contained no query"
            else:
                try:
                    # Off the event loop, as for a person's query: a long one takes the parser seconds.
                    state.sql, problems = await anyio.to_thread.run_sync(dialect.check, query, snapshot)
                    problem = "; ".join(problems) if problems else None
                    failure = "names"
                except QueryRefusedError as exc:
                    state.sql = query
                    problem = str(exc)
                    failure = "refused"
            state.add("validate", started)
            refused = problem is not None
            if problem is None and plan.prefs.execute_queries:
                yield "execute"
                started = time.perf_counter()
                try:
                    state.result = await dialect.run(
                        plan.target.url, state.sql or "", snapshot, query_limits(self._settings)
                    )
                except (QueryExecutionError, QueryRefusedError) as exc:
                    problem = f"The database said: {exc}"
                    failure = "database"
                    code = "db_timeout" if isinstance(exc, QueryExecutionError) and exc.timed_out else "db_error"
                except anyio.get_cancelled_exc_class():
                    # Cancelled (the person pressed Cancel or went away): the query reached the
                    # database, so it is in the trail (record_query is shielded from the cancel).
                    await self._audit_query(plan, state, "cancelled before it finished", started)
                    raise
                except Exception as exc:
                    await self._audit_query(plan, state, f"failed: {type(exc).__name__}", started)
                    raise
                state.add("execute", started)
                await self._audit_query(plan, state, problem, started)
            elif refused and problem is not None:
                refusals.append({"query": (state.sql or "")[:10_000], "error": problem})
            if problem is None:
                state.error, state.code = None, None
                state.final_sql = state.sql
                return
            state.fail(problem, code, failure)
            logger.info("query attempt %d refused or failed: %s", attempt + 1, problem)
            messages = repair_messages(messages, dialect.as_reply(query) if query else reply[:500], problem)

    async def _audit_refusals(self, plan: AskPlan, refusals: list[dict[str, str]]) -> None:
        if self._metrics:
            self._metrics.guard_refusals.labels(plan.dialect.language).inc(len(refusals))
        last = refusals[-1]
        await self._audit.record(
            plan.actor,
            "query_refused",
            target=f"connection:{plan.target.connection_id}",
            success=False,
            details={"language": plan.dialect.language, **last, "attempts": refusals},
        )

    async def _audit_query(self, plan: AskPlan, state: AskState, problem: str | None, started: float) -> None:
        """Every query that ran against a user database goes into the audit trail."""
        await self._audit.record_query(
            plan.actor,
            plan.target.connection_id,
            plan.dialect.language,
            state.sql or "",
            row_count=state.result.row_count if state.result and problem is None else None,
            duration_ms=(time.perf_counter() - started) * 1000,
            error=problem,
        )
