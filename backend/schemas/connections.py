from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.schemas.common import SafeStr
from backend.schemas.schema_snapshot import ObjectInfo

ConnectionKind = Literal["postgres", "mongodb"]
JobStatus = Literal["pending", "running", "succeeded", "failed"]


class ConnectionTestIn(BaseModel):
    kind: ConnectionKind
    url: SafeStr = Field(min_length=1, max_length=4096)


class ConnectionTestOut(BaseModel):
    ok: bool
    server_version: str | None = None
    error: str | None = None


class ConnectionOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mask_pii: bool = Field(default=True, description="Mask personal data in samples before indexing")


class ConnectionIn(BaseModel):
    name: SafeStr = Field(min_length=1, max_length=200)
    kind: ConnectionKind
    url: SafeStr = Field(min_length=1, max_length=4096)
    options: ConnectionOptions = Field(default_factory=ConnectionOptions)


class Progress(BaseModel):
    done: int
    total: int


class SyncStatus(BaseModel):
    job_id: uuid.UUID
    status: JobStatus
    progress: Progress
    counts: dict[str, Any]
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None


class SyncStarted(BaseModel):
    job_id: uuid.UUID


class ConnectionOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    url: str = Field(description="The URL with its password redacted")
    options: dict[str, Any]
    server_version: str | None
    indexed_at: datetime | None
    created_at: datetime
    status: JobStatus | None = Field(description="Status of the newest indexing job")
    object_count: int | None


class SchemaOut(BaseModel):
    connection_id: uuid.UUID
    kind: str
    server_version: str | None
    indexed_at: datetime | None
    objects: list[ObjectInfo]


class SearchIn(BaseModel):
    query: SafeStr = Field(min_length=1, max_length=2000)
    k: int | None = Field(default=None, ge=1)


class SearchResult(BaseModel):
    object: str
    kind: str
    score: float
    text: str
    via: Literal["search", "value", "join"] = Field(
        description="search: matched the query; value: holds a value the query names; join: joins the others"
    )


class SearchOut(BaseModel):
    results: list[SearchResult]
