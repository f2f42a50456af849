"""Registration, login, logout, password changes and token resolution, with rate limits and audit."""

from __future__ import annotations

import uuid
from functools import cache
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.components.rate_limiter import PgRateLimiter
from backend.components.security import TokenIssuer, hash_password, verify_password
from backend.config import AuthSettings, SecuritySettings
from backend.db.models import AppSetting, User
from backend.errors import BadRequestError, ConflictError, ForbiddenError, TooManyRequestsError, UnauthorizedError
from backend.schemas.auth import TokenOut, UserOut
from backend.services.audit_service import AuditService

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"
SIGNUP_KEY = "allow_signup"


@cache
def _dummy_hash() -> str:
    """Checked against when the email is unknown, so a wrong email and a wrong password take the same time."""
    return hash_password("not-a-real-password")


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text().splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, role=user.role)


class AuthService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tokens: TokenIssuer,
        settings: AuthSettings,
        security: SecuritySettings,
        limiter: PgRateLimiter,
        audit: AuditService,
    ):
        self._sessions = sessions
        self._tokens = tokens
        self._settings = settings
        self._security = security
        self._limiter = limiter
        self._audit = audit

    def check_password_policy(self, password: str) -> None:
        if len(password) < self._settings.min_password_length:
            raise BadRequestError(f"Password must be at least {self._settings.min_password_length} characters")
        if password.strip().lower() in common_passwords():
            raise BadRequestError("That password is too common; choose another one")

    async def signup_open(self, session: AsyncSession) -> bool:
        stored = await session.get(AppSetting, SIGNUP_KEY)
        return bool(stored.value) if stored is not None else self._settings.allow_signup

    async def register(self, email: str, password: str, client_ip: str) -> UserOut:
        """Create a user; the first user ever is ``admin``. Sign-up can be closed after that."""
        email = email.strip().lower()
        self.check_password_policy(password)
        bucket = f"signup:ip:{client_ip}"
        wait = await self._limiter.retry_after(bucket, self._security.rate_signups_per_hour, 3600)
        if wait is not None:
            raise TooManyRequestsError("Too many sign-ups from this address; try again later", wait)
        async with self._sessions() as session, session.begin():
            # Serialises concurrent first sign-ups so exactly one becomes admin.
            await session.execute(select(func.pg_advisory_xact_lock(7_201_001)))
            existing = await session.scalar(select(func.count()).select_from(User))
            if existing and not await self.signup_open(session):
                raise ForbiddenError("Sign-up is closed; ask an administrator for an account")
            if await session.scalar(select(User.id).where(User.email == email)):
                raise ConflictError("That email is already registered")
            user = User(id=uuid.uuid4(), email=email, password_hash=hash_password(password), token_version=0)
            user.role = "user" if existing else "admin"
            user.disabled = False
            session.add(user)
            try:
                await session.flush()
            except IntegrityError as exc:
                raise ConflictError("That email is already registered") from exc
            out = _user_out(user)
        await self._limiter.add(bucket)
        await self._audit.record(
            "signup", actor_id=out.id, actor_email=out.email, client_ip=client_ip, details={"role": out.role}
        )
        return out

    async def login(self, email: str, password: str, client_ip: str) -> TokenOut:
        email = email.strip().lower()
        buckets = (f"login-fail:account:{email}", f"login-fail:ip:{client_ip}")
        limit, window = self._security.rate_login_failures, self._security.rate_login_window_s
        for bucket in buckets:
            wait = await self._limiter.retry_after(bucket, limit, window)
            if wait is not None:
                await self._audit.record(
                    "login", success=False, actor_email=email, client_ip=client_ip, details={"reason": "rate limited"}
                )
                raise TooManyRequestsError("Too many failed logins; wait a moment and try again", wait)
        async with self._sessions() as session:
            user = await session.scalar(select(User).where(User.email == email))
        reason = None
        if user is None:
            verify_password(password, _dummy_hash())
            reason = "unknown email"
        elif not verify_password(password, user.password_hash):
            reason = "wrong password"
        elif user.disabled:
            reason = "account disabled"
        if reason is not None or user is None:
            await self._limiter.add(*buckets)
            await self._audit.record(
                "login",
                success=False,
                actor_id=user.id if user else None,
                actor_email=email,
                client_ip=client_ip,
                details={"reason": reason},
            )
            if reason == "account disabled":
                raise ForbiddenError("This account is disabled; ask an administrator")
            raise UnauthorizedError("Wrong email or password")
        await self._limiter.clear(buckets[0])
        await self._audit.record("login", actor_id=user.id, actor_email=email, client_ip=client_ip)
        return TokenOut(
            access_token=self._tokens.issue(user.id, user.token_version),
            expires_in=int(self._tokens.ttl.total_seconds()),
        )

    async def _bump_token_version(self, session: AsyncSession, user_id: uuid.UUID) -> User:
        user = await session.get(User, user_id, with_for_update=True)
        if user is None:
            raise UnauthorizedError("Invalid token")
        user.token_version += 1
        return user

    async def logout(self, user_id: uuid.UUID, client_ip: str) -> None:
        """Ends every session of the user: tokens carry a version, and the version moves on."""
        async with self._sessions() as session, session.begin():
            user = await self._bump_token_version(session, user_id)
            email = user.email
        await self._audit.record("logout", actor_id=user_id, actor_email=email, client_ip=client_ip)

    async def change_password(self, user_id: uuid.UUID, current: str, new: str, client_ip: str) -> None:
        self.check_password_policy(new)
        async with self._sessions() as session, session.begin():
            user = await session.get(User, user_id, with_for_update=True)
            if user is None:
                raise UnauthorizedError("Invalid token")
            if not verify_password(current, user.password_hash):
                raise BadRequestError("The current password is wrong")
            user.password_hash = hash_password(new)
            user.token_version += 1
            email = user.email
        await self._audit.record("password_change", actor_id=user_id, actor_email=email, client_ip=client_ip)

    async def user_for_token(self, token: str) -> UserOut:
        user_id, version = self._tokens.subject(token)
        async with self._sessions() as session:
            user = await session.get(User, user_id)
        if user is None or user.token_version != version:
            raise UnauthorizedError("Invalid token")
        if user.disabled:
            raise UnauthorizedError("This account is disabled")
        return _user_out(user)
