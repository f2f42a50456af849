from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.schemas.common import SafeStr
from backend.schemas.schema_snapshot import ObjectInfo

ConnectionKind = Literal["postgres", "mongodb"]
JobStatus = Literal["pending", "running", "succeeded", "failed"]
SyncMode = Literal["full", "check"]
# A scheduled check at most every 5 minutes, at least once a week.
ReindexInterval = Annotated[int, Field(ge=5, le=10080)]


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
    answer_cache: bool = Field(
        default=True, description="Keep answers to first questions in the answer cache (when Redis is configured)"
    )


class ConnectionIn(BaseModel):
    name: SafeStr = Field(min_length=1, max_length=200)
    kind: ConnectionKind
    url: SafeStr = Field(min_length=1, max_length=4096)
    options: ConnectionOptions = Field(default_factory=ConnectionOptions)
    reindex_interval_minutes: ReindexInterval | None = Field(
        default=None, description="Check the catalog every N minutes and re-index when it changed; off when null"
    )


class ConnectionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reindex_interval_minutes: ReindexInterval | None = Field(
        default=None,
        description="Check the catalog for changes every N minutes and re-index when it changed; null turns it off;"
        " left out: unchanged",
    )
    answer_cache: bool | None = Field(
        default=None, description="Serve and keep cached answers for this connection; left out: unchanged"
    )

    @model_validator(mode="after")
    def _names_a_change(self) -> ConnectionUpdate:
        if not self.model_fields_set:
            raise ValueError("Name what to change: reindex_interval_minutes and/or answer_cache")
        if "answer_cache" in self.model_fields_set and self.answer_cache is None:
            raise ValueError("answer_cache is true or false")
        return self


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: SyncMode = Field(
        default="full",
        description="full: introspect and re-index; check: compare the catalog hash first and stop when unchanged",
    )


class Progress(BaseModel):
    done: int
    total: int


class SyncStatus(BaseModel):
    job_id: uuid.UUID
    mode: SyncMode
    status: JobStatus
    progress: Progress
    counts: dict[str, Any]
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int = Field(default=0, description="Runs begun so far; a job lost or met by an outage runs again.")
    waiting_for_worker: bool = Field(
        default=False,
        description="Pending and due for over a minute: every worker is busy, or none runs"
        " (WORKER_ENABLED, python -m backend.worker).",
    )


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
    reindex_interval_minutes: int | None = Field(description="Scheduled change check every N minutes; null is off")
    checked_at: datetime | None = Field(description="When the catalog was last compared with the index")
    last_check: Literal["unchanged", "changed"] | None = Field(
        description="What that comparison found: unchanged, or changed (and the index was rebuilt); null before any"
    )


class SchemaOut(BaseModel):
    connection_id: uuid.UUID
    kind: str
    server_version: str | None
    indexed_at: datetime | None
    objects: list[ObjectInfo]
    note: str | None = Field(default=None, description="The owner's note on the whole connection")


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
