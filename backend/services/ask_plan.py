"""The state one question carries through the ask flow: where it goes, who asks, and what each
step has found so far."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

from backend.components.index_cache import SearchIndex
from backend.engines.base import QueryDialect, QueryResult
from backend.engines.prompting import WorkedExample
from backend.schemas.query import STEPS, ErrorCode, NoteUsed, Step, UserSettingsOut, VerifiedExampleRef
from backend.schemas.schema_snapshot import SchemaSnapshot
from backend.services.audit_service import Actor

Failure = Literal["no_query", "names", "refused", "database"]


@dataclass(frozen=True)
class AskTarget:
    """What the ask flow needs of a connection: where it is and what the index knows of it."""

    connection_id: uuid.UUID
    kind: str
    url: str
    snapshot: SchemaSnapshot
    index: SearchIndex
    version: str = ""  # indexed_at, catalog hash and notes stamp: part of the answer cache's key
    answer_cache: bool = True  # the connection's switch (``options.answer_cache``)


@dataclass(frozen=True)
class AskOptions:
    """How one question is asked beyond the person's settings; the defaults are Chat's.

    An evaluation asks with ``reuse_verified=False`` (an example must not answer itself),
    ``exclude_examples`` holding the example being asked, ``answer=False`` (no prose over the
    rows) and ``record=False`` (runs are kept by the evaluation, not in the person's history)."""

    use_examples: bool = True  # the most similar verified examples go into the prompt
    reuse_verified: bool = True  # a question matching a verified one reuses its query, no model
    exclude_examples: frozenset[uuid.UUID] = frozenset()
    answer: bool = True
    record: bool = True


@dataclass
class AskPlan:
    actor: Actor
    question: str
    conversation_id: uuid.UUID
    target: AskTarget
    prefs: UserSettingsOut
    dialect: QueryDialect
    options: AskOptions = field(default_factory=AskOptions)
    # The answer cache: only a conversation's first question may be served from it or kept in
    # it (a follow-up's answer depends on the turns before), and ``fresh`` ("Run again") skips it.
    first_question: bool = False
    fresh: bool = False


@dataclass
class AskState:
    """The state of one question as it moves through the steps."""

    timings: dict[Step, float] = field(default_factory=lambda: dict.fromkeys(STEPS, 0.0))
    sql: str | None = None
    final_sql: str | None = None  # the query that passed the guard (and ran, when running is on)
    result: QueryResult | None = None
    error: str | None = None
    code: ErrorCode | None = None
    # Why the last attempt failed, for the answer's wording: no query in the reply, names the
    # database does not have, refused by the read-only guard, or failed in the database.
    failure: Failure | None = None
    answer: str = ""
    # What the owner taught that this question used: the verified example whose query answered
    # (no model), the examples and notes the prompt carried.
    verified_example: VerifiedExampleRef | None = None
    examples_used: list[VerifiedExampleRef] = field(default_factory=list)
    notes_used: list[NoteUsed] = field(default_factory=list)
    prompt_examples: list[WorkedExample] = field(default_factory=list)

    def fail(self, error: str, code: ErrorCode, failure: Failure | None = None) -> None:
        self.error, self.code, self.failure = error, code, failure

    def add(self, step: Step, started: float) -> None:
        self.timings[step] = round(self.timings[step] + (time.perf_counter() - started) * 1000, 1)
