"""Notes on a connection, one of its objects or one column: the owner's words for what the
data means ("revenue means sum(amount) in payment, refunds excluded")."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from backend.schemas.common import SafeStr

NOTE_MAX_CHARS = 2000


class NoteIn(BaseModel):
    """Set the note on a target (``object_name`` "" = the connection itself, ``column_name`` "" =
    the whole object); an empty ``text`` deletes it."""

    object_name: SafeStr = Field(default="", max_length=1000, description="schema.table or database.collection")
    column_name: SafeStr = Field(default="", max_length=1000)
    text: SafeStr = Field(max_length=NOTE_MAX_CHARS)


class NoteOut(BaseModel):
    id: uuid.UUID
    object_name: str
    column_name: str
    text: str
    author_email: str | None
    updated_at: datetime
    orphaned: bool = Field(
        default=False, description="Its object or column is no longer in the indexed schema, so it is not used"
    )
