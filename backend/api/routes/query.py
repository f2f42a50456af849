from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from backend.deps import ActorDep, AskServiceDep
from backend.schemas.query import QueryIn, QueryOut

router = APIRouter(prefix="/query", tags=["query"])


@router.post("", response_model=QueryOut)
async def ask(body: QueryIn, actor: ActorDep, service: AskServiceDep) -> QueryOut:
    return await service.ask(actor, body)


@router.post("/stream", response_class=StreamingResponse)
async def ask_stream(body: QueryIn, actor: ActorDep, service: AskServiceDep) -> StreamingResponse:
    """Server-Sent Events: ``sources``, ``query``, ``rows``, ``token``..., ``error``, then ``done``."""
    plan = await service.prepare(actor, body)

    async def events() -> AsyncIterator[str]:
        async for name, data in service.run(plan):
            yield f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
