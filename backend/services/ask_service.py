"""Ask: retrieve -> generate -> validate -> execute (read-only) -> answer -> history.

One path serves both ``POST /api/query`` and its streaming twin: ``run`` yields events
(``sources``, ``query``, ``rows``, ``token``, ``error``, ``done``) and the plain endpoint
keeps the body of ``done``. Everything that can be refused for bad input is refused in
``prepare``, before the first event, so it answers with a 4xx instead of an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator

from backend.components.answer_cache import AnswerCache, NoCache
from backend.components.llm_client import LLMClient, LLMUnavailableError
from backend.components.metrics import Metrics
from backend.components.prompt_budget import fit_to_budget, focus_columns
from backend.config import QuerySettings, SecuritySettings
from backend.engines.base import QueryDialect, QueryRefusedError, QueryResult
from backend.engines.prompting import PromptExtras, WorkedExample, answer_messages
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
from backend.schemas.query import NoteUsed, QueryIn, QueryOut, Source, Step
from backend.schemas.schema_snapshot import ObjectInfo, SchemaSnapshot
from backend.services.answer_keeper import AnswerKeeper
from backend.services.ask_plan import AskPlan, AskState, Failure
from backend.services.audit_service import Actor, AuditService
from backend.services.connection_service import ConnectionService
from backend.services.example_retrieval import ExampleRetriever, FoundExample
from backend.services.history_service import HistoryService
from backend.services.query_writer import QueryWriter
from backend.services.rate_limit_service import RateLimitService
from backend.services.search_service import SearchService
from backend.services.user_settings_service import UserSettingsService
from backend.services.verified_answer import CheckedExample, VerifiedAnswerer, example_ref, verified_sentence

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


def notes_used(snapshot: SchemaSnapshot, objects: list[ObjectInfo]) -> list[NoteUsed]:
    """The owner's notes a prompt describing ``objects`` carries: the database's, then each
    object's and each shown column's."""
    used = [NoteUsed(object="", text=snapshot.note)] if snapshot.note else []
    for obj in objects:
        if obj.note:
            used.append(NoteUsed(object=obj.qualified_name, text=obj.note))
        used.extend(NoteUsed(object=obj.qualified_name, column=c.name, text=c.note) for c in obj.columns if c.note)
    return used


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
        examples: ExampleRetriever | None = None,
        answers: AnswerCache | None = None,
    ):
        self._connections = connections
        self._answers = AnswerKeeper(answers or NoCache(), examples, audit)
        self._examples = examples
        self._verified = VerifiedAnswerer(examples, settings, audit) if examples else None
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
        return AskPlan(
            actor,
            body.question.strip(),
            conversation_id,
            target,
            prefs,
            self._dialects[target.kind],
            first_question=body.conversation_id is None,
            fresh=body.fresh,
        )

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
        started = time.perf_counter()
        # The question is embedded while its verified twin is looked up: the lookup costs no time.
        embedding = asyncio.create_task(self._search.embed(plan.question))
        try:
            checked = await self._verified.find(plan) if self._verified else None
            if checked is not None:
                reused = AskState()
                reused.add("retrieve", started)
                async for event in self._reuse(plan, checked, reused):
                    yield event
                if reused.final_sql is not None:
                    sources = self._verified.sources(plan, checked) if self._verified else []
                    yield DoneEvent(result=await self._record(plan, reused, sources, reused.final_sql))
                    return
                # The database failed the verified query: the model writes one, as for any question.
            lookup = await self._answers.find(plan)
            if lookup.answer is not None:
                async for event in self._serve_cached(plan, lookup.answer):
                    yield event
                return
            vector = await embedding
            state.add("retrieve", started)  # the embedding (and the lookup beside it); then retrieval
            sources, objects = await self._retrieve(plan, state, vector)
        finally:
            if not embedding.done():
                embedding.cancel()
            elif not embedding.cancelled():
                embedding.exception()  # retrieved: an unused failed embedding is not logged as lost
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
        out = await self._record(plan, state, sources, final_sql)
        await self._answers.keep(plan, lookup, out)
        yield DoneEvent(result=out)

    async def _serve_cached(self, plan: AskPlan, out: QueryOut) -> AsyncIterator[AskEvent]:
        """The events of an answer from the cache: no model, no query against the database."""
        yield SourcesEvent(sources=out.sources)
        if out.query is not None:
            yield QueryEvent(query=out.query, language=out.language, valid=True)
        yield RowsEvent(
            columns=out.columns,
            rows=out.rows,
            row_count=out.row_count,
            truncated=out.truncated,
            truncation=out.truncation,
        )
        yield TokenEvent(text=out.answer)
        if plan.options.record:
            out.history_id = await self._history.record(plan.actor.id, plan.target.connection_id, plan.question, out)
        await self._answers.audit_hit(plan, out)
        yield DoneEvent(result=out)

    async def _reuse(self, plan: AskPlan, checked: CheckedExample, state: AskState) -> AsyncIterator[AskEvent]:
        """The events of a question answered by a verified example's query; ``state.final_sql`` is
        None afterwards when the database failed it (the caller asks the model then)."""
        assert self._verified is not None
        state.verified_example = checked.ref
        state.sql = checked.query
        result: QueryResult | None = None
        if plan.prefs.execute_queries:
            yield StepEvent(step="execute")
            if not await self._verified.run(plan, checked, state):
                return
            result = state.result
        state.final_sql = checked.query
        yield SourcesEvent(sources=self._verified.sources(plan, checked))
        yield QueryEvent(query=checked.query, language=plan.dialect.language, valid=True)
        if result is not None:
            yield RowsEvent(
                columns=result.columns,
                rows=result.rows,
                row_count=result.row_count,
                truncated=result.truncated,
                truncation=result.truncation,
            )
        state.answer = verified_sentence(checked, result)
        if plan.options.answer:
            yield TokenEvent(text=state.answer)

    async def _retrieve(
        self, plan: AskPlan, state: AskState, vector: list[float]
    ) -> tuple[list[Source], list[ObjectInfo]]:
        """The objects the prompt describes, and the sources that name them; the verified examples
        most like the question (``state.examples_used``) bring the tables they read along.
        ``vector``: the question's embedding."""
        started = time.perf_counter()
        target = plan.target
        hits, examples = await asyncio.gather(
            self._search.retrieve(target.connection_id, target.index, plan.question, plan.prefs.top_k, vector),
            self._similar_examples(plan, vector),
        )
        state.add("retrieve", started)
        by_name = target.snapshot.by_name()
        source_of = {h.object: Source(object=h.object, kind=h.kind, score=h.score, via=h.via) for h in hits}
        order = [h.object for h in hits if h.object in by_name]
        # The examples' tables come right after the best hit: a checked query read them.
        from_examples: list[str] = []
        for example in examples:
            for name in example.used_objects:
                if name in by_name and name not in source_of:
                    source_of[name] = Source(object=name, kind=by_name[name].kind, score=example.score, via="example")
                    from_examples.append(name)
        order = order[:1] + from_examples + order[1:]
        limit = self._settings.ask_max_columns_per_object
        found = [focus_columns(by_name[name], plan.question, limit) for name in order]
        sample_rows = plan.prefs.sample_rows
        objects = fit_to_budget(
            found, lambda o: plan.dialect.describe(o, sample_rows), self._settings.ask_context_chars, plan.question
        )
        # Sources are what the prompt really describes: objects the budget left out are not among them.
        described = {o.qualified_name for o in objects}
        state.examples_used = [example_ref(e) for e in examples]
        state.notes_used = notes_used(target.snapshot, objects)
        state.prompt_examples = [WorkedExample(e.question, e.query) for e in examples]
        return [source_of[name] for name in order if name in described], objects

    async def _similar_examples(self, plan: AskPlan, vector: list[float]) -> list[FoundExample]:
        if self._examples is None or not plan.options.use_examples or self._settings.ask_examples <= 0:
            return []
        found = await self._examples.similar(
            plan.target.connection_id,
            plan.question,
            vector,
            limit=self._settings.ask_examples,
            floor=self._settings.ask_example_floor,
            candidates=self._settings.ask_example_candidates,
            excluded=plan.options.exclude_examples,
        )
        return [e for e in found if e.language == plan.dialect.language]

    async def _write_query(
        self, plan: AskPlan, objects: list[ObjectInfo], state: AskState
    ) -> AsyncGenerator[Step, None]:
        """The steps of writing the query; ``state.final_sql`` is the query that passed the guard
        (and ran, when running is on), or None with ``state.answer`` saying why."""
        history = await self._history.recent_turns(
            plan.actor.id, plan.conversation_id, self._settings.history_turns_in_prompt
        )
        extras = PromptExtras(database_note=plan.target.snapshot.note, examples=state.prompt_examples)
        messages = plan.dialect.generation_messages(plan.question, objects, plan.prefs.sample_rows, history, extras)
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
            verified_example=state.verified_example,
            examples_used=state.examples_used,
            notes_used=state.notes_used,
        )
        if plan.options.record:
            out.history_id = await self._history.record(plan.actor.id, plan.target.connection_id, plan.question, out)
        return out
