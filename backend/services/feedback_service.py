"""Feedback on answers: the owner's thumbs up or down (and an optional comment) kept on the
history entry, each change an audit event; admins see counts per connection, never comments."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.schemas.query import FeedbackIn, FeedbackOut
from backend.services.audit_service import Actor, AuditService
from backend.services.history_service import owned_entry


class FeedbackService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], audit: AuditService):
        self._sessions = sessions
        self._audit = audit

    async def set(self, actor: Actor, history_id: uuid.UUID, body: FeedbackIn) -> FeedbackOut:
        """Rates one of the caller's answers (replacing an earlier rating); 404 for anyone else's."""
        comment = (body.comment or "").strip() or None
        at = datetime.now(UTC)
        async with self._sessions() as session, session.begin():
            row = await owned_entry(session, actor.id, history_id, lock=True)
            row.feedback_rating = body.rating
            row.feedback_comment = comment
            row.feedback_at = at
            connection_id = row.connection_id
        await self._audit.record(
            actor,
            "feedback",
            target=f"connection:{connection_id}" if connection_id else None,
            details={"history_id": str(history_id), "rating": body.rating, "comment": comment is not None},
        )
        return FeedbackOut(rating=body.rating, comment=comment, at=at)

    async def clear(self, actor: Actor, history_id: uuid.UUID) -> None:
        """Takes the caller's rating off one of their answers; 404 for anyone else's."""
        async with self._sessions() as session, session.begin():
            row = await owned_entry(session, actor.id, history_id, lock=True)
            had = row.feedback_rating
            row.feedback_rating = None
            row.feedback_comment = None
            row.feedback_at = None
            connection_id = row.connection_id
        await self._audit.record(
            actor,
            "feedback",
            target=f"connection:{connection_id}" if connection_id else None,
            details={"history_id": str(history_id), "rating": None, "cleared": had},
        )
