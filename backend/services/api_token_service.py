"""Personal API tokens: made, listed and revoked by their owner, and checked on every use.

A token is ``sxt_`` and 43 random URL-safe characters (256 bits). Only its SHA-256 is stored:
with that much entropy a fast hash is enough, and the check is one indexed lookup, so a
revoked token, an expired one or a disabled owner is refused on the very next request. Every
accepted use is one ``api_token_use`` event in the audit trail, as the owner, naming the token;
a refused one (revoked, expired, disabled owner, wrong scope) at most once a minute per token.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import ApiToken, User
from backend.errors import ConflictError, ForbiddenError, NotFoundError, UnauthorizedError
from backend.schemas.auth import UserOut
from backend.schemas.tokens import ApiTokenCreated, ApiTokenIn, ApiTokenList, ApiTokenOut, TokenScope
from backend.services.audit_service import Actor, AuditService

TOKEN_PREFIX = "sxt_"  # noqa: S105 - the marker of an API token, not a secret
MAX_ACTIVE_TOKENS = 50
REFUSAL_AUDIT_INTERVAL_S = 60.0
REFUSALS_REMEMBERED = 10_000
# What each scope may do: ``ask`` includes ``read``.
GRANTS: dict[TokenScope, frozenset[TokenScope]] = {"read": frozenset({"read"}), "ask": frozenset({"read", "ask"})}


def is_api_token(credential: str) -> bool:
    return credential.startswith(TOKEN_PREFIX)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenPrincipal:
    """Who calls with an API token: the owner and the token itself."""

    user: UserOut
    token_id: uuid.UUID
    token_name: str
    scope: TokenScope

    def allows(self, needed: TokenScope) -> bool:
        return needed in GRANTS[self.scope]


class ApiTokenService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], audit: AuditService):
        self._sessions = sessions
        self._audit = audit
        # When each refused token was last written to the trail: a leaked, revoked token sent in
        # a loop leaves one refusal a minute per process, not one row per request.
        self._refusals_logged: dict[uuid.UUID, float] = {}

    async def create(self, actor: Actor, body: ApiTokenIn) -> ApiTokenCreated:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        row = ApiToken(
            user_id=actor.id,
            name=body.name.strip(),
            prefix=token[:12],
            token_hash=token_hash(token),
            scope=body.scope,
            created_at=now,
            expires_at=now + timedelta(days=body.expires_in_days) if body.expires_in_days else None,
        )
        async with self._sessions() as session, session.begin():
            # One at a time per user (the row lock), so the cap holds under concurrent creates.
            await session.execute(select(User.id).where(User.id == actor.id).with_for_update())
            active = await session.scalar(
                select(func.count())
                .select_from(ApiToken)
                .where(
                    ApiToken.user_id == actor.id,
                    ApiToken.revoked_at.is_(None),
                    or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
                )
            )
            if (active or 0) >= MAX_ACTIVE_TOKENS:
                raise ConflictError(f"At most {MAX_ACTIVE_TOKENS} API tokens; revoke one first")
            session.add(row)
        await self._audit.record(
            actor,
            "api_token_create",
            target=f"token:{row.id}",
            details={"name": row.name, "scope": row.scope, "expires_at": _iso(row.expires_at)},
        )
        return ApiTokenCreated(**_out(row).model_dump(), token=token)

    async def list(self, user_id: uuid.UUID) -> ApiTokenList:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())
            )
            return ApiTokenList(items=[_out(r) for r in rows.all()])

    async def revoke(self, actor: Actor, token_id: uuid.UUID) -> None:
        """Revoked at once (idempotent); 404 unless it is the caller's own token."""
        async with self._sessions() as session, session.begin():
            row = await session.get(ApiToken, token_id, with_for_update=True)
            if row is None or row.user_id != actor.id:
                raise NotFoundError("API token not found")
            already = row.revoked_at is not None
            if not already:
                row.revoked_at = datetime.now(UTC)
        if not already:
            await self._audit.record(actor, "api_token_revoke", target=f"token:{token_id}", details={"name": row.name})

    async def authenticate(self, token: str, needed: TokenScope | None, client_ip: str, route: str) -> TokenPrincipal:
        """The owner of ``token`` if it may call ``route`` (``needed`` None: tokens may not);
        401 for an unknown, revoked or expired token or a disabled owner, 403 for a scope."""
        now = datetime.now(UTC)
        async with self._sessions() as session, session.begin():
            found = (
                await session.execute(
                    select(ApiToken, User)
                    .join(User, User.id == ApiToken.user_id)
                    .where(ApiToken.token_hash == token_hash(token))
                )
            ).first()
            if found is None:
                raise UnauthorizedError("Invalid API token")
            row, user = found
            principal = TokenPrincipal(
                UserOut(id=user.id, email=user.email, role="admin" if user.role == "admin" else "user"),
                row.id,
                row.name,
                "ask" if row.scope == "ask" else "read",
            )
            refusal = _refusal(row, user, now)
            if refusal is None and needed is None:
                refusal = "API tokens cannot be used for this endpoint; sign in instead"
            elif refusal is None and needed is not None and not principal.allows(needed):
                refusal = f"This API token's scope is '{row.scope}'; this endpoint needs '{needed}'"
            if refusal is None:
                await session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        actor = Actor(user.id, user.email, client_ip, token_id=row.id)
        details = {"token_name": row.name, "route": route, "scope": row.scope}
        if refusal is not None:
            if self._first_refusal_this_minute(row.id):
                await self._audit.record(
                    actor,
                    "api_token_use",
                    success=False,
                    target=f"token:{row.id}",
                    details={**details, "error": refusal},
                )
            if needed is None or "scope" in refusal:
                raise ForbiddenError(refusal)
            raise UnauthorizedError(refusal)
        await self._audit.record(actor, "api_token_use", target=f"token:{row.id}", details=details)
        return principal

    def _first_refusal_this_minute(self, token_id: uuid.UUID) -> bool:
        now = time.monotonic()
        if len(self._refusals_logged) > REFUSALS_REMEMBERED:
            self._refusals_logged.clear()
        last = self._refusals_logged.get(token_id)
        if last is not None and now - last < REFUSAL_AUDIT_INTERVAL_S:
            return False
        self._refusals_logged[token_id] = now
        return True


def _refusal(row: ApiToken, user: User, now: datetime) -> str | None:
    if row.revoked_at is not None:
        return "This API token was revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "This API token has expired"
    if user.disabled:
        return "This account is disabled"
    return None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _out(row: ApiToken) -> ApiTokenOut:
    return ApiTokenOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scope="ask" if row.scope == "ask" else "read",
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )
