"""Verified examples of a connection (a question and the query that answers it, checked and run
before it was kept), their import and export, and the questions suggested on an empty chat."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.schemas.common import SafeStr
from backend.schemas.query import ErrorCode

ExampleSource = Literal["feedback", "manual", "import"]
ExampleFormat = Literal["jsonl", "csv"]


class ExampleIn(BaseModel):
    """A question and its query. ``history_id``: the caller's answer it was saved from (the
    example's source is then ``feedback``; without it, ``manual``)."""

    question: SafeStr = Field(min_length=1, max_length=4000)
    query: SafeStr = Field(min_length=1, max_length=20_000)
    history_id: uuid.UUID | None = None


class ExampleUpdate(BaseModel):
    question: SafeStr = Field(min_length=1, max_length=4000)
    query: SafeStr = Field(min_length=1, max_length=20_000)


class ExampleOut(BaseModel):
    id: uuid.UUID
    question: str
    query: str = Field(description="The query as the guard normalised it")
    language: Literal["sql", "mongo"]
    used_objects: list[str] = Field(description="The objects the query reads, qualified names")
    source: ExampleSource
    history_id: uuid.UUID | None
    verified_by_email: str | None
    verified_at: datetime


class ExampleCheckIn(BaseModel):
    query: SafeStr = Field(min_length=1, max_length=20_000)


class ExampleCheckOut(BaseModel):
    """A query checked by the guard and run read-only, nothing saved: what saving it would keep.
    A refusal is ``error`` and ``error_code`` (HTTP 200, like ``/api/query/run``)."""

    query: str = Field(description="The query as the guard normalised it (or as sent, when refused)")
    language: Literal["sql", "mongo"]
    executed: bool
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    used_objects: list[str]
    error: str | None = None
    error_code: ErrorCode | None = None


class ExampleImportIn(BaseModel):
    """A JSONL file (one ``{"question": ..., "query": ...}`` per line; a Mongo query may be the
    JSON text or the object ``{collection, pipeline}``) or a CSV file with the header
    ``question,query``, read into ``content``."""

    format: ExampleFormat
    content: str


class RefusedLine(BaseModel):
    line: int = Field(description="The line of the file (1 is the first; a CSV's header is line 1)")
    question: str
    reason: str


class ExampleImportOut(BaseModel):
    imported: int
    skipped: int = Field(description="Lines whose question is already a verified example (or repeated)")
    refused: list[RefusedLine]


SuggestionOrigin = Literal["example", "model", "schema"]


class Suggestion(BaseModel):
    question: str
    origin: SuggestionOrigin = Field(
        description="example: a verified example's question; model: written by the LLM from the schema; "
        "schema: made from the schema's tables, keys and value lists"
    )


class SuggestionsOut(BaseModel):
    suggestions: list[Suggestion]
