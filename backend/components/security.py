"""Password hashing (bcrypt) and access tokens (PyJWT, HS256 with expiry)."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import bcrypt
import jwt

from backend.components.errors import InvalidTokenError

# bcrypt reads only the first 72 bytes (bcrypt 5 raises on longer input): cut explicitly
# so that hashing and checking agree.
_BCRYPT_MAX_BYTES = 72


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode()[:_BCRYPT_MAX_BYTES], bcrypt.gensalt()).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:_BCRYPT_MAX_BYTES], password_hash.encode())
    except ValueError:
        return False


class PasswordHasher:
    """bcrypt off the event loop, at most ``workers`` hashes at a time.

    A bcrypt check costs a core for a quarter of a second. Run on the event loop, a login
    flood stalls every request of the process; here the flood waits in this pool's queue
    while the loop keeps serving everyone else. bcrypt releases the GIL while it hashes.
    """

    def __init__(self, workers: int):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bcrypt")

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, hash_password, password)

    async def verify(self, password: str, password_hash: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(self._pool, verify_password, password, password_hash)

    def close(self) -> None:
        """Drop queued work (its callers are gone with the process) and let running hashes finish."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class TokenIssuer:
    """Issues and checks bearer tokens whose subject is a user id."""

    def __init__(self, secret: str, algorithm: str, ttl: timedelta):
        self._secret = secret
        self._algorithm = algorithm
        self.ttl = ttl

    def issue(self, user_id: uuid.UUID, version: int = 0) -> str:
        now = datetime.now(UTC)
        claims = {"sub": str(user_id), "ver": version, "iat": now, "exp": now + self.ttl, "typ": "access"}
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

    def subject(self, token: str) -> tuple[uuid.UUID, int]:
        """Return the user id and token version of a valid token; raise ``InvalidTokenError`` otherwise."""
        try:
            claims = jwt.decode(token, self._secret, algorithms=[self._algorithm], options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError as exc:
            raise InvalidTokenError("Token expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidTokenError() from exc
        if claims.get("typ") != "access":
            raise InvalidTokenError()
        version = claims.get("ver", 0)
        if not isinstance(version, int):
            raise InvalidTokenError()
        try:
            return uuid.UUID(str(claims["sub"])), version
        except ValueError as exc:
            raise InvalidTokenError() from exc
