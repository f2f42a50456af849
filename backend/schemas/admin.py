from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class AdminUserOut(BaseModel):
    id: uuid.UUID
    email: str
    role: str
    disabled: bool
    created_at: datetime


class AdminUserPatch(BaseModel):
    role: Literal["admin", "user"] | None = None
    disabled: bool | None = None


class AdminSettings(BaseModel):
    allow_signup: bool


class AdminConnectionOut(BaseModel):
    """Everything about a connection but its URL."""

    id: uuid.UUID
    name: str
    kind: str
    owner_id: uuid.UUID
    owner_email: str
    status: str | None
    indexed_at: datetime | None
    object_count: int | None
    feedback_up: int = Field(default=0, description="Answers on this connection rated thumbs up")
    feedback_down: int = Field(default=0, description="Answers on this connection rated thumbs down")


# Every action the audit trail records; the admin screen's filter offers exactly these.
AuditAction = Literal[
    "signup",
    "login",
    "logout",
    "password_change",
    "user_update",
    "settings_update",
    "connection_create",
    "connection_update",
    "connection_delete",
    "connection_sync",
    "query",
    "query_refused",
    "answer_cache_hit",
    "feedback",
    "api_token_create",
    "api_token_revoke",
    "api_token_use",
    "example_create",
    "example_update",
    "example_delete",
    "example_import",
    "note_update",
    "note_delete",
]


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor_id: uuid.UUID | None
    actor_email: str | None
    action: AuditAction
    target: str | None
    target_name: str | None = Field(
        default=None, description="What the target is called: a connection's name (also once deleted)"
    )
    client_ip: str | None
    success: bool
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    total: int
    limit: int = Field(ge=1)
    offset: int = Field(ge=0)
