from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from backend.deps import AskServiceDep, ClientIp, CurrentUser
from backend.schemas.query import QueryIn, QueryOut
from backend.services.audit_service import Actor

router = APIRouter(prefix="/query", tags=["query"])


@router.post("", response_model=QueryOut)
async def ask(body: QueryIn, user: CurrentUser, service: AskServiceDep, client_ip: ClientIp) -> QueryOut:
    return await service.ask(Actor(user.id, user.email, client_ip), body)


@router.post("/stream", response_class=StreamingResponse)
async def ask_stream(
    body: QueryIn, user: CurrentUser, service: AskServiceDep, client_ip: ClientIp
) -> StreamingResponse:
    """Server-Sent Events: ``sources``, ``query``, ``rows``, ``token``..., ``error``, then ``done``."""
    plan = await service.prepare(Actor(user.id, user.email, client_ip), body)

    async def events() -> AsyncIterator[str]:
        async for name, data in service.run(plan):
            yield f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
