"""The HTTP shapes of evaluation: a connection's evaluation set, its runs and each question's result."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.schemas.common import SafeStr

EvaluationSource = Literal["set", "examples"]
RunStatus = Literal["pending", "running", "done", "failed", "cancelled"]
# match: the generated query's rows are the expected ones; mismatch: it ran, other rows;
# refused: the guard refused every attempt (or it named what the database lacks); no_query: the
# model wrote none; error: it failed in the database, or the model timed out; expected_failed:
# the expected query itself failed or is too large to compare (not counted in accuracy).
Outcome = Literal["match", "mismatch", "refused", "no_query", "error", "expected_failed"]

# Bounds of an evaluation set (each expected query is checked by the guard at import).
MAX_CASES = 1000
MAX_IMPORT_CHARS = 2_000_000


class EvaluationCaseOut(BaseModel):
    position: int
    question: str
    expected_query: str


class EvaluationSetOut(BaseModel):
    cases: list[EvaluationCaseOut]
    total: int
    language: Literal["sql", "mongo"]
    max_cases: int = MAX_CASES


class EvaluationImportIn(BaseModel):
    """An evaluation set as a file's text: JSONL lines ``{"question", "query"}`` (``expected_query``
    or ``sql`` also name the query; for MongoDB it may be the ``{collection, pipeline}`` object
    itself), or CSV with a ``question,query`` header."""

    format: Literal["jsonl", "csv"]
    content: SafeStr = Field(min_length=1, max_length=MAX_IMPORT_CHARS)
    mode: Literal["replace", "append"] = "replace"


class RefusedLine(BaseModel):
    line: int = Field(description="1-based line of the file (CSV: where the record starts)")
    reason: str


class EvaluationImportOut(BaseModel):
    added: int
    total: int = Field(description="Questions in the set after the import")
    refused: list[RefusedLine] = Field(description="Lines not imported, with why; the others were")


class EvaluationRunIn(BaseModel):
    source: EvaluationSource = "set"
    model: SafeStr | None = Field(default=None, min_length=1, max_length=200, description="Default: your model")
    top_k: int | None = Field(default=None, ge=1, le=50)
    sample_rows: int | None = Field(default=None, ge=0, le=10)
    use_examples: bool = Field(default=True, description="Verified examples go into the prompt, as when asking")


class EvaluationRunCreated(BaseModel):
    id: uuid.UUID


class EvaluationRunOut(BaseModel):
    id: uuid.UUID
    connection_id: uuid.UUID
    source: EvaluationSource
    model: str
    settings: dict[str, Any]
    status: RunStatus
    done: int
    total: int
    correct: int
    scored: int = Field(description="Questions counted in accuracy: done minus expected_failed")
    accuracy: float | None = Field(description="correct / scored, 0..1")
    context_recall: float | None = Field(description="Mean share of the expected query's objects retrieved, 0..1")
    median_ms: float | None = Field(description="Median wall time of a question through the ask flow")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class EvaluationRunsOut(BaseModel):
    runs: list[EvaluationRunOut]


class EvaluationTimings(BaseModel):
    retrieve: float = 0.0
    generate: float = 0.0
    validate_ms: float = Field(default=0.0, description="The guard's time (the ask's 'validate' step)")
    execute: float = 0.0
    total: float = Field(default=0.0, description="Wall time of the question through the ask flow")
    expected: float = Field(default=0.0, description="Time of running the expected query")


class EvaluationDiff(BaseModel):
    """What the screen shows of a comparison: both sides' columns and row counts and a few rows
    only one side has (the generated ones in the expected columns' order when a column
    permutation lines them up)."""

    expected_columns: list[str] = Field(default_factory=list)
    generated_columns: list[str] = Field(default_factory=list)
    expected_row_count: int | None = None
    generated_row_count: int | None = None
    ordered: bool = False
    only_expected: list[list[Any]] = Field(default_factory=list)
    only_generated: list[list[Any]] = Field(default_factory=list)
    column_map: list[int] | None = None
    reason: str | None = None
    note: str | None = Field(default=None, description="How the rows were obtained, when not plainly")


class EvaluationResultOut(BaseModel):
    position: int
    question: str
    expected_query: str
    generated_query: str | None
    outcome: Outcome
    correct: bool
    context_recall: float | None
    missing_objects: list[str] = Field(description="Objects of the expected query the retrieval did not offer")
    timings: EvaluationTimings
    diff: EvaluationDiff
    error: str | None


class EvaluationRunDetail(EvaluationRunOut):
    results: list[EvaluationResultOut]
