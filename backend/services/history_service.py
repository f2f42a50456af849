"""Question history: stored turns, listed and deleted by their owner only."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import defer

from backend.db.models import QueryHistory
from backend.engines.prompting import Turn
from backend.errors import NotFoundError, UnprocessableError
from backend.schemas.query import ChartChoice, HistoryItem, HistoryOut, QueryOut


def _storable(value: Any) -> Any:
    """``value`` with the NUL character (which JSONB refuses) as U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def preview(rows: list[list[Any]], max_rows: int, max_bytes: int) -> list[list[Any]]:
    """The first rows that fit ``max_rows`` and ``max_bytes`` of JSON, storable in JSONB."""
    kept: list[list[Any]] = []
    size = 2
    for row in rows[:max_rows]:
        size += len(json.dumps(row, ensure_ascii=False).encode()) + 1
        if size > max_bytes:
            break
        kept.append(_storable(row))
    return kept


def _check_chart(choice: ChartChoice, columns: list[str], rows: list[list[Any]]) -> None:
    for axis in (choice.x, choice.y):
        if axis not in columns:
            raise UnprocessableError(f"The answer has no column {axis!r} to chart")
    if choice.x == choice.y:
        raise UnprocessableError("The chart needs two different columns")
    index = columns.index(choice.y)
    values = [r[index] for r in rows if index < len(r) and r[index] is not None]
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
        raise UnprocessableError(f"The column {choice.y!r} does not hold numbers to plot")


# What an answer used of what the owner taught (examples, notes): kept inside the ``timings``
# JSONB under ``evidence`` (no column of its own), and back on ``HistoryItem`` when read.
EVIDENCE_FIELDS = ("verified_example", "examples_used", "notes_used")
_COLUMN_FIELDS = tuple(name for name in HistoryItem.model_fields if name not in ("rows", *EVIDENCE_FIELDS))


def _item(row: QueryHistory, with_rows: bool = True) -> HistoryItem:
    data = {name: getattr(row, name) for name in _COLUMN_FIELDS}
    data["rows"] = row.rows if with_rows else []
    evidence = (row.timings or {}).get("evidence")
    if isinstance(evidence, dict):
        data.update({k: v for k, v in evidence.items() if k in EVIDENCE_FIELDS})
    return HistoryItem.model_validate(data)


def _timings(result: QueryOut) -> dict[str, Any]:
    timings: dict[str, Any] = result.timings.model_dump()
    evidence = result.model_dump(mode="json", include=set(EVIDENCE_FIELDS))
    if evidence["verified_example"] or evidence["examples_used"] or evidence["notes_used"]:
        timings["evidence"] = evidence
    return timings


async def owned_entry(
    session: AsyncSession, user_id: uuid.UUID, history_id: uuid.UUID, *, lock: bool = False
) -> QueryHistory:
    """One of the user's history entries (locked for update if asked); 404 for anyone else's,
    as for one that does not exist."""
    row = await session.get(QueryHistory, history_id, with_for_update=lock)
    if row is None or row.user_id != user_id:
        raise NotFoundError("History item not found")
    return row


class HistoryService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], preview_rows: int = 200, preview_bytes: int = 1_000_000
    ):
        self._sessions = sessions
        self._preview_rows = preview_rows
        self._preview_bytes = preview_bytes

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
            columns=result.columns,
            rows=preview(result.rows, self._preview_rows, self._preview_bytes),
            truncated=result.truncated,
            truncation=result.truncation,
            executed=result.executed,
            sources=[s.model_dump() for s in result.sources],
            timings=_timings(result),
            model=result.model or None,
            error=result.error,
            error_code=result.error_code,
            origin=result.origin,
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
        with_rows: bool = True,
    ) -> HistoryOut:
        """The caller's turns, newest first. ``with_rows=False`` leaves the preview rows out (an
        empty ``rows``; ``row_count`` still tells the size): lists that show questions only need
        not carry up to ``preview_bytes`` per entry."""
        conditions = [QueryHistory.user_id == user_id]
        if connection_id is not None:
            conditions.append(QueryHistory.connection_id == connection_id)
        if conversation_id is not None:
            conditions.append(QueryHistory.conversation_id == conversation_id)
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(QueryHistory).where(*conditions))
            statement = (
                select(QueryHistory)
                .where(*conditions)
                .order_by(QueryHistory.created_at.desc(), QueryHistory.id)
                .limit(limit)
                .offset(offset)
            )
            if not with_rows:
                statement = statement.options(defer(QueryHistory.rows))
            found = (await session.scalars(statement)).all()
            items = [_item(r, with_rows) for r in found]
        return HistoryOut(items=items, total=int(total or 0))

    async def get(self, user_id: uuid.UUID, history_id: uuid.UUID) -> HistoryItem:
        """One of the caller's turns; 404 for anyone else's, as for one that does not exist."""
        async with self._sessions() as session:
            row = await owned_entry(session, user_id, history_id)
            return _item(row)

    async def set_chart(
        self, user_id: uuid.UUID, history_id: uuid.UUID, choice: ChartChoice | None
    ) -> ChartChoice | None:
        """Keeps the chart the caller chose for one of their answers (None: the automatic choice).
        404 for anyone else's entry; 422 when a column is not the answer's, or the value column
        holds something other than numbers in the kept rows."""
        async with self._sessions() as session, session.begin():
            row = await owned_entry(session, user_id, history_id, lock=True)
            if choice is not None:
                _check_chart(choice, list(row.columns or []), list(row.rows or []))
            row.chart = choice.model_dump() if choice is not None else None
        return choice

    async def delete(self, user_id: uuid.UUID, history_id: uuid.UUID) -> None:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(QueryHistory).where(QueryHistory.id == history_id, QueryHistory.user_id == user_id)
            )
            if not getattr(result, "rowcount", 0):
                raise NotFoundError("History item not found")
