from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.schemas.common import SafeStr


class QueryIn(BaseModel):
    connection_id: uuid.UUID
    question: SafeStr = Field(min_length=1, max_length=4000)
    conversation_id: uuid.UUID | None = None


class Source(BaseModel):
    object: str
    kind: str
    score: float
    via: Literal["search", "join"]


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
    timings: dict[str, float] = Field(
        description="Milliseconds per step: retrieve, generate, validate, execute, answer"
    )
    model: str
    history_id: uuid.UUID | None
    conversation_id: uuid.UUID
    executed: bool = Field(description="Whether the query ran against the database")
    error: str | None = Field(description="Why no (complete) answer could be given, in a sentence")


class HistoryItem(BaseModel):
    id: uuid.UUID
    connection_id: uuid.UUID | None
    conversation_id: uuid.UUID
    question: str
    answer: str | None
    query: str | None
    language: str | None
    row_count: int | None
    sources: list[Any]
    timings: dict[str, Any]
    model: str | None
    error: str | None
    created_at: datetime


class HistoryOut(BaseModel):
    items: list[HistoryItem]
    total: int


class UserSettingsOut(BaseModel):
    model: str
    top_k: int
    sample_rows: int
    execute_queries: bool


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
