from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from backend.deps import CurrentUser, HistoryServiceDep
from backend.schemas.query import HistoryOut

router = APIRouter(prefix="/history", tags=["history"])


@router.get("", response_model=HistoryOut)
async def list_history(
    user: CurrentUser,
    service: HistoryServiceDep,
    connection_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    rows: Annotated[bool, Query(description="false: leave each entry's preview rows out")] = True,
) -> HistoryOut:
    return await service.list(user.id, connection_id, conversation_id, limit, offset, with_rows=rows)


@router.delete("/{history_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_history(history_id: uuid.UUID, user: CurrentUser, service: HistoryServiceDep) -> Response:
    await service.delete(user.id, history_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
