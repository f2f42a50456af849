"""The audit trail: who did what, from where; written by services, read by admins.

The table is append-only in the database itself (a trigger refuses UPDATE, DELETE and
TRUNCATE), so not even a bug in this code can rewrite history.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.components.url_redaction import redact_url
from backend.db.models import AuditEvent, Connection
from backend.schemas.admin import AuditAction, AuditEventOut, AuditPage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """A signed-in user and the address they act from."""

    id: uuid.UUID
    email: str
    client_ip: str
    # The personal API token the request came with, if any: its events say "via" it.
    token_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Visitor:
    """Someone not signed in: whoever tried to sign in or up as ``email``."""

    email: str
    client_ip: str


class AuditService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def record(
        self,
        who: Actor | Visitor,
        action: AuditAction,
        *,
        success: bool = True,
        target: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Append one event; the only way anything is written to the trail. An actor's API
        token goes into the details as ``via_token``."""
        if isinstance(who, Actor) and who.token_id is not None:
            details = {**(details or {}), "via_token": str(who.token_id)}
        event = AuditEvent(
            action=action,
            success=success,
            actor_id=who.id if isinstance(who, Actor) else None,
            actor_email=who.email,
            target=target,
            client_ip=who.client_ip,
            details=details or {},
        )
        async with self._sessions() as session, session.begin():
            session.add(event)

    async def record_query(
        self,
        actor: Actor,
        connection_id: uuid.UUID,
        language: str,
        query: str,
        *,
        row_count: int | None,
        duration_ms: float,
        error: str | None,
        export: bool = False,
    ) -> None:
        """One query that reached a user's database. Shielded from cancellation: a question
        cancelled while the row is written still leaves it in the trail."""
        details: dict[str, Any] = {
            "language": language,
            "query": query[:10_000],
            "row_count": row_count,
            "duration_ms": round(duration_ms, 1),
            "error": error,
        }
        if export:
            details["export"] = True
        with anyio.CancelScope(shield=True):
            await self.record(
                actor, "query", target=f"connection:{connection_id}", success=error is None, details=details
            )

    async def list(
        self,
        *,
        action: AuditAction | None,
        actor_id: uuid.UUID | None,
        success: bool | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        offset: int,
    ) -> AuditPage:
        conditions = []
        if action:
            conditions.append(AuditEvent.action == action)
        if actor_id:
            conditions.append(AuditEvent.actor_id == actor_id)
        if success is not None:
            conditions.append(AuditEvent.success == success)
        if since:
            conditions.append(AuditEvent.at >= since)
        if until:
            conditions.append(AuditEvent.at < until)
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
            rows = await session.scalars(
                select(AuditEvent).where(*conditions).order_by(AuditEvent.id.desc()).limit(limit).offset(offset)
            )
            items = [_shown(AuditEventOut.model_validate(r, from_attributes=True)) for r in rows.all()]
            named = {i.target: i for i in items if i.target and _names_a_connection(i)}
            names = await _connection_names(session, set(named))
        items = [i.model_copy(update={"target_name": names.get(i.target)}) if i.target in named else i for i in items]
        return AuditPage(items=items, total=int(total or 0), limit=limit, offset=offset)


def _names_a_connection(event: AuditEventOut) -> bool:
    """Whether the event's target was written by Sextant as a connection id. A failed create
    once recorded the user's chosen name there, which could spell another connection's id."""
    return not (event.action == "connection_create" and not event.success)


async def _connection_names(session: AsyncSession, targets: set[str]) -> dict[str, str]:
    """``connection:<id>`` -> the connection's name; a deleted one's from its create or delete event."""
    ids: dict[uuid.UUID, str] = {}
    for target in targets:
        kind, _, value = target.partition(":")
        if kind == "connection":
            try:
                ids[uuid.UUID(value)] = target
            except ValueError:
                continue
    if not ids:
        return {}
    found = await session.execute(select(Connection.id, Connection.name).where(Connection.id.in_(ids)))
    names = {ids[cid]: name for cid, name in found.all()}
    missing = [t for t in ids.values() if t not in names]
    if missing:
        named = await session.execute(
            select(AuditEvent.target, AuditEvent.details["name"].astext)
            .where(
                AuditEvent.target.in_(missing),
                AuditEvent.action.in_(("connection_create", "connection_delete")),
                AuditEvent.success.is_(True),
                AuditEvent.details.has_key("name"),
            )
            .order_by(AuditEvent.id)
        )
        for target, name in named.all():
            if target and name:
                names[target] = f"{name} (deleted)"
    return names


def _shown(event: AuditEventOut) -> AuditEventOut:
    """``event`` with a connection URL in its details redacted again: the trail is append-only,
    and rows written before the redaction knew every spelling of a password stay as they are."""
    url = event.details.get("url")
    if isinstance(url, str):
        return event.model_copy(update={"details": {**event.details, "url": redact_url(url)}})
    return event
