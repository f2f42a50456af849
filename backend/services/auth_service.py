"""Registration, login, logout, password changes and token resolution, with rate limits and audit."""

from __future__ import annotations

import uuid
from functools import cache
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.components.security import PasswordHasher, TokenIssuer
from backend.config import AuthSettings, SecuritySettings
from backend.db.models import AppSetting, User
from backend.errors import (
    AppError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    TooManyRequestsError,
    UnauthorizedError,
)
from backend.schemas.auth import SignupOut, TokenOut, UserOut
from backend.services.audit_service import Actor, AuditService, Visitor
from backend.services.rate_limit_service import RateLimitService, address_bucket

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"
SIGNUP_KEY = "allow_signup"


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text().splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _reason(exc: AppError) -> str:
    """The audit trail's word for why an attempt was refused."""
    if isinstance(exc, TooManyRequestsError):
        return "rate limited"
    if isinstance(exc, ForbiddenError):
        return "sign-up closed"
    if isinstance(exc, ConflictError):
        return "email already registered"
    return type(exc).__name__


def _user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, role=user.role)


class AuthService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tokens: TokenIssuer,
        settings: AuthSettings,
        security: SecuritySettings,
        rate_limits: RateLimitService,
        audit: AuditService,
        hasher: PasswordHasher,
    ):
        self._sessions = sessions
        self._tokens = tokens
        self._settings = settings
        self._security = security
        self._rate_limits = rate_limits
        self._audit = audit
        self._hasher = hasher
        self._dummy_hash: str | None = None

    async def _verify(self, password: str, user: User | None) -> bool:
        """Check ``password``; an unknown user is checked against a dummy hash so both take the same time."""
        if user is not None:
            return await self._hasher.verify(password, user.password_hash)
        if self._dummy_hash is None:
            self._dummy_hash = await self._hasher.hash("not-a-real-password")
        await self._hasher.verify(password, self._dummy_hash)
        return False

    def check_password_policy(self, password: str) -> None:
        if len(password) < self._settings.min_password_length:
            raise BadRequestError(f"Password must be at least {self._settings.min_password_length} characters")
        if password.strip().lower() in common_passwords():
            raise BadRequestError("That password is too common; choose another one")

    async def signup_open(self, session: AsyncSession) -> bool:
        stored = await session.get(AppSetting, SIGNUP_KEY)
        return bool(stored.value) if stored is not None else self._settings.allow_signup

    async def signup_state(self) -> SignupOut:
        """What the login page offers: sign-up is open for the first user, then as configured."""
        async with self._sessions() as session:
            anyone = await session.scalar(select(User.id).limit(1))
            return SignupOut(open=anyone is None or await self.signup_open(session))

    async def register(self, email: str, password: str, client_ip: str) -> UserOut:
        """Create a user; the first user ever is ``admin``. Sign-up can be closed after that.

        Every attempt that passes the password policy counts against the address's hourly limit,
        whether or not the email was free: the limit also bounds probing for registered emails.
        Refused attempts land in the audit trail with their reason.
        """
        email = email.strip().lower()
        self.check_password_policy(password)
        try:
            await self._rate_limits.charge(
                [f"signup:ip:{address_bucket(client_ip)}"],
                self._security.rate_signups_per_hour,
                3600,
                "Too many sign-ups from this address; try again later",
            )
            out = await self._create_user(email, await self._hasher.hash(password))
        except (TooManyRequestsError, ForbiddenError, ConflictError) as exc:
            await self._audit.record(
                Visitor(email, client_ip), "signup", success=False, details={"reason": _reason(exc)}
            )
            raise
        await self._audit.record(Actor(out.id, out.email, client_ip), "signup", details={"role": out.role})
        return out

    async def _create_user(self, email: str, password_hash: str) -> UserOut:
        async with self._sessions() as session, session.begin():
            # Serialises concurrent first sign-ups so exactly one becomes admin.
            await session.execute(select(func.pg_advisory_xact_lock(7_201_001)))
            existing = await session.scalar(select(func.count()).select_from(User))
            if existing and not await self.signup_open(session):
                raise ForbiddenError("Sign-up is closed; ask an administrator for an account")
            if await session.scalar(select(User.id).where(User.email == email)):
                raise ConflictError("That email is already registered")
            user = User(id=uuid.uuid4(), email=email, password_hash=password_hash, token_version=0)
            user.role = "user" if existing else "admin"
            user.disabled = False
            session.add(user)
            try:
                await session.flush()
            except IntegrityError as exc:
                raise ConflictError("That email is already registered") from exc
            return _user_out(user)

    async def login(self, email: str, password: str, client_ip: str) -> TokenOut:
        """A token for the right password.

        Each attempt is charged, provisionally, to the account and the address before the
        password is checked; a failure settles the charge and a success takes it back, so only
        failures stay counted while no more than the limit are ever checked at once.
        """
        email = email.strip().lower()
        account = f"login-fail:account:{email}"
        try:
            attempt = await self._rate_limits.charge(
                [account, f"login-fail:ip:{address_bucket(client_ip)}"],
                self._security.rate_login_failures,
                self._security.rate_login_window_s,
                "Too many failed logins",
                provisional=True,
            )
        except TooManyRequestsError as exc:
            await self._audit.record(
                Visitor(email, client_ip), "login", success=False, details={"reason": _reason(exc)}
            )
            raise
        async with self._sessions() as session:
            user = await session.scalar(select(User).where(User.email == email))
        reason = None
        if user is None:
            await self._verify(password, None)
            reason = "unknown email"
        elif not await self._verify(password, user):
            reason = "wrong password"
        elif user.disabled:
            reason = "account disabled"
        if reason is not None or user is None:
            await self._rate_limits.settle(attempt)
            await self._audit.record(
                Actor(user.id, email, client_ip) if user else Visitor(email, client_ip),
                "login",
                success=False,
                details={"reason": reason},
            )
            if reason == "account disabled":
                raise ForbiddenError("This account is disabled; ask an administrator")
            raise UnauthorizedError("Wrong email or password")
        await self._rate_limits.refund(attempt)
        await self._rate_limits.clear(account)
        await self._audit.record(Actor(user.id, email, client_ip), "login")
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

    async def logout(self, actor: Actor) -> None:
        """Ends every session of the user: tokens carry a version, and the version moves on."""
        async with self._sessions() as session, session.begin():
            await self._bump_token_version(session, actor.id)
        await self._audit.record(actor, "logout")

    async def change_password(self, actor: Actor, current: str, new: str) -> None:
        """Replace the password when ``current`` is right; every session of the user ends.

        A wrong current password counts as a failed login of the account (a stolen token must
        not become an unlimited password oracle) and lands in the audit trail.
        """
        self.check_password_policy(new)
        user_id = actor.id
        async with self._sessions() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise UnauthorizedError("Invalid token")
        email = user.email

        async def refused(reason: str) -> None:
            await self._audit.record(actor, "password_change", success=False, details={"reason": reason})

        try:
            attempt = await self._rate_limits.charge(
                [f"login-fail:account:{email}"],
                self._security.rate_login_failures,
                self._security.rate_login_window_s,
                "Too many wrong passwords",
                provisional=True,
            )
        except TooManyRequestsError as exc:
            await refused(_reason(exc))
            raise
        if not await self._hasher.verify(current, user.password_hash):
            await self._rate_limits.settle(attempt)
            await refused("wrong current password")
            raise BadRequestError("The current password is wrong")
        await self._rate_limits.refund(attempt)
        checked, password_hash = user.password_hash, await self._hasher.hash(new)
        async with self._sessions() as session, session.begin():
            user = await self._bump_token_version(session, user_id)
            if user.password_hash != checked:
                raise ConflictError("The password was changed meanwhile; sign in again")
            user.password_hash = password_hash
        await self._audit.record(actor, "password_change")

    async def user_for_token(self, token: str) -> UserOut:
        user_id, version = self._tokens.subject(token)
        async with self._sessions() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise UnauthorizedError("Invalid token")
        if user.disabled:
            raise UnauthorizedError("This account is disabled")
        if user.token_version != version:
            raise UnauthorizedError("This session has ended: it was logged out, or the password was changed")
        return _user_out(user)
