"""Notes: the owner's words on a connection, an object or a column, kept one per target.

A changed note on an object re-chunks and re-embeds that object's chunks in the same
transaction (so search finds the note's words), and the cached snapshot and keyword index of
the connection are dropped (their key carries the notes' stamp as well, see ``index_cache``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.components.schema_notes import NoteTarget, apply_notes
from backend.components.vector_store import VectorStore
from backend.db.models import Connection, ConnectionNote
from backend.errors import ConflictError, NotFoundError, UnprocessableError
from backend.schemas.notes import NoteIn, NoteOut
from backend.schemas.schema_snapshot import SchemaSnapshot
from backend.services.audit_service import Actor, AuditService
from backend.services.connection_service import ConnectionService
from backend.services.indexing_service import IndexingService
from backend.services.note_reader import load_notes


def _out(note: ConnectionNote, snapshot: SchemaSnapshot | None) -> NoteOut:
    return NoteOut(
        id=note.id,
        object_name=note.object_name,
        column_name=note.column_name,
        text=note.text,
        author_email=note.author_email,
        updated_at=note.updated_at,
        orphaned=snapshot is not None and _problem(snapshot, note.object_name, note.column_name) is not None,
    )


def _problem(snapshot: SchemaSnapshot, object_name: str, column_name: str) -> str | None:
    """Why the target is not in the schema, or None."""
    if not object_name:
        return "A note on a column needs its object" if column_name else None
    obj = snapshot.by_name().get(object_name)
    if obj is None:
        return f"The indexed schema has no object {object_name!r}"
    if column_name and column_name not in {c.name for c in obj.columns}:
        return f"{object_name} has no column {column_name!r} in the indexed schema"
    return None


class NoteService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        connections: ConnectionService,
        indexing: IndexingService,
        store: VectorStore,
        audit: AuditService,
    ):
        self._sessions = sessions
        self._connections = connections
        self._indexing = indexing
        self._store = store
        self._audit = audit

    @staticmethod
    async def _owned(
        session: AsyncSession, owner_id: uuid.UUID, connection_id: uuid.UUID, lock: bool = False
    ) -> Connection:
        connection = await session.get(Connection, connection_id, with_for_update=lock)
        # Another owner's connection is reported exactly like a missing one.
        if connection is None or connection.owner_id != owner_id:
            raise NotFoundError("Connection not found")
        return connection

    @staticmethod
    async def _snapshot(session: AsyncSession, connection: Connection) -> SchemaSnapshot | None:
        await session.refresh(connection, ["schema_snapshot"])
        return SchemaSnapshot.model_validate(connection.schema_snapshot) if connection.schema_snapshot else None

    async def list(self, owner_id: uuid.UUID, connection_id: uuid.UUID) -> list[NoteOut]:
        async with self._sessions() as session:
            connection = await self._owned(session, owner_id, connection_id)
            snapshot = await self._snapshot(session, connection)
            rows = await session.scalars(
                select(ConnectionNote)
                .where(ConnectionNote.connection_id == connection_id)
                .order_by(ConnectionNote.object_name, ConnectionNote.column_name)
            )
            return [_out(n, snapshot) for n in rows.all()]

    async def put(self, actor: Actor, connection_id: uuid.UUID, body: NoteIn) -> NoteOut | None:
        """Set (or with empty text, delete) the note on one target; 422 for a target the indexed
        schema does not have, 409 before the first index."""
        text = body.text.strip()
        object_name, column_name = body.object_name.strip(), body.column_name.strip()
        async with self._sessions() as session, session.begin():
            # The row lock serialises note changes of a connection: each re-chunks with all notes.
            connection = await self._owned(session, actor.id, connection_id, lock=True)
            snapshot = await self._snapshot(session, connection)
            if snapshot is None:
                raise ConflictError("This connection has not been indexed yet; wait for its sync to succeed")
            problem = _problem(snapshot, object_name, column_name)
            if problem:
                raise UnprocessableError(problem)
            note = await session.scalar(
                select(ConnectionNote).where(
                    ConnectionNote.connection_id == connection_id,
                    ConnectionNote.object_name == object_name,
                    ConnectionNote.column_name == column_name,
                )
            )
            if not text:
                if note is None:
                    return None
                await session.delete(note)
                note = None
            elif note is None:
                note = ConnectionNote(
                    id=uuid.uuid4(),
                    connection_id=connection_id,
                    object_name=object_name,
                    column_name=column_name,
                    text=text,
                    author_id=actor.id,
                    author_email=actor.email,
                )
                session.add(note)
            else:
                note.text, note.author_id, note.author_email = text, actor.id, actor.email
                note.updated_at = datetime.now(UTC)
            await session.flush()
            if object_name:
                await self._rechunk(session, connection, snapshot, object_name)
            out = _out(note, snapshot) if note is not None else None
        self._connections.forget_cached(connection_id)
        await self._audit.record(
            actor,
            "note_update" if text else "note_delete",
            target=f"connection:{connection_id}",
            details={"object": object_name, "column": column_name, "chars": len(text)},
        )
        return out

    async def delete(self, actor: Actor, connection_id: uuid.UUID, note_id: uuid.UUID) -> None:
        async with self._sessions() as session, session.begin():
            connection = await self._owned(session, actor.id, connection_id, lock=True)
            note = await session.get(ConnectionNote, note_id)
            if note is None or note.connection_id != connection_id:
                raise NotFoundError("Note not found")
            target = NoteTarget(note.object_name, note.column_name, "")
            await session.delete(note)
            await session.flush()
            snapshot = await self._snapshot(session, connection)
            if snapshot is not None and target.object_name in snapshot.by_name():
                await self._rechunk(session, connection, snapshot, target.object_name)
        self._connections.forget_cached(connection_id)
        await self._audit.record(
            actor,
            "note_delete",
            target=f"connection:{connection_id}",
            details={"object": target.object_name, "column": target.column_name, "chars": 0},
        )

    async def _rechunk(
        self, session: AsyncSession, connection: Connection, snapshot: SchemaSnapshot, object_name: str
    ) -> None:
        """Swap the object's chunks for ones with its notes as they are now, in the session's
        transaction (an embedding failure rolls the note back too: 503)."""
        notes = [n for n in await load_notes(session, connection.id) if n.object_name == object_name]
        with_notes = apply_notes(snapshot.model_copy(update={"objects": [snapshot.by_name()[object_name]]}), notes)
        chunks = await self._indexing.object_chunks(connection.id, connection.kind, with_notes.objects[0])
        await self._store.replace_object(await session.connection(), connection.id, object_name, chunks)
