from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status
from fastapi.responses import StreamingResponse

from backend.deps import ActorDep, CurrentUser, ExportServiceDep, FeedbackServiceDep, HistoryServiceDep
from backend.schemas.query import ChartChoice, FeedbackIn, FeedbackOut, HistoryOut

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


@router.get(
    "/{history_id}/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The whole result as CSV"}},
)
async def export_csv(history_id: uuid.UUID, actor: ActorDep, service: ExportServiceDep) -> StreamingResponse:
    """The complete result of this answer's query, run again read-only, as CSV (caps:
    ``EXPORT_MAX_ROWS``, ``EXPORT_MAX_BYTES``; a last line starting with ``#`` says a cap or
    an error stopped it)."""
    plan = await service.prepare(actor, history_id)
    return StreamingResponse(
        service.stream(plan),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{plan.filename}"', "Cache-Control": "no-store"},
    )


@router.patch("/{history_id}/chart", response_model=ChartChoice | None)
async def set_chart(
    history_id: uuid.UUID,
    user: CurrentUser,
    service: HistoryServiceDep,
    choice: Annotated[ChartChoice | None, Body(description="The chart to show; null: the automatic one")] = None,
) -> ChartChoice | None:
    """Keeps the chart chosen for one of the caller's answers, shown again when it is reopened
    (404 for anyone else's; 422 when a column is not the answer's or the value is not numeric)."""
    return await service.set_chart(user.id, history_id, choice)


@router.put("/{history_id}/feedback", response_model=FeedbackOut)
async def set_feedback(
    history_id: uuid.UUID, body: FeedbackIn, actor: ActorDep, service: FeedbackServiceDep
) -> FeedbackOut:
    """Rates one of the caller's answers thumbs up or down, with an optional comment (replacing
    an earlier rating; 404 for anyone else's). Audited; admins see only the counts."""
    return await service.set(actor, history_id, body)


@router.delete("/{history_id}/feedback", status_code=status.HTTP_204_NO_CONTENT)
async def clear_feedback(history_id: uuid.UUID, actor: ActorDep, service: FeedbackServiceDep) -> Response:
    """Takes the caller's rating (and comment) off one of their answers; 404 for anyone else's."""
    await service.clear(actor, history_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/{history_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_history(history_id: uuid.UUID, user: CurrentUser, service: HistoryServiceDep) -> Response:
    await service.delete(user.id, history_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
