"""Answering from a verified example: a question whose normal form (``normalise_question``) is
a verified example's reuses its query, with no model at all.

The query is not trusted for having been verified once: it goes through the engine's guard
again against the current snapshot (the schema may have changed since) and runs in the same
read-only runner under the same limits as any question's query. When the guard refuses it now,
or the database fails it, the question goes to the model as usual.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import anyio
import anyio.to_thread

from backend.components.question_text import normalise_question
from backend.config import QuerySettings
from backend.engines.base import QueryExecutionError, QueryRefusedError, QueryResult
from backend.schemas.query import Source, VerifiedExampleRef
from backend.services.ask_plan import AskPlan, AskState
from backend.services.audit_service import AuditService
from backend.services.example_retrieval import ExampleRetriever, FoundExample
from backend.services.query_writer import query_limits


@dataclass(frozen=True)
class CheckedExample:
    example: FoundExample
    query: str  # as the guard normalised it against the current snapshot
    used: list[str]  # the objects it reads

    @property
    def ref(self) -> VerifiedExampleRef:
        e = self.example
        return VerifiedExampleRef(
            id=e.id, question=e.question, verified_by_email=e.verified_by_email, verified_at=e.verified_at
        )


def example_ref(example: FoundExample) -> VerifiedExampleRef:
    return VerifiedExampleRef(
        id=example.id,
        question=example.question,
        verified_by_email=example.verified_by_email,
        verified_at=example.verified_at,
        similarity=example.similarity,
    )


def verified_sentence(checked: CheckedExample, result: QueryResult | None) -> str:
    """The answer without a model: where it came from, and what came back."""
    # Imported here: query_run_service imports ask_service, which imports this module.
    from backend.services.query_run_service import rows_sentence

    e = checked.example
    who = f" by {e.verified_by_email}" if e.verified_by_email else ""
    origin = f'Answered from a verified example ("{e.question}", verified{who} on {e.verified_at:%Y-%m-%d}).'
    if result is None:
        return f"{origin} Its query was checked but not run, because running queries is turned off in your settings."
    return f"{origin} {rows_sentence(result)}"


class VerifiedAnswerer:
    def __init__(self, examples: ExampleRetriever, settings: QuerySettings, audit: AuditService):
        self._examples = examples
        self._settings = settings
        self._audit = audit

    async def find(self, plan: AskPlan) -> CheckedExample | None:
        """The verified example asking the same question, when its query still passes the guard."""
        if not plan.options.reuse_verified:
            return None
        found = await self._examples.exact(
            plan.target.connection_id, normalise_question(plan.question), plan.options.exclude_examples
        )
        if found is None or found.language != plan.dialect.language:
            return None
        snapshot = plan.target.snapshot
        try:
            checked, problems = await anyio.to_thread.run_sync(plan.dialect.check, found.query, snapshot)
            used = plan.dialect.used_objects(checked, snapshot)
        except QueryRefusedError:
            return None
        return None if problems else CheckedExample(found, checked, used)

    def sources(self, plan: AskPlan, checked: CheckedExample) -> list[Source]:
        by_name = plan.target.snapshot.by_name()
        return [
            Source(object=name, kind=by_name[name].kind, score=1.0, via="example", used=True)
            for name in checked.used
            if name in by_name
        ]

    async def run(self, plan: AskPlan, checked: CheckedExample, state: AskState) -> bool:
        """Run the verified query read-only; False (audited, nothing kept) when the database fails it."""
        started = time.perf_counter()
        error: str | None = None
        result: QueryResult | None = None
        try:
            result = await plan.dialect.run(
                plan.target.url, checked.query, plan.target.snapshot, query_limits(self._settings)
            )
        except (QueryExecutionError, QueryRefusedError) as exc:
            error = f"The database said: {exc}"
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._audit_run(plan, checked, None, "cancelled before it finished", started)
            raise
        state.add("execute", started)
        await self._audit_run(plan, checked, result, error, started)
        if result is None:
            return False
        state.result = result
        return True

    async def _audit_run(
        self, plan: AskPlan, checked: CheckedExample, result: QueryResult | None, error: str | None, started: float
    ) -> None:
        await self._audit.record_query(
            plan.actor,
            plan.target.connection_id,
            plan.dialect.language,
            checked.query,
            row_count=result.row_count if result is not None else None,
            duration_ms=(time.perf_counter() - started) * 1000,
            error=error,
        )
