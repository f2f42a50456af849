"""Redis, optional: the answer cache and the question-embedding cache of one backend process.

``REDIS_URL`` unset: ``NoCache``, which never finds anything and keeps nothing, so everything
works exactly as without Redis. Set: ``RedisAnswerCache`` over ``redis.asyncio``. Redis is
never a reason for an error: unreachable at start, down mid-request or slow past
``REDIS_TIMEOUT_S``, a call answers "not found" (or keeps nothing), counts
``sextant_cache_errors_total``, logs a warning at most once a minute, and Redis is left alone
for ``PAUSE_S`` before the next try (a black-holed host would otherwise cost a timeout per call).

Keys: ``<prefix>answer:<connection id>:<sha256 of the key's parts>`` and
``<prefix>emb:<sha256 of model and text>``. What goes into an answer's key is the caller's
(``services.answer_keeper``); this module only stores bytes under a TTL.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from backend.components.metrics import Metrics
from backend.config import CacheSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")
WARN_EVERY_S = 60.0
PAUSE_S = 5.0


def digest(*parts: str) -> str:
    """A key part from free text: the sha256 of the parts, separated so ("ab", "c") != ("a", "bc")."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


class AnswerCache(Protocol):
    """What the ask flow and search read and write; ``enabled`` is False without Redis."""

    @property
    def enabled(self) -> bool: ...

    async def get_answer(self, connection_key: str, key: str) -> bytes | None: ...

    async def put_answer(self, connection_key: str, key: str, value: bytes) -> None: ...

    async def get_embedding(self, model: str, text: str) -> list[float] | None: ...

    async def put_embedding(self, model: str, text: str, vector: list[float]) -> None: ...

    async def aclose(self) -> None: ...


class NoCache:
    """No Redis configured: nothing is found, nothing is kept."""

    enabled = False

    async def get_answer(self, connection_key: str, key: str) -> bytes | None:
        return None

    async def put_answer(self, connection_key: str, key: str, value: bytes) -> None:
        return None

    async def get_embedding(self, model: str, text: str) -> list[float] | None:
        return None

    async def put_embedding(self, model: str, text: str, vector: list[float]) -> None:
        return None

    async def aclose(self) -> None:
        return None


def _raw(value: bytes | str | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def _pack(vector: list[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


def _unpack(raw: bytes) -> list[float] | None:
    if len(raw) % 4:
        return None  # not ours: a miss
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


class RedisAnswerCache:
    enabled = True

    def __init__(self, url: str, settings: CacheSettings, metrics: Metrics | None = None):
        # No retries and short timeouts: a cache that is slow to fail is worse than none.
        self._redis = aioredis.Redis.from_url(
            url,
            socket_timeout=settings.redis_timeout_s,
            socket_connect_timeout=settings.redis_timeout_s,
            retry=Retry(NoBackoff(), 0),
            decode_responses=False,
        )
        self._prefix = settings.redis_key_prefix
        self._answer_ttl = settings.answer_cache_ttl_s
        self._embedding_ttl = settings.embedding_cache_ttl_s
        self._metrics = metrics
        self._last_warning = -WARN_EVERY_S
        self._paused_until = 0.0

    async def _call(self, cache: str, operation: str, call: Callable[[], Awaitable[T]]) -> T | None:
        """``call()``, or None when Redis failed it (counted, warned once a minute, then paused)."""
        now = time.monotonic()
        if now < self._paused_until:
            return None
        try:
            return await call()
        except (RedisError, OSError, TimeoutError) as exc:
            if self._metrics is not None:
                self._metrics.cache_errors.labels(cache).inc()
            self._paused_until = time.monotonic() + PAUSE_S
            if now - self._last_warning >= WARN_EVERY_S:
                self._last_warning = now
                # The exception's class only: its text can carry the URL (and its password).
                logger.warning(
                    "Redis %s failed (%s): the %s cache is skipped for now", operation, type(exc).__name__, cache
                )
            return None

    def _count(self, cache: str, result: str) -> None:
        if self._metrics is not None:
            self._metrics.cache_lookups.labels(cache, result).inc()

    def _answer_key(self, connection_key: str, key: str) -> str:
        return f"{self._prefix}answer:{connection_key}:{key}"

    def _embedding_key(self, model: str, text: str) -> str:
        return f"{self._prefix}emb:{digest(model, text)}"

    async def get_answer(self, connection_key: str, key: str) -> bytes | None:
        name = self._answer_key(connection_key, key)
        found = _raw(await self._call("answer", "GET", lambda: self._redis.get(name)))
        self._count("answer", "hit" if found is not None else "miss")
        return found

    async def put_answer(self, connection_key: str, key: str, value: bytes) -> None:
        name = self._answer_key(connection_key, key)
        await self._call("answer", "SET", lambda: self._redis.set(name, value, ex=self._answer_ttl))

    async def get_embedding(self, model: str, text: str) -> list[float] | None:
        name = self._embedding_key(model, text)
        raw = _raw(await self._call("embedding", "GET", lambda: self._redis.get(name)))
        vector = _unpack(raw) if raw else None
        self._count("embedding", "hit" if vector else "miss")
        return vector

    async def put_embedding(self, model: str, text: str, vector: list[float]) -> None:
        name, value = self._embedding_key(model, text), _pack(vector)
        await self._call("embedding", "SET", lambda: self._redis.set(name, value, ex=self._embedding_ttl))

    async def aclose(self) -> None:
        with contextlib.suppress(RedisError, OSError):  # closing a connection to a Redis that went away
            await self._redis.aclose()


def build_answer_cache(settings: CacheSettings, metrics: Metrics | None = None) -> AnswerCache:
    """``RedisAnswerCache`` when ``REDIS_URL`` is set, else ``NoCache``. Connects lazily: an
    unreachable Redis at start is a warning at the first call, not a failed start."""
    if settings.redis_url is None or not settings.redis_url.get_secret_value():
        return NoCache()
    return RedisAnswerCache(settings.redis_url.get_secret_value(), settings, metrics)
