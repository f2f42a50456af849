"""The Redis adapter alone, against the machine's Redis: what it keeps and for how long, the
embedding round trip, and a Redis that is not there (unreachable from the start): no error,
a miss, one warning a minute without the URL's password, counted in the metrics."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator

import pytest
import redis
from pydantic import SecretStr

from backend.components import answer_cache
from backend.components.answer_cache import NoCache, RedisAnswerCache, build_answer_cache
from backend.components.metrics import Metrics
from backend.config import CacheSettings
from tests.redis_proxy import flush_prefix, keys_under, redis_or_skip

PREFIX = f"test-adapter-{uuid.uuid4().hex[:8]}:"


@pytest.fixture(scope="module")
def redis_client() -> Iterator[redis.Redis]:
    client = redis_or_skip()
    yield client
    flush_prefix(client, PREFIX)


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


def _sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return value or 0.0


def test_without_redis_url_there_is_no_cache() -> None:
    assert isinstance(build_answer_cache(CacheSettings()), NoCache)
    assert isinstance(build_answer_cache(CacheSettings(redis_url=SecretStr(""))), NoCache)
    assert isinstance(build_answer_cache(CacheSettings(redis_url=SecretStr("redis://127.0.0.1:1/0"))), RedisAnswerCache)


async def test_no_cache_finds_nothing_and_keeps_nothing() -> None:
    cache = NoCache()
    await cache.put_answer("c", "k", b"x")
    await cache.put_embedding("m", "t", [1.0])
    assert await cache.get_answer("c", "k") is None and await cache.get_embedding("m", "t") is None
    assert cache.enabled is False


async def test_answers_and_embeddings_round_trip_with_their_ttl(redis_client: redis.Redis) -> None:
    settings = CacheSettings(
        redis_url=SecretStr("redis://127.0.0.1:6379/0"),
        redis_key_prefix=PREFIX,
        answer_cache_ttl_s=120,
        embedding_cache_ttl_s=600,
    )
    metrics = Metrics()
    cache = RedisAnswerCache("redis://127.0.0.1:6379/0", settings, metrics)
    try:
        assert await cache.get_answer("conn-1", "k") is None
        await cache.put_answer("conn-1", "k", b'{"answer": 1}')
        assert await cache.get_answer("conn-1", "k") == b'{"answer": 1}'
        assert await cache.get_answer("conn-2", "k") is None  # another connection: another key
        vector = [0.25, -1.5, 3.0]
        await cache.put_embedding("all-MiniLM-L6-v2", "How many films?", vector)
        assert await cache.get_embedding("all-MiniLM-L6-v2", "How many films?") == vector
        assert await cache.get_embedding("another-model", "How many films?") is None
    finally:
        await cache.aclose()
    keys = keys_under(redis_client, PREFIX)
    assert f"{PREFIX}answer:conn-1:k" in keys and any(k.startswith(f"{PREFIX}emb:") for k in keys)
    assert 0 < redis_client.ttl(f"{PREFIX}answer:conn-1:k") <= 120
    emb = next(k for k in keys if k.startswith(f"{PREFIX}emb:"))
    assert 120 < redis_client.ttl(emb) <= 600
    assert _sample(metrics, "sextant_cache_lookups_total", cache="answer", result="hit") == 1
    assert _sample(metrics, "sextant_cache_lookups_total", cache="answer", result="miss") == 2
    assert _sample(metrics, "sextant_cache_errors_total", cache="answer") == 0


async def test_an_unreachable_redis_is_a_miss_a_warning_a_minute_and_a_metric(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"redis://:hunter2-secret@127.0.0.1:{_dead_port()}/0"
    metrics = Metrics()
    cache = build_answer_cache(CacheSettings(redis_url=SecretStr(url), redis_key_prefix=PREFIX), metrics)
    monkeypatch.setattr(answer_cache, "PAUSE_S", 0.0)  # every call tries Redis again
    caplog.set_level(logging.WARNING, logger=answer_cache.__name__)
    try:
        for _ in range(3):
            assert await cache.get_answer("c", "k") is None
            await cache.put_answer("c", "k", b"x")
            assert await cache.get_embedding("m", "t") is None
            await cache.put_embedding("m", "t", [1.0])
    finally:
        await cache.aclose()
    assert _sample(metrics, "sextant_cache_errors_total", cache="answer") == 6
    assert _sample(metrics, "sextant_cache_errors_total", cache="embedding") == 6
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "skipped" in warnings[0].getMessage()
    assert "hunter2" not in caplog.text


async def test_after_a_failure_redis_is_left_alone_for_a_while() -> None:
    metrics = Metrics()
    cache = build_answer_cache(
        CacheSettings(redis_url=SecretStr(f"redis://127.0.0.1:{_dead_port()}/0"), redis_key_prefix=PREFIX), metrics
    )
    try:
        for _ in range(5):
            assert await cache.get_answer("c", "k") is None
    finally:
        await cache.aclose()
    assert _sample(metrics, "sextant_cache_errors_total", cache="answer") == 1  # then paused: no more tries
