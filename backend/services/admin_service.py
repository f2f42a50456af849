"""What admins manage: users (role, disabled), sign-up, and an overview of every connection."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import AuthSettings
from backend.db.models import AppSetting, Connection, IndexJob, QueryHistory, User
from backend.errors import ConflictError, NotFoundError
from backend.schemas.admin import AdminConnectionOut, AdminSettings, AdminUserOut, AdminUserPatch
from backend.services.audit_service import Actor, AuditService
from backend.services.auth_service import SIGNUP_KEY


def _user(user: User) -> AdminUserOut:
    return AdminUserOut(
        id=user.id, email=user.email, role=user.role, disabled=user.disabled, created_at=user.created_at
    )


class AdminService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], auth: AuthSettings, audit: AuditService):
        self._sessions = sessions
        self._auth = auth
        self._audit = audit

    async def users(self) -> list[AdminUserOut]:
        async with self._sessions() as session:
            rows = await session.scalars(select(User).order_by(User.created_at, User.email))
            return [_user(u) for u in rows.all()]

    async def update_user(self, admin: Actor, user_id: uuid.UUID, patch: AdminUserPatch) -> AdminUserOut:
        async with self._sessions() as session, session.begin():
            # One lock for every role change: two admins demoting each other cannot both win.
            await session.execute(select(func.pg_advisory_xact_lock(7_201_002)))
            # Locked: a logout or login bumping the version meanwhile must not be overwritten.
            user = await session.get(User, user_id, with_for_update=True)
            if user is None:
                raise NotFoundError("User not found")
            before = {"role": user.role, "disabled": user.disabled}
            losing_admin = user.role == "admin" and (patch.role == "user" or patch.disabled is True)
            if losing_admin:
                admins = await session.scalar(
                    select(func.count()).select_from(User).where(User.role == "admin", User.disabled.is_(False))
                )
                if (admins or 0) <= 1:
                    raise ConflictError("The last active administrator cannot be demoted or disabled")
            if patch.role is not None:
                user.role = patch.role
            if patch.disabled is not None:
                if patch.disabled and not user.disabled:
                    # Ends every token issued so far: re-enabling must not revive them.
                    user.token_version += 1
                user.disabled = patch.disabled
            out = _user(user)
        await self._audit.record(
            admin,
            "user_update",
            target=f"user:{out.email}",
            details={"before": before, "after": {"role": out.role, "disabled": out.disabled}},
        )
        return out

    async def settings(self) -> AdminSettings:
        async with self._sessions() as session:
            stored = await session.get(AppSetting, SIGNUP_KEY)
        return AdminSettings(allow_signup=bool(stored.value) if stored else self._auth.allow_signup)

    async def update_settings(self, admin: Actor, body: AdminSettings) -> AdminSettings:
        async with self._sessions() as session, session.begin():
            statement = insert(AppSetting).values(key=SIGNUP_KEY, value=body.allow_signup)
            await session.execute(
                statement.on_conflict_do_update(index_elements=[AppSetting.key], set_={"value": body.allow_signup})
            )
        await self._audit.record(
            admin,
            "settings_update",
            details={"allow_signup": body.allow_signup},
        )
        return await self.settings()

    async def connections(self) -> list[AdminConnectionOut]:
        latest = (
            select(IndexJob.status)
            .where(IndexJob.connection_id == Connection.id)
            .order_by(IndexJob.created_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        up, down = (
            select(func.count())
            .select_from(QueryHistory)
            .where(QueryHistory.connection_id == Connection.id, QueryHistory.feedback_rating == rating)
            .scalar_subquery()
            for rating in ("up", "down")
        )
        async with self._sessions() as session:
            rows = await session.execute(
                select(Connection, User.email, latest, up, down)
                .join(User, User.id == Connection.owner_id)
                .order_by(User.email, Connection.name)
            )
            return [
                AdminConnectionOut(
                    id=c.id,
                    name=c.name,
                    kind=c.kind,
                    owner_id=c.owner_id,
                    owner_email=email,
                    status=status,
                    indexed_at=c.indexed_at,
                    object_count=c.object_count,
                    feedback_up=ups,
                    feedback_down=downs,
                )
                for c, email, status, ups, downs in rows.all()
            ]
