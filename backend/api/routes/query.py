from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from backend.deps import ActorDep, AskServiceDep, QueryRunServiceDep
from backend.schemas.ask_events import AskEventOut
from backend.schemas.query import QueryIn, QueryOut, QueryRunIn

router = APIRouter(prefix="/query", tags=["query"])


@router.post("", response_model=QueryOut)
async def ask(body: QueryIn, actor: ActorDep, service: AskServiceDep) -> QueryOut:
    return await service.ask(actor, body)


@router.post(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"model": AskEventOut, "description": "Server-Sent Events; each `data` is one AskEvent"}},
)
async def ask_stream(body: QueryIn, actor: ActorDep, service: AskServiceDep) -> StreamingResponse:
    """Server-Sent Events: ``sources``, ``query``, ``rows``, ``token``..., ``error``, then ``done``.

    Each event's ``data`` is the JSON of one ``AskEvent`` model, its ``event`` field the SSE name.
    """
    plan = await service.prepare(actor, body)

    async def events() -> AsyncIterator[str]:
        async for event in service.run(plan):
            yield f"event: {event.event}\ndata: {event.model_dump_json()}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/run", response_model=QueryOut)
async def run_query(body: QueryRunIn, actor: ActorDep, service: QueryRunServiceDep) -> QueryOut:
    """Run a person's query without the model ("Edit and run", "Write a query"): the same guard,
    read-only runner, limits, rate limit, audit and history as a question's query. A refused
    query is not run: 200 with ``executed=false``, the reason in ``error`` and
    ``error_code="query_refused"``; names the database lacks give ``unknown_names``."""
    return await service.run(actor, body)
