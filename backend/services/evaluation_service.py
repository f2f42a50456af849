"""Evaluation of a model on a person's own database: the connection's evaluation set (imported
JSONL/CSV, each expected query checked by the guard), and runs over it or over the verified
examples, started here and run by ``EvaluationRunner``. Everything is the connection owner's
only: anyone else gets 404, as for a missing connection."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import anyio.to_thread
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.components.llm_client import LLMClient
from backend.components.question_text import normalise_question
from backend.db.models import Connection, EvaluationCase, EvaluationResult, EvaluationRun, VerifiedExample
from backend.engines.base import QueryDialect
from backend.errors import ConflictError, NotFoundError, UnprocessableError
from backend.schemas.evaluations import (
    MAX_CASES,
    EvaluationCaseOut,
    EvaluationDiff,
    EvaluationImportIn,
    EvaluationImportOut,
    EvaluationResultOut,
    EvaluationRunCreated,
    EvaluationRunDetail,
    EvaluationRunIn,
    EvaluationRunOut,
    EvaluationRunsOut,
    EvaluationSetOut,
    EvaluationTimings,
)
from backend.services.audit_service import Actor
from backend.services.connection_service import ConnectionService
from backend.services.evaluation_import import check_cases, parse
from backend.services.evaluation_runner import ACTIVE, EvaluationRunner, RunCase, RunJob
from backend.services.user_settings_service import UserSettingsService

# How many runs the list shows, newest first.
MAX_RUNS_LISTED = 100


def same_model(name: str, listed: str) -> bool:
    """Ollama's spelling: ``llama3.2`` is ``llama3.2:latest``."""

    def full(n: str) -> str:
        return n if ":" in n else f"{n}:latest"

    return full(name) == full(listed)


class EvaluationService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        connections: ConnectionService,
        user_settings: UserSettingsService,
        llm: LLMClient,
        dialects: dict[str, QueryDialect],
        runner: EvaluationRunner,
    ):
        self._sessions = sessions
        self._connections = connections
        self._user_settings = user_settings
        self._llm = llm
        self._dialects = dialects
        self._runner = runner

    # ---- the evaluation set ----------------------------------------------------------------

    async def get_set(self, owner_id: uuid.UUID, connection_id: uuid.UUID) -> EvaluationSetOut:
        connection = await self._connections.get(owner_id, connection_id)
        async with self._sessions() as session:
            rows = await _cases(session, connection_id)
        cases = [
            EvaluationCaseOut(position=r.position, question=r.question, expected_query=r.expected_query) for r in rows
        ]
        language = self._dialects[connection.kind].language
        return EvaluationSetOut(cases=cases, total=len(cases), language=language)

    async def import_set(
        self, owner_id: uuid.UUID, connection_id: uuid.UUID, body: EvaluationImportIn
    ) -> EvaluationImportOut:
        """Adds (or, ``replace``, swaps in) the lines whose expected query the guard lets
        through; the others come back with their line and reason. A file with no usable line
        changes nothing, whatever the mode."""
        target = await self._connections.ask_target(owner_id, connection_id)
        items = parse(body.format, body.content)
        if not items:
            raise UnprocessableError("The file holds no questions")
        async with self._sessions() as session:
            existing = await self._count(session, connection_id) if body.mode == "append" else 0
        kept, refused = await anyio.to_thread.run_sync(
            check_cases, items, self._dialects[target.kind], target.snapshot, MAX_CASES - existing
        )
        async with self._sessions() as session, session.begin():
            await self._lock(session, connection_id)
            if kept and body.mode == "replace":
                await session.execute(delete(EvaluationCase).where(EvaluationCase.connection_id == connection_id))
            start = await self._next_position(session, connection_id)
            for offset, case in enumerate(kept):
                session.add(
                    EvaluationCase(
                        connection_id=connection_id,
                        position=start + offset,
                        question=case.question,
                        expected_query=case.query,
                    )
                )
            await session.flush()
            total = await self._count(session, connection_id)
        return EvaluationImportOut(added=len(kept), total=total, refused=refused)

    async def clear_set(self, owner_id: uuid.UUID, connection_id: uuid.UUID) -> None:
        await self._connections.get(owner_id, connection_id)
        async with self._sessions() as session, session.begin():
            await session.execute(delete(EvaluationCase).where(EvaluationCase.connection_id == connection_id))

    @staticmethod
    async def _lock(session: AsyncSession, connection_id: uuid.UUID) -> None:
        """Serialises imports and run starts of one connection (its row, locked)."""
        await session.execute(select(Connection.id).where(Connection.id == connection_id).with_for_update())

    @staticmethod
    async def _count(session: AsyncSession, connection_id: uuid.UUID) -> int:
        return int(
            await session.scalar(
                select(func.count()).select_from(EvaluationCase).where(EvaluationCase.connection_id == connection_id)
            )
            or 0
        )

    @staticmethod
    async def _next_position(session: AsyncSession, connection_id: uuid.UUID) -> int:
        last = await session.scalar(
            select(func.max(EvaluationCase.position)).where(EvaluationCase.connection_id == connection_id)
        )
        return 0 if last is None else int(last) + 1

    # ---- runs --------------------------------------------------------------------------------

    async def start(self, actor: Actor, connection_id: uuid.UUID, body: EvaluationRunIn) -> EvaluationRunCreated:
        """Queue a run and start it in this process: 404 for another's connection, 409 while
        one of the connection's runs is going or when it is not indexed, 422 for a model the LLM
        does not list or an empty source."""
        target = await self._connections.ask_target(actor.id, connection_id)
        prefs = await self._user_settings.get(actor.id)
        model = body.model or prefs.model
        listed = [m.name for m in await self._llm.models()]
        if not any(same_model(model, name) for name in listed):
            raise UnprocessableError(f"The LLM server has no model {model!r}; it has: {', '.join(listed) or 'none'}")
        prefs = prefs.model_copy(
            update={
                "model": model,
                "top_k": body.top_k or prefs.top_k,
                "sample_rows": prefs.sample_rows if body.sample_rows is None else body.sample_rows,
                "execute_queries": True,
            }
        )
        cases = await self._cases(connection_id, body.source)
        if not cases:
            what = "evaluation set" if body.source == "set" else "list of verified examples"
            raise UnprocessableError(f"The connection's {what} is empty")
        settings = {"top_k": prefs.top_k, "sample_rows": prefs.sample_rows, "use_examples": body.use_examples}
        async with self._sessions() as session, session.begin():
            await self._lock(session, connection_id)
            active = await session.scalar(
                select(EvaluationRun.id).where(
                    EvaluationRun.connection_id == connection_id, EvaluationRun.status.in_(ACTIVE)
                )
            )
            if active is not None:
                raise ConflictError("An evaluation of this connection is already running; wait for it to finish")
            run = EvaluationRun(
                id=uuid.uuid4(),
                connection_id=connection_id,
                user_id=actor.id,
                source=body.source,
                model=model,
                settings=settings,
                status="pending",
                total=len(cases),
            )
            session.add(run)
        self._runner.submit(RunJob(run.id, actor, target, prefs, body.use_examples, cases))
        return EvaluationRunCreated(id=run.id)

    async def _cases(self, connection_id: uuid.UUID, source: str) -> list[RunCase]:
        async with self._sessions() as session:
            examples = (
                await session.execute(
                    select(
                        VerifiedExample.id,
                        VerifiedExample.question,
                        VerifiedExample.question_norm,
                        VerifiedExample.query,
                    )
                    .where(VerifiedExample.connection_id == connection_id)
                    .order_by(VerifiedExample.created_at, VerifiedExample.id)
                )
            ).all()
            if source == "examples":
                # An example must not answer itself: it is left out of its own question's prompt.
                return [RunCase(e.question, e.query, frozenset({e.id})) for e in examples]
            rows = await _cases(session, connection_id)
        # A verified example of the very same question would hand the model its answer.
        by_norm: dict[str, set[uuid.UUID]] = {}
        for e in examples:
            by_norm.setdefault(e.question_norm, set()).add(e.id)
        return [
            RunCase(r.question, r.expected_query, frozenset(by_norm.get(normalise_question(r.question), ())))
            for r in rows
        ]

    async def list_runs(self, owner_id: uuid.UUID, connection_id: uuid.UUID) -> EvaluationRunsOut:
        await self._connections.get(owner_id, connection_id)
        async with self._sessions() as session:
            runs = (
                await session.scalars(
                    select(EvaluationRun)
                    .where(EvaluationRun.connection_id == connection_id)
                    .order_by(EvaluationRun.created_at.desc(), EvaluationRun.id)
                    .limit(MAX_RUNS_LISTED)
                )
            ).all()
            failed = dict(
                (
                    await session.execute(
                        select(EvaluationResult.run_id, func.count())
                        .where(
                            EvaluationResult.run_id.in_([r.id for r in runs]),
                            EvaluationResult.outcome == "expected_failed",
                        )
                        .group_by(EvaluationResult.run_id)
                    )
                ).all()
            )
        return EvaluationRunsOut(runs=[_run_out(r, r.done - int(failed.get(r.id, 0))) for r in runs])

    async def _owned_run(
        self, session: AsyncSession, owner_id: uuid.UUID, connection_id: uuid.UUID, run_id: uuid.UUID
    ) -> EvaluationRun:
        await self._connections.get(owner_id, connection_id)
        run = await session.get(EvaluationRun, run_id)
        if run is None or run.connection_id != connection_id:
            raise NotFoundError("Evaluation run not found")
        return run

    async def get_run(self, owner_id: uuid.UUID, connection_id: uuid.UUID, run_id: uuid.UUID) -> EvaluationRunDetail:
        async with self._sessions() as session:
            run = await self._owned_run(session, owner_id, connection_id, run_id)
            results = (
                await session.scalars(
                    select(EvaluationResult)
                    .where(EvaluationResult.run_id == run_id)
                    .order_by(EvaluationResult.position)
                )
            ).all()
        outs = [_result_out(r) for r in results]
        scored = sum(1 for r in outs if r.outcome != "expected_failed")
        return EvaluationRunDetail(**_run_out(run, scored).model_dump(), results=outs)

    async def cancel_run(self, owner_id: uuid.UUID, connection_id: uuid.UUID, run_id: uuid.UUID) -> None:
        """Stops a run that is going (``cancelled``, its results so far kept); a finished one stays as it is."""
        async with self._sessions() as session:
            await self._owned_run(session, owner_id, connection_id, run_id)
        await self._runner.cancel(run_id)
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(EvaluationRun)
                .where(EvaluationRun.id == run_id, EvaluationRun.status.in_(ACTIVE))
                .values(status="cancelled", error="Stopped by its owner", finished_at=datetime.now(UTC))
            )

    async def delete_run(self, owner_id: uuid.UUID, connection_id: uuid.UUID, run_id: uuid.UUID) -> None:
        """Stops the run if it is going here, then deletes it with its results."""
        async with self._sessions() as session:
            await self._owned_run(session, owner_id, connection_id, run_id)
        await self._runner.cancel(run_id)
        async with self._sessions() as session, session.begin():
            await session.execute(delete(EvaluationRun).where(EvaluationRun.id == run_id))


def _run_out(run: EvaluationRun, scored: int) -> EvaluationRunOut:
    return EvaluationRunOut(
        id=run.id,
        connection_id=run.connection_id,
        source="examples" if run.source == "examples" else "set",
        model=run.model,
        settings=run.settings or {},
        status=run.status,
        done=run.done,
        total=run.total,
        correct=run.correct,
        scored=scored,
        accuracy=run.accuracy,
        context_recall=run.context_recall,
        median_ms=run.median_ms,
        error=run.error,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


def _result_out(r: EvaluationResult) -> EvaluationResultOut:
    return EvaluationResultOut(
        position=r.position,
        question=r.question,
        expected_query=r.expected_query,
        generated_query=r.generated_query,
        outcome=r.outcome,
        correct=r.correct,
        context_recall=r.context_recall,
        missing_objects=list(r.missing_objects or []),
        timings=EvaluationTimings.model_validate(r.timings or {}),
        diff=EvaluationDiff.model_validate(r.diff or {}),
        error=r.error,
    )


async def _cases(session: AsyncSession, connection_id: uuid.UUID) -> Sequence[EvaluationCase]:
    """A connection's evaluation set, in order."""
    found = await session.scalars(
        select(EvaluationCase).where(EvaluationCase.connection_id == connection_id).order_by(EvaluationCase.position)
    )
    return found.all()
