from __future__ import annotations

import contextlib
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.deps import ContextDep
from backend.services.background_tasks import await_uncancelled

router = APIRouter(tags=["health"])

ComponentState = Literal["ok", "unavailable"]
# A store cut off by the network (no RST, packets dropped) would hold the check until TCP gives
# up, minutes later; a load balancer's health check needs the answer now.
STORE_CHECK_TIMEOUT_S = 3.0


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    components: dict[str, ComponentState]


class ReadyOut(BaseModel):
    status: Literal["ready", "unavailable"]
    database: ComponentState


async def _select_one(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def store_state(engine: AsyncEngine) -> ComponentState:
    """``ok`` when the store answers within ``STORE_CHECK_TIMEOUT_S``; the check itself is left
    to end on its own (``await_uncancelled``)."""
    with contextlib.suppress(Exception):  # any failure of the store means it is unavailable
        await await_uncancelled(_select_one(engine), STORE_CHECK_TIMEOUT_S)
        return "ok"
    return "unavailable"


@router.get("/health", response_model=HealthOut)
async def health(context: ContextDep) -> HealthOut:
    """Liveness and what is wrong: always 200 while the process serves; ``degraded`` when the
    store, the embedding service or the LLM (with its default model) fails."""
    database = await store_state(context.engine)
    embedding: ComponentState = "ok" if await context.embedder.health() else "unavailable"
    llm: ComponentState = "ok" if await context.models.healthy() else "unavailable"
    components: dict[str, ComponentState] = {"database": database, "embedding": embedding, "llm": llm}
    status: Literal["ok", "degraded"] = "ok" if "unavailable" not in components.values() else "degraded"
    return HealthOut(status=status, components=components)


@router.get("/health/ready", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
async def ready(context: ContextDep, response: Response) -> ReadyOut:
    """For a load balancer: 503 while this replica cannot reach the store (nothing but /health
    works without it), so traffic goes to the replicas that can. The embedding service and the
    LLM are shared by every replica: their outage is no reason to move traffic."""
    database = await store_state(context.engine)
    if database != "ok":
        response.status_code = 503
    return ReadyOut(status="ready" if database == "ok" else "unavailable", database=database)
