"""Runs evaluations as background tasks of this process, like indexing jobs: the run's row holds
its status, progress (done of total) and a heartbeat; a sweeper fails runs whose heartbeat
stopped (their process died), and shutting down fails the runs still going.

Each question goes through the real ask flow (``AskService.run``: retrieve, generate, guard,
execute, repair) with the run's model and settings, never reusing a verified example's query
and never recording history; the expected query runs read-only through
``QueryRunService.run_readonly`` (same guard, runner and audit). ``evaluation_scoring`` turns
the two results into a question's outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import EvaluationResult, EvaluationRun
from backend.schemas.ask_events import DoneEvent, SourcesEvent
from backend.schemas.query import QueryOut, UserSettingsOut
from backend.services.ask_plan import AskOptions, AskPlan, AskTarget
from backend.services.ask_service import AskService
from backend.services.audit_service import Actor
from backend.services.background_tasks import BackgroundTasks
from backend.services.evaluation_scoring import QuestionScore, Scorer

logger = logging.getLogger(__name__)

ACTIVE = ("pending", "running")


class RunAborted(Exception):
    """The run cannot go on (the model went away): it ends ``failed`` with this message."""


@dataclass(frozen=True)
class RunCase:
    question: str
    query: str
    exclude: frozenset[uuid.UUID] = frozenset()  # verified examples the prompt must not show


@dataclass
class RunJob:
    run_id: uuid.UUID
    actor: Actor
    target: AskTarget
    prefs: UserSettingsOut
    use_examples: bool
    cases: list[RunCase]
    scores: list[QuestionScore] = field(default_factory=list)


@dataclass
class Totals:
    done: int
    correct: int
    scored: int
    accuracy: float | None
    context_recall: float | None
    median_ms: float | None


def totals(scores: list[QuestionScore]) -> Totals:
    """A run's scores: accuracy over the questions whose expected query ran (expected_failed
    ones are out of the denominator), mean context recall, median wall time of an ask."""
    scored = [s for s in scores if s.outcome != "expected_failed"]
    correct = sum(1 for s in scored if s.correct)
    recalls = [s.context_recall for s in scored if s.context_recall is not None]
    walls = [s.timings["total"] for s in scored if "total" in s.timings]
    return Totals(
        done=len(scores),
        correct=correct,
        scored=len(scored),
        accuracy=correct / len(scored) if scored else None,
        context_recall=sum(recalls) / len(recalls) if recalls else None,
        median_ms=round(statistics.median(walls), 1) if walls else None,
    )


class EvaluationRunner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ask: AskService,
        scorer: Scorer,
        stale_after_s: float,
        sweep_interval_s: float,
    ):
        self._sessions = sessions
        self._ask = ask
        self._scorer = scorer
        self._stale_after_s = stale_after_s
        self._sweep_interval_s = sweep_interval_s
        self._background = BackgroundTasks("evaluation")

    async def start(self) -> None:
        swept = await self.fail_stale_runs()
        if swept:
            logger.warning("marked %d interrupted evaluation run(s) as failed", swept)
        self._background.start_sweeper(self.fail_stale_runs, self._sweep_interval_s)

    async def stop(self) -> None:
        running = await self._background.stop()
        await self._fail(running, "Interrupted: the backend shut down during the evaluation")

    def submit(self, job: RunJob) -> None:
        self._background.submit(job.run_id, lambda: self._run(job))

    async def cancel(self, run_id: uuid.UUID) -> None:
        """Stop the run if this process runs it; its row is the caller's to change."""
        await self._background.cancel(run_id)

    async def fail_stale_runs(self) -> int:
        """Fail runs whose runner stopped beating; returns how many."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self._stale_after_s)
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(EvaluationRun)
                .where(
                    EvaluationRun.status.in_(ACTIVE),
                    text("coalesce(heartbeat_at, created_at) < :cutoff").bindparams(cutoff=cutoff),
                )
                .values(
                    status="failed",
                    error="Interrupted: the backend stopped during the evaluation; start a new run",
                    finished_at=datetime.now(UTC),
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def _fail(self, run_ids: list[uuid.UUID], reason: str) -> None:
        if not run_ids:
            return
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(EvaluationRun)
                .where(EvaluationRun.id.in_(run_ids), EvaluationRun.status.in_(ACTIVE))
                .values(status="failed", error=reason, finished_at=datetime.now(UTC))
            )

    async def _set(self, run_id: uuid.UUID, **values: Any) -> bool:
        """Update the run's row; False when it is gone (deleted meanwhile)."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(update(EvaluationRun).where(EvaluationRun.id == run_id).values(**values))
            return bool(getattr(result, "rowcount", 0))

    async def _beat(self, run_id: uuid.UUID) -> None:
        interval = max(0.5, self._stale_after_s / 4)
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                await self._set(run_id, heartbeat_at=datetime.now(UTC))

    async def _run(self, job: RunJob) -> None:
        now = datetime.now(UTC)
        if not await self._set(job.run_id, status="running", started_at=now, heartbeat_at=now):
            return
        beat = asyncio.create_task(self._beat(job.run_id), name=f"evaluation-beat-{job.run_id}")
        try:
            for position, case in enumerate(job.cases):
                try:
                    score = await self._question(job, case)
                except (RunAborted, asyncio.CancelledError):
                    raise
                except Exception as exc:  # one question's crash is its own error, not the run's end
                    logger.exception("evaluation run %s: question %d crashed", job.run_id, position)
                    score = QuestionScore(outcome="error", error=f"Internal error: {type(exc).__name__}")
                job.scores.append(score)
                if not await self._store(job, position, case, score):
                    return  # the run was deleted, cancelled or swept meanwhile
            await self._finish(job, "done", None)
        except RunAborted as exc:
            await self._finish(job, "failed", str(exc))
        except asyncio.CancelledError:
            raise  # shutdown or delete: stop() or delete() says what became of the row
        except Exception as exc:  # a run must end in a state, whatever broke
            logger.exception("evaluation run %s crashed", job.run_id)
            await self._finish(job, "failed", f"Internal error: {type(exc).__name__}")
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _question(self, job: RunJob, case: RunCase) -> QuestionScore:
        expected = await self._scorer.expected(job.actor, job.target, case.query)
        if expected.failure is not None:
            return self._scorer.expected_failed(expected)
        plan = AskPlan(
            job.actor,
            case.question,
            uuid.uuid4(),
            job.target,
            job.prefs,
            self._scorer.dialect(job.target),
            AskOptions(
                use_examples=job.use_examples,
                reuse_verified=False,
                exclude_examples=case.exclude,
                answer=False,
                record=False,
            ),
        )
        sources: list[str] = []
        out: QueryOut | None = None
        started = time.perf_counter()
        async for event in self._ask.run(plan):
            if isinstance(event, SourcesEvent):
                sources = [s.object for s in event.sources]
            elif isinstance(event, DoneEvent):
                out = event.result
        wall_ms = (time.perf_counter() - started) * 1000
        if out is None:
            raise RuntimeError("the ask flow ended without a result")
        if out.error_code in ("llm_unavailable", "model_missing"):
            raise RunAborted(out.error or "The model could not be asked")
        return await self._scorer.score(job.actor, job.target, expected, out, sources, wall_ms)

    async def _store(self, job: RunJob, position: int, case: RunCase, score: QuestionScore) -> bool:
        t = totals(job.scores)
        async with self._sessions() as session, session.begin():
            updated = await session.execute(
                update(EvaluationRun)
                # A run no longer active (cancelled, or swept by another replica) takes no more results.
                .where(EvaluationRun.id == job.run_id, EvaluationRun.status == "running")
                .values(
                    done=t.done,
                    correct=t.correct,
                    accuracy=t.accuracy,
                    context_recall=t.context_recall,
                    median_ms=t.median_ms,
                    heartbeat_at=datetime.now(UTC),
                )
            )
            if not getattr(updated, "rowcount", 0):
                return False
            session.add(
                EvaluationResult(
                    run_id=job.run_id,
                    position=position,
                    question=case.question,
                    expected_query=case.query,
                    generated_query=score.generated_query,
                    outcome=score.outcome,
                    correct=score.correct,
                    context_recall=score.context_recall,
                    missing_objects=score.missing_objects,
                    timings=score.timings,
                    diff=score.diff,
                    error=score.error,
                )
            )
        return True

    async def _finish(self, job: RunJob, status: str, error: str | None) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(EvaluationRun)
                .where(EvaluationRun.id == job.run_id, EvaluationRun.status == "running")
                .values(status=status, error=error, finished_at=datetime.now(UTC))
            )
