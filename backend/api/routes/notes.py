from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from backend.deps import ActorDep, CurrentUser, NoteServiceDep
from backend.schemas.notes import NoteIn, NoteOut

router = APIRouter(prefix="/connections/{connection_id}/notes", tags=["notes"])


@router.get("", response_model=list[NoteOut])
async def list_notes(connection_id: uuid.UUID, user: CurrentUser, service: NoteServiceDep) -> list[NoteOut]:
    return await service.list(user.id, connection_id)


@router.put("", response_model=NoteOut | None)
async def put_note(connection_id: uuid.UUID, body: NoteIn, actor: ActorDep, service: NoteServiceDep) -> NoteOut | None:
    """Set the note on the connection, an object or a column; empty text deletes it (answers null)."""
    return await service.put(actor, connection_id, body)


@router.delete("/{note_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_note(
    connection_id: uuid.UUID, note_id: uuid.UUID, actor: ActorDep, service: NoteServiceDep
) -> Response:
    await service.delete(actor, connection_id, note_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
