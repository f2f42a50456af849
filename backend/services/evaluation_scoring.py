"""One evaluation question's score: run the expected query read-only, compare the ask flow's
result with it (``components/result_compare``), and say which of the expected query's objects
the retrieval offered (context recall).

Row caps: the expected query runs under the evaluation's limits (``EVAL_MAX_ROWS`` rows,
``EVAL_MAX_BYTES``), higher than a question's. The ask flow's own result is capped as a
question's is (``QUERY_MAX_ROWS``); when it came back truncated, the generated query (already
through the guard) runs again under the evaluation's limits, and that result is compared. A
result still truncated after that is not compared on its first rows: an expected one makes the
question ``expected_failed`` (out of the accuracy), a generated one is a mismatch (it has more
rows than the complete expected result).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from backend.components.result_compare import Table, compare, expected_is_ordered
from backend.config import QuerySettings
from backend.engines.base import QueryDialect, QueryExecutionError, QueryLimits, QueryRefusedError, QueryResult
from backend.schemas.evaluations import Outcome
from backend.schemas.query import QueryOut
from backend.services.ask_plan import AskTarget
from backend.services.audit_service import Actor
from backend.services.query_run_service import QueryRunService
from backend.services.query_writer import query_limits

EVAL_MAX_ROWS = 5_000
EVAL_MAX_BYTES = 32_000_000
EVAL_MAX_VALUE_BYTES = 1_000_000


@dataclass
class Expected:
    query: str
    checked: str | None = None
    table: Table | None = None
    ordered: bool = False
    used: list[str] = field(default_factory=list)
    ms: float = 0.0
    failure: str | None = None


@dataclass
class QuestionScore:
    outcome: Outcome
    correct: bool = False
    generated_query: str | None = None
    context_recall: float | None = None
    missing_objects: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    diff: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def evaluation_limits(settings: QuerySettings) -> QueryLimits:
    base = query_limits(settings)
    return dataclasses.replace(
        base,
        max_rows=max(base.max_rows, EVAL_MAX_ROWS),
        max_bytes=max(base.max_bytes, EVAL_MAX_BYTES),
        max_value_bytes=max(base.max_value_bytes, EVAL_MAX_VALUE_BYTES),
    )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def failed_outcome(out: QueryOut) -> Outcome:
    """What a question that ran nothing scores: no query at all, refused by the guard (or
    naming what the database lacks), or an error (the database's, or the model's time)."""
    if out.error_code in ("db_error", "db_timeout"):
        return "error"
    if out.query is None:
        return "no_query" if out.error_code == "no_valid_query" else "error"
    return "refused" if out.error_code in ("no_valid_query", "query_refused", "unknown_names") else "error"


class Scorer:
    def __init__(self, query_run: QueryRunService, dialects: dict[str, QueryDialect], settings: QuerySettings):
        self._query_run = query_run
        self._dialects = dialects
        self._limits = evaluation_limits(settings)

    def dialect(self, target: AskTarget) -> QueryDialect:
        return self._dialects[target.kind]

    async def _run(self, actor: Actor, target: AskTarget, query: str) -> tuple[str, QueryResult]:
        return await self._query_run.run_readonly(actor, target, self.dialect(target), query, self._limits)

    async def expected(self, actor: Actor, target: AskTarget, query: str) -> Expected:
        """The expected query's result, or why there is none."""
        dialect = self.dialect(target)
        started = time.perf_counter()
        expected = Expected(query=query)
        try:
            checked, result = await self._run(actor, target, query)
        except QueryRefusedError as exc:
            expected.failure = f"The expected query is refused: {exc}"
        except QueryExecutionError as exc:
            expected.failure = f"The expected query failed: {exc}"
        else:
            expected.ms = _ms(started)
            if result.truncated:
                expected.failure = f"The expected result is too large to compare: {result.truncation}"
            expected.checked = checked
            expected.table = Table(result.columns, result.rows)
            expected.ordered = expected_is_ordered(dialect.language, checked)
            try:
                expected.used = await anyio.to_thread.run_sync(dialect.used_objects, checked, target.snapshot)
            except QueryRefusedError:
                expected.used = []
        expected.ms = _ms(started)
        return expected

    @staticmethod
    def expected_failed(expected: Expected) -> QuestionScore:
        return QuestionScore(
            outcome="expected_failed", timings={"expected": expected.ms, "total": 0.0}, error=expected.failure
        )

    async def score(
        self, actor: Actor, target: AskTarget, expected: Expected, out: QueryOut, sources: list[str], wall_ms: float
    ) -> QuestionScore:
        t = out.timings
        score = QuestionScore(
            outcome="error",
            generated_query=out.query,
            timings={
                "retrieve": t.retrieve,
                "generate": t.generate,
                "validate_ms": t.validate_,
                "execute": t.execute,
                "total": round(wall_ms, 1),
                "expected": expected.ms,
            },
        )
        if expected.used:
            retrieved = set(sources)
            score.missing_objects = [name for name in expected.used if name not in retrieved]
            score.context_recall = 1 - len(score.missing_objects) / len(expected.used)
        assert expected.table is not None  # expected_failed questions are never scored here
        if not out.executed or out.query is None:
            score.outcome = failed_outcome(out)
            score.error = out.error
            score.diff = {"expected_columns": expected.table.columns, "expected_row_count": len(expected.table.rows)}
            return score
        generated = Table(out.columns, out.rows)
        note: str | None = None
        if out.truncated:
            try:
                _, rerun = await self._run(actor, target, out.query)
            except (QueryRefusedError, QueryExecutionError) as exc:
                score.error = f"The generated query failed when run again for the comparison: {exc}"
                return score
            generated = Table(rerun.columns, rerun.rows)
            note = f"The answer was cut at {out.row_count} rows: the generated query ran again for the comparison"
            if rerun.truncated:
                score.outcome = "mismatch"
                score.error = f"The generated result is larger than the evaluation compares: {rerun.truncation}"
                score.diff = {"note": note, "expected_row_count": len(expected.table.rows)}
                return score
        # Off the event loop: thousands of rows under several candidate column orders take a while.
        comparison = await anyio.to_thread.run_sync(compare, expected.table, generated, expected.ordered)
        score.outcome = "match" if comparison.match else "mismatch"
        score.correct = comparison.match
        score.diff = {**comparison.diff, "reason": comparison.reason, "note": note}
        return score
