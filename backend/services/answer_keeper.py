"""The answer cache of the ask flow: which answers are kept, under which key, and how one is
served again.

Kept: a conversation's first question (a follow-up depends on the turns before it) asked as
Chat asks (``AskOptions()``), on a connection whose switch is on, when the answer is whole: the
model's query ran with no error and the model's answer came to its end. Answers from a verified
example are not kept: they run the owner's query anew, with no model, every time.

The key holds everything that changes the answer: the connection (a connection has one owner,
so one person's answer is never another's), its index version (``indexed_at``, catalog hash,
notes stamp: ``AskTarget.version``), its verified examples (their count and newest row version,
``ExampleRetriever.stamp``), the model, the person's ``top_k``, ``sample_rows`` and
``execute_queries``, the query language and ``normalise_question`` of the question.

A served answer says so: ``cached_at``, and a sentence after the answer. It is recorded in the
asker's history (it is their question) and audited as ``answer_cache_hit``: no query ran
against their database, so there is no ``query`` event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError

from backend.components.answer_cache import AnswerCache, digest
from backend.components.question_text import normalise_question
from backend.schemas.query import STEPS, QueryOut
from backend.services.ask_plan import AskOptions, AskPlan
from backend.services.audit_service import AuditService
from backend.services.example_retrieval import ExampleRetriever

# Left out of the kept answer: they belong to the asking, not to the answer.
NOT_KEPT = {"history_id", "conversation_id", "timings", "cached_at"}


def cached_sentence(cached_at: datetime) -> str:
    return (
        f"(Cached answer from {cached_at:%Y-%m-%d %H:%M} UTC: no query ran now. "
        "Run it again for the database as it is now.)"
    )


@dataclass(frozen=True)
class Lookup:
    key: str | None  # None: this question is not served from the cache nor kept in it
    answer: QueryOut | None  # the kept answer, marked as cached


class AnswerKeeper:
    def __init__(self, cache: AnswerCache, examples: ExampleRetriever | None, audit: AuditService):
        self._cache = cache
        self._examples = examples
        self._audit = audit

    def usable(self, plan: AskPlan) -> bool:
        """Whether this question may be served from the cache, or kept in it."""
        return (
            self._cache.enabled
            and plan.first_question
            and plan.target.answer_cache
            and plan.options == AskOptions()
            and plan.prefs.execute_queries  # only executed answers are kept
        )

    async def _key(self, plan: AskPlan) -> str:
        examples = await self._examples.stamp(plan.target.connection_id) if self._examples else ""
        prefs = plan.prefs
        parts = {
            "version": plan.target.version,
            "examples": examples,
            "model": prefs.model,
            "top_k": prefs.top_k,
            "sample_rows": prefs.sample_rows,
            "execute_queries": prefs.execute_queries,
            "language": plan.dialect.language,
            "question": normalise_question(plan.question),
        }
        return digest(json.dumps(parts, sort_keys=True))

    async def find(self, plan: AskPlan) -> Lookup:
        """The key of this question (None when the cache is not for it) and the kept answer,
        marked as cached (not yet recorded), or None. The key is made once, before the answer:
        an example added while the model writes must not file this answer under the new stamp."""
        if not self.usable(plan):
            return Lookup(None, None)
        key = await self._key(plan)
        if plan.fresh:
            return Lookup(key, None)
        return Lookup(key, await self._kept(plan, key))

    async def _kept(self, plan: AskPlan, key: str) -> QueryOut | None:
        raw = await self._cache.get_answer(str(plan.target.connection_id), key)
        if raw is None:
            return None
        try:
            kept = json.loads(raw)
            cached_at = datetime.fromisoformat(kept.pop("cached_at"))
            out = QueryOut.model_validate(
                {
                    **kept,
                    "history_id": None,
                    "conversation_id": plan.conversation_id,
                    "timings": dict.fromkeys(STEPS, 0.0),
                }
            )
        except (ValueError, KeyError, TypeError, ValidationError):
            return None  # written by another version: a miss, overwritten by this answer
        out.cached_at = cached_at
        out.answer = f"{out.answer}\n\n{cached_sentence(cached_at)}".strip()
        return out

    async def keep(self, plan: AskPlan, lookup: Lookup, out: QueryOut) -> None:
        """Keep ``out`` under ``lookup.key`` when it is whole: executed, no error, the model's
        own query and answer."""
        if lookup.key is None or not out.executed or out.error is not None or out.error_code is not None:
            return
        if out.verified_example is not None or out.query is None or not out.answer:
            return
        kept = json.loads(out.model_dump_json(exclude=NOT_KEPT))
        kept["cached_at"] = datetime.now(UTC).isoformat()
        value = json.dumps(kept, separators=(",", ":")).encode()
        await self._cache.put_answer(str(plan.target.connection_id), lookup.key, value)

    async def audit_hit(self, plan: AskPlan, out: QueryOut) -> None:
        assert out.cached_at is not None
        await self._audit.record(
            plan.actor,
            "answer_cache_hit",
            target=f"connection:{plan.target.connection_id}",
            details={
                "cached_at": out.cached_at.isoformat(),
                "history_id": str(out.history_id) if out.history_id else None,
                "query_ran": False,  # served from the cache: nothing ran against the database
            },
        )
