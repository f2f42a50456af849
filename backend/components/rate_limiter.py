"""Sliding-window rate limits kept in Postgres, so that every backend replica counts the same events."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import RateEvent

# Events older than this are of no window's concern and are cleaned up as new ones arrive.
KEEP = timedelta(hours=2)


class PgRateLimiter:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def retry_after(self, bucket: str, limit: int, window_s: int) -> int | None:
        """Seconds until ``bucket`` drops below ``limit`` events in the window; None when it is below now."""
        since = datetime.now(UTC) - timedelta(seconds=window_s)
        async with self._sessions() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(RateEvent.at)).where(RateEvent.bucket == bucket, RateEvent.at > since)
                )
            ).one()
        if count < limit or oldest is None:
            return None
        return max(1, math.ceil((oldest + timedelta(seconds=window_s) - datetime.now(UTC)).total_seconds()))

    async def add(self, *buckets: str) -> None:
        async with self._sessions() as session, session.begin():
            session.add_all(RateEvent(bucket=b) for b in buckets)
            await session.execute(delete(RateEvent).where(RateEvent.at < datetime.now(UTC) - KEEP))

    async def clear(self, bucket: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(RateEvent).where(RateEvent.bucket == bucket))
