"""The events of ``POST /api/query/stream``: one discriminated union, in the OpenAPI schema.

Each Server-Sent Event carries one of these models as its ``data`` (its ``event`` field is
also the SSE event name). The frontend's types are generated from this module's schema, so
the producer and the consumer cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel

from backend.schemas.query import ErrorCode, QueryOut, Source, Step


class StepEvent(BaseModel):
    """A step starts (``generate``, ``validate`` and ``execute`` again on each repair round);
    the client shows it with the time since the question was sent."""

    event: Literal["step"] = "step"
    step: Step


class SourcesEvent(BaseModel):
    event: Literal["sources"] = "sources"
    sources: list[Source]


class QueryEvent(BaseModel):
    event: Literal["query"] = "query"
    query: str
    language: Literal["sql", "mongo"]
    valid: bool = Field(description="Whether the guard accepted it")


class RowsEvent(BaseModel):
    event: Literal["rows"] = "rows"
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    truncation: str | None


class TokenEvent(BaseModel):
    event: Literal["token"] = "token"
    text: str


class ErrorEvent(BaseModel):
    event: Literal["error"] = "error"
    detail: str = Field(description="What went wrong, in a sentence for the user")
    code: ErrorCode


class DoneEvent(BaseModel):
    event: Literal["done"] = "done"
    result: QueryOut


AskEvent = Annotated[
    StepEvent | SourcesEvent | QueryEvent | RowsEvent | TokenEvent | ErrorEvent | DoneEvent,
    Field(discriminator="event"),
]


class AskEventOut(RootModel[AskEvent]):
    """One event of the stream (for the OpenAPI schema of ``/api/query/stream``)."""
