"""Reading a connection's notes, shared by the services that lay them onto a snapshot
(connections, indexing, notes) without importing one another."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.components.schema_notes import NoteTarget
from backend.db.models import ConnectionNote


async def load_notes(session: AsyncSession | AsyncConnection, connection_id: uuid.UUID) -> list[NoteTarget]:
    """Every note of a connection (one short query: there is at most one per target), in the
    session's or the connection's transaction."""
    rows = await session.execute(
        select(ConnectionNote.object_name, ConnectionNote.column_name, ConnectionNote.text).where(
            ConnectionNote.connection_id == connection_id
        )
    )
    return [NoteTarget(o, c, t) for o, c, t in rows]
