from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.schemas.common import SafeStr


class QueryIn(BaseModel):
    connection_id: uuid.UUID
    question: SafeStr = Field(min_length=1, max_length=4000)
    conversation_id: uuid.UUID | None = None
    fresh: bool = Field(
        default=False, description="Ask anew even when the answer cache (Redis) holds an answer: 'Run again'"
    )


# How a history entry's query came to be: written by the model for a question, edited by the
# person from an earlier answer ("Edit and run"), or typed by the person ("Write a query").
Origin = Literal["asked", "edited", "typed"]


class QueryRunIn(BaseModel):
    """A query a person wrote, to run without the model: through the same guard, read-only
    runner and limits as a question's. ``edited_from``: the caller's history entry it was edited
    from (recorded as ``edited``; without it, ``typed``)."""

    connection_id: uuid.UUID
    query: SafeStr = Field(min_length=1, max_length=20_000)
    conversation_id: uuid.UUID | None = None
    edited_from: uuid.UUID | None = None


class Source(BaseModel):
    """An object the question was answered with. ``via`` says how it was found: ``search``,
    ``value`` (a stored value matched), ``join`` (bridges two hits), ``example`` (a verified
    example the prompt carried reads it, or the verified query that answered reads it), or
    ``query`` (the query reads it though retrieval did not offer it). ``used``: the query that
    ran reads it."""

    object: str
    kind: str
    score: float
    via: Literal["search", "value", "join", "example", "query"]
    used: bool = False


class VerifiedExampleRef(BaseModel):
    """A verified example an answer used: reused as the answer's query, or shown to the model."""

    id: uuid.UUID
    question: str
    verified_by_email: str | None
    verified_at: datetime
    similarity: float | None = Field(default=None, description="How like the question it is (0..1); null: the same")


class NoteUsed(BaseModel):
    """A note the prompt carried: on the connection (``object`` ""), an object (``column`` "") or a column."""

    object: str
    column: str = ""
    text: str


# The steps of a question, in order; ``QueryOut.timings`` has one entry per step.
Step = Literal["retrieve", "generate", "validate", "execute", "answer"]
STEPS: tuple[Step, ...] = ("retrieve", "generate", "validate", "execute", "answer")

# Why a question got no (complete) answer, for programs: the sentence is in ``error``.
ErrorCode = Literal[
    "llm_unavailable",  # the LLM server cannot be reached or answered with an error
    "model_missing",  # the LLM server does not have the chosen model
    "llm_timeout",  # the LLM server did not answer in time
    "no_valid_query",  # no query the guard accepts came out of the model
    "db_error",  # the database refused or failed the query
    "db_timeout",  # the query ran past its time limit
    "query_refused",  # a person's query was refused by the read-only guard (POST /api/query/run)
    "unknown_names",  # a person's query names tables, columns or fields the index does not know
]


class Timings(BaseModel):
    """Milliseconds spent in each step of a question (``Step``), in the order they run."""

    # "validate" is a name BaseModel already uses: the field is validate_, written "validate".
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    retrieve: float = 0.0
    generate: float = 0.0
    validate_: float = Field(default=0.0, alias="validate")
    execute: float = 0.0
    answer: float = 0.0


class QueryOut(BaseModel):
    answer: str
    query: str | None = Field(description="The query that ran (or was refused), as the guard normalised it")
    language: Literal["sql", "mongo"]
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    truncation: str | None = Field(default=None, description="Why the result is not whole, in a sentence")
    sources: list[Source]
    timings: Timings
    model: str
    history_id: uuid.UUID | None
    conversation_id: uuid.UUID
    executed: bool = Field(description="Whether the query ran against the database")
    error: str | None = Field(description="Why no (complete) answer could be given, in a sentence")
    error_code: ErrorCode | None = Field(default=None, description="The same, for programs")
    origin: Origin = Field(default="asked", description="Asked (the model wrote it), edited or typed by the person")
    verified_example: VerifiedExampleRef | None = Field(
        default=None, description="The verified example whose query answered, without the model; null: none"
    )
    examples_used: list[VerifiedExampleRef] = Field(
        default_factory=list, description="The verified examples the prompt carried as worked examples"
    )
    notes_used: list[NoteUsed] = Field(default_factory=list, description="The owner's notes the prompt carried")
    cached_at: datetime | None = Field(
        default=None,
        description="When the answer cache kept this answer (no model and no query ran now); null: answered now",
    )


ChartKind = Literal["bar", "line", "pie"]


class ChartChoice(BaseModel):
    """The chart a person chose for an answer: its kind, the column along the axis (or naming
    the slices) and the numeric column plotted. Both columns must be the answer's."""

    kind: ChartKind
    x: str = Field(min_length=1, max_length=500)
    y: str = Field(min_length=1, max_length=500)


Rating = Literal["up", "down"]


class FeedbackIn(BaseModel):
    """A thumbs up or down on one answer, with an optional comment."""

    rating: Rating
    comment: SafeStr | None = Field(default=None, max_length=2000)


class FeedbackOut(BaseModel):
    rating: Rating
    comment: str | None
    at: datetime


class HistoryItem(BaseModel):
    """One asked question with the evidence it was answered with. ``rows`` are the first rows of
    the result as first shown (``QUERY_HISTORY_PREVIEW_ROWS``/``_BYTES``); ``row_count`` is the
    whole result's, so ``len(rows) < row_count`` says the history kept a preview."""

    id: uuid.UUID
    connection_id: uuid.UUID | None
    conversation_id: uuid.UUID
    question: str
    answer: str | None
    query: str | None
    language: str | None
    columns: list[str]
    rows: list[list[Any]]
    row_count: int | None
    truncated: bool
    truncation: str | None
    executed: bool
    sources: list[Source]
    timings: Timings
    model: str | None
    error: str | None
    error_code: ErrorCode | None
    origin: Origin = "asked"
    chart: ChartChoice | None = Field(default=None, description="The chart chosen for it; null: the automatic one")
    feedback_rating: Rating | None = Field(default=None, description="The owner's thumbs up or down; null: none")
    feedback_comment: str | None = None
    feedback_at: datetime | None = None
    verified_example: VerifiedExampleRef | None = None
    examples_used: list[VerifiedExampleRef] = Field(default_factory=list)
    notes_used: list[NoteUsed] = Field(default_factory=list)
    created_at: datetime


class HistoryOut(BaseModel):
    items: list[HistoryItem]
    total: int


class UserSettingsOut(BaseModel):
    model: str
    top_k: int
    sample_rows: int
    execute_queries: bool
    export_max_rows: int = Field(
        default=1_000_000, description="Rows of a full CSV export, at most (set by the server)"
    )


class UserSettingsIn(BaseModel):
    model: SafeStr | None = Field(default=None, min_length=1, max_length=200)
    top_k: int | None = Field(default=None, ge=1, le=50)
    sample_rows: int | None = Field(default=None, ge=0, le=10)
    execute_queries: bool | None = None


class ModelOut(BaseModel):
    name: str
    size: int | None
    family: str | None
    parameter_size: str | None


class ModelsOut(BaseModel):
    default: str
    models: list[ModelOut]
