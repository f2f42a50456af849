"""Run a person's query (``POST /api/query/run``): "Edit and run" on an answer, or the Chat
screen's "Write a query". No model is involved, so it works while the LLM is down.

The query goes through exactly what a question's query goes through: the engine's guard
(``QueryDialect.check``, the same refusals), the same read-only runner under
``query_writer.query_limits``, the same question rate limit, the same audit events
(``query`` for a run, ``query_refused`` for a refusal) and the same history, where the entry's
``origin`` says ``edited`` or ``typed``. A refused query is not run: the answer says so, with
the guard's reason in ``error`` and ``error_code="query_refused"`` (HTTP 200, like an answer).
"""

from __future__ import annotations

import time
import uuid
from typing import Literal

import anyio
import anyio.to_thread

from backend.components.metrics import Metrics
from backend.config import QuerySettings, SecuritySettings
from backend.engines.base import QueryDialect, QueryExecutionError, QueryLimits, QueryRefusedError, QueryResult
from backend.errors import ConflictError
from backend.schemas.query import ErrorCode, Origin, QueryOut, QueryRunIn, Timings
from backend.services.ask_plan import AskTarget
from backend.services.ask_service import provenance
from backend.services.audit_service import Actor, AuditService
from backend.services.connection_service import ConnectionService
from backend.services.history_service import HistoryService
from backend.services.query_writer import query_limits
from backend.services.rate_limit_service import RateLimitService
from backend.services.user_settings_service import UserSettingsService

# What history keeps as the "question" of a typed query: its first characters.
TYPED_QUESTION_CHARS = 4000


def rows_sentence(result: QueryResult) -> str:
    """The plain, factual answer to a query a person ran: how many rows came back."""
    n = result.row_count
    counted = "No rows." if n == 0 else ("1 row." if n == 1 else f"{n:,} rows.")
    if result.truncated:
        return f"{counted[:-1]} shown; the result has more."
    return counted


def unanswered(query: str, language: Literal["sql", "mongo"], conversation_id: uuid.UUID, origin: Origin) -> QueryOut:
    """A person's query before it is checked: nothing run, nothing answered yet."""
    return QueryOut(
        answer="",
        query=query.strip(),
        language=language,
        columns=[],
        rows=[],
        row_count=0,
        truncated=False,
        sources=[],
        timings=Timings(),
        model="",
        history_id=None,
        conversation_id=conversation_id,
        executed=False,
        error=None,
        origin=origin,
    )


class QueryRunService:
    def __init__(
        self,
        connections: ConnectionService,
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
        self._dialects = dialects
        self._history = history
        self._user_settings = user_settings
        self._settings = settings
        self._audit = audit
        self._rate_limits = rate_limits
        self._security = security
        self._metrics = metrics

    async def run(self, actor: Actor, body: QueryRunIn) -> QueryOut:
        """Check, run (when the guard lets it through) and record one query; 404 for another
        user's connection, conversation or ``edited_from``, 429 past the question rate."""
        target = await self._connections.ask_target(actor.id, body.connection_id)
        origin: Origin = "typed"
        question = body.query.strip()[:TYPED_QUESTION_CHARS]
        conversation_id = body.conversation_id
        if body.edited_from is not None:
            edited = await self._history.get(actor.id, body.edited_from)
            if edited.connection_id != body.connection_id:
                raise ConflictError("The answer being edited is from another connection")
            origin, question = "edited", edited.question
            conversation_id = conversation_id or edited.conversation_id
        await self.charge(actor)
        if conversation_id is None:
            conversation_id = uuid.uuid4()
        else:
            await self._history.check_conversation(actor.id, conversation_id)
        prefs = await self._user_settings.get(actor.id)
        dialect = self._dialects[target.kind]
        out = unanswered(body.query, dialect.language, conversation_id, origin)
        await self.check_and_run(actor, target, dialect, out, prefs.execute_queries)
        out.history_id = await self._history.record(actor.id, target.connection_id, question, out)
        return out

    async def charge(self, actor: Actor) -> None:
        """One question of the caller's per-minute limit (429 past it): a person's query reaches
        their database as a question's does."""
        await self._rate_limits.charge(
            [f"questions:user:{actor.id}"],
            self._security.rate_questions_per_minute,
            60,
            "Too many questions in the last minute",
        )

    def dialect(self, kind: str) -> QueryDialect:
        return self._dialects[kind]

    async def check_and_run(
        self, actor: Actor, target: AskTarget, dialect: QueryDialect, out: QueryOut, execute: bool
    ) -> None:
        """Check ``out.query`` with the engine's guard and, when it passes and ``execute``, run it
        read-only under the query limits; fills ``out`` (the normalised query, rows, or ``error``
        and ``error_code``) and audits it: a run as ``query``, a refusal as ``query_refused``.
        Shared with the verified examples, which are saved only after this ran without error."""
        started = time.perf_counter()
        query = out.query or ""
        try:
            # Off the event loop: a person's 20,000 characters can take the parser a second or
            # more, which would stall every other request of the server meanwhile.
            checked, problems = await anyio.to_thread.run_sync(dialect.check, query, target.snapshot)
        except QueryRefusedError as exc:
            out.timings.validate_ = _ms(started)
            await self._refused(actor, target, dialect, out, str(exc))
            return
        out.timings.validate_ = _ms(started)
        out.query = checked
        if problems:
            # A refusal of the guard's name layer (a system catalog named with its schema, a
            # table left out of the index...): in the audit trail as ``query_refused``, as the
            # same query written by the model would be.
            await self._refused(actor, target, dialect, out, "; ".join(problems), "unknown_names")
            out.answer = "The query was not run: it names tables or columns this database does not have."
            return
        if not execute:
            out.answer = "The query was checked but not run, because running queries is turned off in your settings."
            return
        await self._execute(actor, target, dialect, out, checked)

    async def _execute(
        self, actor: Actor, target: AskTarget, dialect: QueryDialect, out: QueryOut, checked: str
    ) -> None:
        started = time.perf_counter()
        problem: str | None = None
        result: QueryResult | None = None
        try:
            result = await dialect.run(target.url, checked, target.snapshot, query_limits(self._settings))
        except (QueryExecutionError, QueryRefusedError) as exc:
            problem = f"The database said: {exc}"
            timed_out = isinstance(exc, QueryExecutionError) and exc.timed_out
            self._fail(out, problem, "db_timeout" if timed_out else "db_error")
            out.answer = "The database could not run the query."
        except anyio.get_cancelled_exc_class():
            await self._audit_run(actor, target, dialect, checked, None, "cancelled before it finished", started)
            raise
        except Exception as exc:
            await self._audit_run(actor, target, dialect, checked, None, f"failed: {type(exc).__name__}", started)
            raise
        out.timings.execute = _ms(started)
        await self._audit_run(actor, target, dialect, checked, result, problem, started)
        if result is None:
            return
        out.executed = True
        out.columns, out.rows, out.row_count = result.columns, result.rows, result.row_count
        out.truncated, out.truncation = result.truncated, result.truncation
        out.answer = rows_sentence(result)
        try:
            used = await anyio.to_thread.run_sync(dialect.used_objects, checked, target.snapshot)
        except QueryRefusedError:
            used = []
        out.sources = provenance([], used, target.snapshot)

    async def run_readonly(
        self, actor: Actor, target: AskTarget, dialect: QueryDialect, query: str, limits: QueryLimits
    ) -> tuple[str, QueryResult]:
        """``(checked query, result)`` of a query that is not a person's question (an evaluation's
        expected or re-run query): the same guard off the event loop and the same read-only
        runner, one ``query`` audit event per run. No history, no rate limit (the caller
        decides). Raises ``QueryRefusedError`` (names the index lacks included) or
        ``QueryExecutionError``."""
        checked, problems = await anyio.to_thread.run_sync(dialect.check, query, target.snapshot)
        if problems:
            raise QueryRefusedError("; ".join(problems))
        started = time.perf_counter()
        try:
            result = await dialect.run(target.url, checked, target.snapshot, limits)
        except (QueryExecutionError, QueryRefusedError) as exc:
            await self._audit_run(actor, target, dialect, checked, None, f"The database said: {exc}", started)
            raise
        except anyio.get_cancelled_exc_class():
            await self._audit_run(actor, target, dialect, checked, None, "cancelled before it finished", started)
            raise
        await self._audit_run(actor, target, dialect, checked, result, None, started)
        return checked, result

    async def _refused(
        self,
        actor: Actor,
        target: AskTarget,
        dialect: QueryDialect,
        out: QueryOut,
        reason: str,
        code: ErrorCode = "query_refused",
    ) -> None:
        """Not run: said in the answer, and one ``query_refused`` event in the audit trail."""
        out.answer = "The query was refused, so it was not run."
        self._fail(out, reason, code)
        if self._metrics:
            self._metrics.guard_refusals.labels(dialect.language).inc()
        refusal = {"query": (out.query or "")[:10_000], "error": reason}
        with anyio.CancelScope(shield=True):
            await self._audit.record(
                actor,
                "query_refused",
                target=f"connection:{target.connection_id}",
                success=False,
                details={"language": dialect.language, **refusal, "attempts": [refusal], "origin": out.origin},
            )

    @staticmethod
    def _fail(out: QueryOut, error: str, code: ErrorCode) -> None:
        out.error, out.error_code = error, code

    async def _audit_run(
        self,
        actor: Actor,
        target: AskTarget,
        dialect: QueryDialect,
        query: str,
        result: QueryResult | None,
        problem: str | None,
        started: float,
    ) -> None:
        await self._audit.record_query(
            actor,
            target.connection_id,
            dialect.language,
            query,
            row_count=result.row_count if result is not None and problem is None else None,
            duration_ms=(time.perf_counter() - started) * 1000,
            error=problem,
        )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
