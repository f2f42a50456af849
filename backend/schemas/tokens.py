"""Personal API tokens over HTTP."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from backend.schemas.common import SafeStr

TokenScope = Literal["read", "ask"]


class ApiTokenIn(BaseModel):
    name: SafeStr = Field(min_length=1, max_length=100)
    scope: TokenScope = Field(description="read: connections, schema and search; ask: questions and queries too")
    expires_in_days: int | None = Field(default=None, ge=1, le=3650, description="None: never expires")


class ApiTokenOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart")
    scope: TokenScope
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="The token itself: shown this once, never again")


class ApiTokenList(BaseModel):
    items: list[ApiTokenOut]
