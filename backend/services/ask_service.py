"""Ask: retrieve -> generate -> validate -> execute (read-only) -> answer -> history.

One path serves both ``POST /api/query`` and its streaming twin: ``run`` yields events
(``sources``, ``query``, ``rows``, ``token``, ``error``, ``done``) and the plain endpoint
keeps the body of ``done``. Everything that can be refused for bad input is refused in
``prepare``, before the first event, so it answers with a 4xx instead of an event.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from backend.components.llm_client import ChatMessage, LLMClient, LLMUnavailableError
from backend.components.metrics import Metrics
from backend.components.prompts import answer_messages, repair_messages
from backend.components.query_dialects import QueryDialect
from backend.components.query_runner import QueryExecutionError, QueryLimits, QueryResult
from backend.components.sql_guard import QueryRefused
from backend.config import QuerySettings, SecuritySettings
from backend.schemas.ask_events import (
    AskEvent,
    DoneEvent,
    ErrorEvent,
    QueryEvent,
    RowsEvent,
    SourcesEvent,
    TokenEvent,
)
from backend.schemas.query import STEPS, ErrorCode, QueryIn, QueryOut, Source, Step, UserSettingsOut
from backend.services.audit_service import Actor, AuditService
from backend.services.connection_service import AskTarget, ConnectionService
from backend.services.history_service import HistoryService
from backend.services.rate_limit_service import RateLimitService
from backend.services.search_service import SearchService
from backend.services.user_settings_service import UserSettingsService

logger = logging.getLogger(__name__)


@dataclass
class AskPlan:
    actor: Actor
    question: str
    conversation_id: uuid.UUID
    target: AskTarget
    prefs: UserSettingsOut
    dialect: QueryDialect


@dataclass
class _Attempt:
    """The state of one question as it moves through the steps."""

    timings: dict[Step, float] = field(default_factory=lambda: dict.fromkeys(STEPS, 0.0))
    sql: str | None = None
    result: QueryResult | None = None
    error: str | None = None
    code: ErrorCode | None = None

    def fail(self, error: str, code: ErrorCode) -> None:
        self.error, self.code = error, code

    def add(self, step: Step, started: float) -> None:
        self.timings[step] = round(self.timings[step] + (time.perf_counter() - started) * 1000, 1)


class AskService:
    def __init__(
        self,
        connections: ConnectionService,
        search: SearchService,
        llm: LLMClient,
        dialects: dict[str, QueryDialect],
        history: HistoryService,
        user_settings: UserSettingsService,
        settings: QuerySettings,
        audit: AuditService,
        rate_limits: RateLimitService,
        security: SecuritySettings,
        metrics: Metrics | None = None,
    ):
        self._metrics = metrics
        self._connections = connections
        self._search = search
        self._llm = llm
        self._dialects = dialects
        self._history = history
        self._user_settings = user_settings
        self._settings = settings
        self._audit = audit
        self._rate_limits = rate_limits
        self._security = security

    async def prepare(self, actor: Actor, body: QueryIn) -> AskPlan:
        """Everything that can refuse a question, before its first event: 404, 409, 429."""
        user_id = actor.id
        target = await self._connections.ask_target(user_id, body.connection_id)
        await self._rate_limits.charge(
            [f"questions:user:{user_id}"],
            self._security.rate_questions_per_minute,
            60,
            "Too many questions in the last minute; wait a moment",
        )
        conversation_id = body.conversation_id or uuid.uuid4()
        if body.conversation_id is not None:
            await self._history.check_conversation(user_id, conversation_id)
        prefs = await self._user_settings.get(user_id)
        return AskPlan(actor, body.question.strip(), conversation_id, target, prefs, self._dialects[target.kind])

    async def ask(self, actor: Actor, body: QueryIn) -> QueryOut:
        plan = await self.prepare(actor, body)
        async for event in self.run(plan):
            if isinstance(event, DoneEvent):
                return event.result
        raise RuntimeError("the ask flow ended without a result")  # run() always ends with done

    def _limits(self) -> QueryLimits:
        s = self._settings
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

    async def _write_query(self, plan: AskPlan, messages: list[ChatMessage], state: _Attempt) -> str | None:
        """Generate, validate and (when allowed) execute, with repair rounds; None when it gave up."""
        dialect, snapshot = plan.dialect, plan.target.snapshot
        for attempt in range(self._settings.query_repair_attempts + 1):
            started = time.perf_counter()
            reply = await self._llm.complete(messages, plan.prefs.model, dialect.json_schema)
            state.add("generate", started)
            query = dialect.extract(reply)
            started = time.perf_counter()
            problem: str | None = None
            code: ErrorCode = "no_valid_query"
            if query is None:
                problem = "Your reply contained no query"
            else:
                try:
                    state.sql, problems = dialect.check(query, snapshot)
                    problem = "; ".join(problems) if problems else None
                except QueryRefused as exc:
                    state.sql = query
                    problem = str(exc)
            state.add("validate", started)
            refused = problem is not None
            if problem is None and plan.prefs.execute_queries:
                started = time.perf_counter()
                try:
                    state.result = await dialect.run(plan.target.url, state.sql or "", snapshot, self._limits())
                except (QueryExecutionError, QueryRefused) as exc:
                    problem = f"The database said: {exc}"
                    code = "db_timeout" if isinstance(exc, QueryExecutionError) and exc.timed_out else "db_error"
                state.add("execute", started)
                await self._audit_query(plan, state, problem, (time.perf_counter() - started) * 1000)
            elif refused:
                await self._audit_query(plan, state, problem, 0.0, refused=True)
            if problem is None:
                state.error, state.code = None, None
                return state.sql
            state.fail(problem, code)
            logger.info("query attempt %d refused or failed: %s", attempt + 1, problem)
            messages = repair_messages(messages, dialect.as_reply(query) if query else reply[:500], problem)
        return None

    async def _audit_query(
        self, plan: AskPlan, state: _Attempt, problem: str | None, duration_ms: float, refused: bool = False
    ) -> None:
        """Every query that ran against a user database, or was refused, goes into the audit trail."""
        if refused and self._metrics:
            self._metrics.guard_refusals.labels(plan.dialect.language).inc()
        await self._audit.record(
            plan.actor,
            "query_refused" if refused else "query",
            target=f"connection:{plan.target.connection_id}",
            success=problem is None,
            details={
                "language": plan.dialect.language,
                "query": (state.sql or "")[:10_000],
                "row_count": state.result.row_count if state.result and problem is None else None,
                "duration_ms": round(duration_ms, 1),
                "error": problem,
            },
        )

    async def run(self, plan: AskPlan) -> AsyncIterator[AskEvent]:
        """The events of one question, in order; the last one is always ``DoneEvent``."""
        state = _Attempt()
        model = plan.prefs.model
        started = time.perf_counter()
        hits = await self._search.retrieve(
            plan.target.connection_id, plan.target.graph, plan.question, plan.prefs.top_k
        )
        state.add("retrieve", started)
        sources = [Source(object=h.object, kind=h.kind, score=h.score, via=h.via) for h in hits]
        yield SourcesEvent(sources=sources)

        by_name = plan.target.snapshot.by_name()
        objects = [by_name[h.object] for h in hits if h.object in by_name]
        history = await self._history.recent_turns(
            plan.actor.id, plan.conversation_id, self._settings.history_turns_in_prompt
        )
        messages = plan.dialect.generation_messages(plan.question, objects, plan.prefs.sample_rows, history)
        answer = ""
        try:
            final_sql = await self._write_query(plan, messages, state)
        except LLMUnavailableError as exc:
            final_sql = None
            state.fail(
                f"{exc.detail}, so no query was written. The tables that look relevant are listed as sources.",
                exc.code,
            )
            answer = state.error or ""
        else:
            if final_sql is None:
                answer = (
                    "I could not write a query for this question that the database accepts and that stays "
                    f"read-only. Last problem: {state.error}"
                )
        if state.sql is not None:
            yield QueryEvent(query=state.sql, language=plan.dialect.language, valid=final_sql is not None)
        if final_sql is not None and state.result is not None:
            result = state.result
            yield RowsEvent(
                columns=result.columns,
                rows=result.rows,
                row_count=result.row_count,
                truncated=result.truncated,
                truncation=result.truncation,
            )
            started = time.perf_counter()
            try:
                async for fragment in self._llm.stream(
                    answer_messages(
                        plan.question,
                        final_sql,
                        result.columns,
                        result.rows,
                        result.truncated,
                        self._settings.answer_rows_in_prompt,
                    ),
                    model,
                ):
                    answer += fragment
                    yield TokenEvent(text=fragment)
            except LLMUnavailableError as exc:
                state.fail(f"{exc.detail} while writing the answer; the rows above are the real result.", exc.code)
                answer = (answer + "\n\n" if answer else "") + (state.error or "")
            state.add("answer", started)
        elif final_sql is not None:
            answer = "The query was validated but not run, because running queries is turned off in your settings."
        if state.error and state.code:
            yield ErrorEvent(detail=state.error, code=state.code)

        final = state.result if final_sql is not None else None
        out = QueryOut(
            answer=answer.strip(),
            query=state.sql,
            language=plan.dialect.language,
            columns=final.columns if final else [],
            rows=final.rows if final else [],
            row_count=final.row_count if final else 0,
            truncated=final.truncated if final else False,
            truncation=final.truncation if final else None,
            sources=sources,
            timings=state.timings,
            model=model,
            history_id=None,
            conversation_id=plan.conversation_id,
            executed=final is not None,
            error=state.error,
            error_code=state.code,
        )
        out.history_id = await self._history.record(plan.actor.id, plan.target.connection_id, plan.question, out)
        yield DoneEvent(result=out)
