from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from backend.deps import ContextDep

router = APIRouter(tags=["health"])

ComponentState = Literal["ok", "unavailable"]
# A store cut off by the network (no RST, packets dropped) would hold the check until TCP gives
# up, minutes later; a load balancer's health check needs the answer now.
STORE_CHECK_TIMEOUT_S = 3.0


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    components: dict[str, ComponentState]


@router.get("/health", response_model=HealthOut)
async def health(context: ContextDep) -> HealthOut:
    """``degraded`` when the store, the embedding service or the LLM (with its default model) fails."""
    try:
        async with asyncio.timeout(STORE_CHECK_TIMEOUT_S), context.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        database: ComponentState = "ok"
    except Exception:  # any failure of the store means it is unavailable
        database = "unavailable"
    embedding: ComponentState = "ok" if await context.embedder.health() else "unavailable"
    llm: ComponentState = "ok" if await context.models.healthy() else "unavailable"
    components: dict[str, ComponentState] = {"database": database, "embedding": embedding, "llm": llm}
    status: Literal["ok", "degraded"] = "ok" if "unavailable" not in components.values() else "degraded"
    return HealthOut(status=status, components=components)
