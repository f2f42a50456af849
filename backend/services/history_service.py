"""Question history: stored turns, listed and deleted by their owner only."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import QueryHistory
from backend.engines.prompting import Turn
from backend.errors import NotFoundError
from backend.schemas.query import HistoryItem, HistoryOut, QueryOut


class HistoryService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def check_conversation(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
        """404 when the conversation exists but belongs to someone else; a new id starts one."""
        async with self._sessions() as session:
            owners = await session.scalars(
                select(QueryHistory.user_id).where(QueryHistory.conversation_id == conversation_id).limit(1)
            )
            owner = owners.first()
        if owner is not None and owner != user_id:
            raise NotFoundError("Conversation not found")

    async def recent_turns(self, user_id: uuid.UUID, conversation_id: uuid.UUID, limit: int) -> list[Turn]:
        if limit <= 0:
            return []
        async with self._sessions() as session:
            rows = await session.scalars(
                select(QueryHistory)
                .where(
                    QueryHistory.user_id == user_id,
                    QueryHistory.conversation_id == conversation_id,
                    QueryHistory.query.is_not(None),
                )
                .order_by(QueryHistory.created_at.desc())
                .limit(limit)
            )
            turns = [Turn(r.question, r.query, r.answer) for r in rows.all()]
        return list(reversed(turns))

    async def record(self, user_id: uuid.UUID, connection_id: uuid.UUID, question: str, result: QueryOut) -> uuid.UUID:
        item = QueryHistory(
            id=uuid.uuid4(),
            user_id=user_id,
            connection_id=connection_id,
            conversation_id=result.conversation_id,
            question=question,
            answer=result.answer,
            query=result.query,
            language=result.language,
            row_count=result.row_count if result.executed else None,
            sources=[s.model_dump() for s in result.sources],
            timings=result.timings.model_dump(),
            model=result.model,
            error=result.error,
        )
        async with self._sessions() as session, session.begin():
            session.add(item)
        return item.id

    async def list(
        self,
        user_id: uuid.UUID,
        connection_id: uuid.UUID | None,
        conversation_id: uuid.UUID | None,
        limit: int,
        offset: int,
    ) -> HistoryOut:
        conditions = [QueryHistory.user_id == user_id]
        if connection_id is not None:
            conditions.append(QueryHistory.connection_id == connection_id)
        if conversation_id is not None:
            conditions.append(QueryHistory.conversation_id == conversation_id)
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(QueryHistory).where(*conditions))
            rows = await session.scalars(
                select(QueryHistory)
                .where(*conditions)
                .order_by(QueryHistory.created_at.desc(), QueryHistory.id)
                .limit(limit)
                .offset(offset)
            )
            items = [HistoryItem.model_validate(r, from_attributes=True) for r in rows.all()]
        return HistoryOut(items=items, total=int(total or 0))

    async def delete(self, user_id: uuid.UUID, history_id: uuid.UUID) -> None:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(QueryHistory).where(QueryHistory.id == history_id, QueryHistory.user_id == user_id)
            )
            if not getattr(result, "rowcount", 0):
                raise NotFoundError("History item not found")
