"""Ask: retrieve -> generate -> validate -> execute (read-only) -> answer -> history.

One path serves both ``POST /api/query`` and its streaming twin: ``run`` yields events
(``sources``, ``query``, ``rows``, ``token``, ``error``, ``done``) and the plain endpoint
keeps the body of ``done``. Everything that can be refused for bad input is refused in
``prepare``, before the first event, so it answers with a 4xx instead of an event.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator

from backend.components.llm_client import LLMClient, LLMUnavailableError
from backend.components.metrics import Metrics
from backend.components.prompt_budget import fit_to_budget, focus_columns
from backend.config import QuerySettings, SecuritySettings
from backend.engines.base import QueryDialect, QueryRefusedError, QueryResult
from backend.engines.prompting import answer_messages
from backend.schemas.ask_events import (
    AskEvent,
    DoneEvent,
    ErrorEvent,
    QueryEvent,
    RowsEvent,
    SourcesEvent,
    StepEvent,
    TokenEvent,
)
from backend.schemas.query import QueryIn, QueryOut, Source, Step
from backend.schemas.schema_snapshot import ObjectInfo, SchemaSnapshot
from backend.services.ask_plan import AskPlan, AskState, Failure
from backend.services.audit_service import Actor, AuditService
from backend.services.connection_service import ConnectionService
from backend.services.history_service import HistoryService
from backend.services.query_writer import QueryWriter
from backend.services.rate_limit_service import RateLimitService
from backend.services.search_service import SearchService
from backend.services.user_settings_service import UserSettingsService

logger = logging.getLogger(__name__)

# The answer when no query came through; ``QueryOut.error`` carries the last problem itself.
GAVE_UP: dict[Failure, str] = {
    "no_query": "The model did not reply with a query, so there is no answer from the data.",
    "names": "I could not write a query that matches this database's tables and columns.",
    "refused": "The model's queries were refused: Sextant runs only read-only queries it can check.",
    "database": "The database could not run the query the model wrote.",
}


def provenance(sources: list[Source], used: list[str], snapshot: SchemaSnapshot) -> list[Source]:
    """The sources as the answer shows them: what the query read first (``used``, in the query's
    order; an object retrieval did not offer comes in ``via="query"``), then what was retrieved
    and not used. ``used`` names come from the parsed query, never from the model's say-so."""
    retrieved = {s.object: s for s in sources}
    by_name = snapshot.by_name()
    first: list[Source] = []
    for name in used:
        if name in retrieved:
            first.append(retrieved[name].model_copy(update={"used": True}))
        elif name in by_name:
            first.append(Source(object=name, kind=by_name[name].kind, score=0.0, via="query", used=True))
    return first + [s for s in sources if s.object not in set(used)]


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
        self._connections = connections
        self._search = search
        self._llm = llm
        self._dialects = dialects
        self._history = history
        self._user_settings = user_settings
        self._settings = settings
        self._rate_limits = rate_limits
        self._security = security
        self._writer = QueryWriter(llm, settings, audit, metrics)

    async def prepare(self, actor: Actor, body: QueryIn) -> AskPlan:
        """Everything that can refuse a question, before its first event: 404, 409, 429."""
        user_id = actor.id
        target = await self._connections.ask_target(user_id, body.connection_id)
        await self._rate_limits.charge(
            [f"questions:user:{user_id}"],
            self._security.rate_questions_per_minute,
            60,
            "Too many questions in the last minute",
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

    async def run(self, plan: AskPlan) -> AsyncIterator[AskEvent]:
        """The events of one question, in order; the last one is always ``DoneEvent``."""
        state = AskState()
        yield StepEvent(step="retrieve")
        sources, objects = await self._retrieve(plan, state)
        yield SourcesEvent(sources=sources)
        # aclosing: a cancelled question closes the writer at once, so its audit runs in its own
        # finally instead of whenever the abandoned generator is finalised.
        async with contextlib.aclosing(self._write_query(plan, objects, state)) as steps:
            async for step in steps:
                yield StepEvent(step=step)
        final_sql = state.final_sql
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
            if plan.options.answer:
                yield StepEvent(step="answer")
                async for token in self._answer(plan, final_sql, result, state):
                    yield token
        elif final_sql is not None:
            state.answer = (
                "The query was validated but not run, because running queries is turned off in your settings."
            )
        if state.error and state.code:
            yield ErrorEvent(detail=state.error, code=state.code)
        yield DoneEvent(result=await self._record(plan, state, sources, final_sql))

    async def _retrieve(self, plan: AskPlan, state: AskState) -> tuple[list[Source], list[ObjectInfo]]:
        """The objects the prompt describes, and the sources that name them."""
        started = time.perf_counter()
        hits = await self._search.retrieve(
            plan.target.connection_id, plan.target.index, plan.question, plan.prefs.top_k
        )
        state.add("retrieve", started)
        by_name = plan.target.snapshot.by_name()
        limit = self._settings.ask_max_columns_per_object
        found = [focus_columns(by_name[h.object], plan.question, limit) for h in hits if h.object in by_name]
        sample_rows = plan.prefs.sample_rows
        objects = fit_to_budget(
            found, lambda o: plan.dialect.describe(o, sample_rows), self._settings.ask_context_chars, plan.question
        )
        # Sources are what the prompt really describes: objects the budget left out are not among them.
        described = {o.qualified_name for o in objects}
        sources = [
            Source(object=h.object, kind=h.kind, score=h.score, via=h.via) for h in hits if h.object in described
        ]
        return sources, objects

    async def _write_query(
        self, plan: AskPlan, objects: list[ObjectInfo], state: AskState
    ) -> AsyncGenerator[Step, None]:
        """The steps of writing the query; ``state.final_sql`` is the query that passed the guard
        (and ran, when running is on), or None with ``state.answer`` saying why."""
        history = await self._history.recent_turns(
            plan.actor.id, plan.conversation_id, self._settings.history_turns_in_prompt
        )
        messages = plan.dialect.generation_messages(plan.question, objects, plan.prefs.sample_rows, history)
        try:
            async with contextlib.aclosing(self._writer.write(plan, messages, state)) as steps:
                async for step in steps:
                    yield step
        except LLMUnavailableError as exc:
            state.fail(f"{exc.detail}, so no query was written.", exc.code)
            state.answer = "The tables that look relevant are listed as sources."
            state.final_sql = None
            return
        if state.final_sql is None:
            # The sentence says what went wrong; the error itself (shown beside it) says the detail.
            state.answer = GAVE_UP[state.failure or "no_query"]

    async def _answer(
        self, plan: AskPlan, final_sql: str, result: QueryResult, state: AskState
    ) -> AsyncIterator[TokenEvent]:
        """The model's answer over the rows, streamed; the rows stand if the model goes away."""
        started = time.perf_counter()
        messages = answer_messages(
            plan.question,
            final_sql,
            result.columns,
            result.rows,
            result.truncated,
            self._settings.answer_rows_in_prompt,
        )
        try:
            async for fragment in self._llm.stream(messages, plan.prefs.model):
                state.answer += fragment
                yield TokenEvent(text=fragment)
        except LLMUnavailableError as exc:
            state.fail(f"{exc.detail} while writing the answer; the rows shown are the real result.", exc.code)
        state.add("answer", started)

    async def _record(self, plan: AskPlan, state: AskState, sources: list[Source], final_sql: str | None) -> QueryOut:
        """The whole answer, kept in the history."""
        final = state.result if final_sql is not None else None
        if final_sql is not None:
            try:
                used = plan.dialect.used_objects(final_sql, plan.target.snapshot)
            except QueryRefusedError:
                logger.warning("provenance: the checked query did not parse again")
                used = []
            sources = provenance(sources, used, plan.target.snapshot)
        out = QueryOut(
            answer=state.answer.strip(),
            query=state.sql,
            language=plan.dialect.language,
            columns=final.columns if final else [],
            rows=final.rows if final else [],
            row_count=final.row_count if final else 0,
            truncated=final.truncated if final else False,
            truncation=final.truncation if final else None,
            sources=sources,
            timings=state.timings,
            model=plan.prefs.model,
            history_id=None,
            conversation_id=plan.conversation_id,
            executed=final is not None,
            error=state.error,
            error_code=state.code,
        )
        if plan.options.record:
            out.history_id = await self._history.record(plan.actor.id, plan.target.connection_id, plan.question, out)
        return out
