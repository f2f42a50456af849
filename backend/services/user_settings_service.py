"""Per-user settings with server defaults filled in."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import LLMSettings, QuerySettings
from backend.db.models import UserSettings
from backend.schemas.query import UserSettingsIn, UserSettingsOut


class UserSettingsService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], llm: LLMSettings, query: QuerySettings):
        self._sessions = sessions
        self._llm = llm
        self._query = query

    async def get(self, user_id: uuid.UUID) -> UserSettingsOut:
        async with self._sessions() as session:
            row = await session.get(UserSettings, user_id)
        return UserSettingsOut(
            model=(row.model if row and row.model else self._llm.default_model),
            top_k=(row.top_k if row and row.top_k else self._query.ask_default_top_k),
            sample_rows=(
                row.sample_rows if row and row.sample_rows is not None else self._query.ask_default_sample_rows
            ),
            execute_queries=row.execute_queries if row else True,
            export_max_rows=self._query.export_max_rows,
        )

    async def update(self, user_id: uuid.UUID, body: UserSettingsIn) -> UserSettingsOut:
        """Change only the fields given; the others keep their values."""
        values = body.model_dump(exclude_unset=True, exclude_none=True)
        if values:
            async with self._sessions() as session, session.begin():
                statement = insert(UserSettings).values(user_id=user_id, **values)
                await session.execute(
                    statement.on_conflict_do_update(index_elements=[UserSettings.user_id], set_=values)
                )
        return await self.get(user_id)
