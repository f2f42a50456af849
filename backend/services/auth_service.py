"""Registration, login and token resolution."""

from __future__ import annotations

import uuid
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.components.security import TokenIssuer, hash_password, verify_password
from backend.config import AuthSettings
from backend.db.models import User
from backend.errors import BadRequestError, ConflictError, ForbiddenError, UnauthorizedError
from backend.schemas.auth import TokenOut, UserOut


@cache
def _dummy_hash() -> str:
    """Checked against when the email is unknown, so a wrong email and a wrong password take the same time."""
    return hash_password("not-a-real-password")


def _user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, role=user.role)


class AuthService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], tokens: TokenIssuer, settings: AuthSettings):
        self._sessions = sessions
        self._tokens = tokens
        self._settings = settings

    async def register(self, email: str, password: str) -> UserOut:
        """Create a user; the first user ever is ``admin``. Sign-up can be closed after that."""
        email = email.strip().lower()
        if len(password) < self._settings.min_password_length:
            raise BadRequestError(f"Password must be at least {self._settings.min_password_length} characters")
        async with self._sessions() as session, session.begin():
            # Serialises concurrent first sign-ups so exactly one becomes admin.
            await session.execute(select(func.pg_advisory_xact_lock(7_201_001)))
            existing = await session.scalar(select(func.count()).select_from(User))
            if existing and not self._settings.allow_signup:
                raise ForbiddenError("Sign-up is closed; ask an administrator for an account")
            if await session.scalar(select(User.id).where(User.email == email)):
                raise ConflictError("That email is already registered")
            user = User(id=uuid.uuid4(), email=email, password_hash=hash_password(password))
            user.role = "user" if existing else "admin"
            session.add(user)
            try:
                await session.flush()
            except IntegrityError as exc:
                raise ConflictError("That email is already registered") from exc
            return _user_out(user)

    async def login(self, email: str, password: str) -> TokenOut:
        async with self._sessions() as session:
            user = await session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            verify_password(password, _dummy_hash())
            raise UnauthorizedError("Wrong email or password")
        if not verify_password(password, user.password_hash):
            raise UnauthorizedError("Wrong email or password")
        return TokenOut(access_token=self._tokens.issue(user.id), expires_in=int(self._tokens.ttl.total_seconds()))

    async def change_password(self, user_id: uuid.UUID, current: str, new: str) -> None:
        if len(new) < self._settings.min_password_length:
            raise BadRequestError(f"Password must be at least {self._settings.min_password_length} characters")
        async with self._sessions() as session, session.begin():
            user = await session.get(User, user_id, with_for_update=True)
            if user is None:
                raise UnauthorizedError("Invalid token")
            if not verify_password(current, user.password_hash):
                raise BadRequestError("The current password is wrong")
            user.password_hash = hash_password(new)

    async def user_for_token(self, token: str) -> UserOut:
        user_id = self._tokens.subject(token)
        async with self._sessions() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise UnauthorizedError("Invalid token")
        return _user_out(user)
