"""Prometheus metrics of one backend process, in a registry of its own (tests build many apps).

Most series move where the event happens; the store's connection pool and the data directory's
disk are read at scrape time (``watch_store``), and the embedding service's health is probed by
the ``/metrics`` route itself. ``deploy/monitoring/alerts.yml`` alerts on these names.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.pool import Pool, QueuePool

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class _Response(Protocol):
    """What ``observe_response`` needs of a Starlette response (a component knows no HTTP framework)."""

    status_code: int


class QueueStateLike(Protocol):
    """What the metrics read of the indexing queue (``services.job_queue.QueueState``)."""

    @property
    def pending(self) -> int: ...
    @property
    def running(self) -> int: ...
    @property
    def oldest_due_s(self) -> float: ...


class StoreCollector(Collector):
    """The store's connection pool and the data directory's disk, read when Prometheus scrapes."""

    def __init__(self, pool: Pool, data_dir: Path):
        self._pool = pool
        self._data_dir = data_dir

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        pool = self._pool
        if isinstance(pool, QueuePool):
            yield GaugeMetricFamily(
                "sextant_store_pool_checked_out", "Store connections in use", value=pool.checkedout()
            )
            overflow = int(getattr(pool, "_max_overflow", 0))
            if overflow >= 0:  # -1: no limit, so nothing to be exhausted
                yield GaugeMetricFamily(
                    "sextant_store_pool_capacity",
                    "Store connections the pool may open (pool size plus overflow)",
                    value=pool.size() + overflow,
                )
        try:
            usage = shutil.disk_usage(self._data_dir)
        except OSError:  # not created yet: nothing to report, not an error
            return
        yield GaugeMetricFamily(
            "sextant_data_dir_free_bytes", "Free bytes on the data directory's filesystem", value=usage.free
        )
        yield GaugeMetricFamily(
            "sextant_data_dir_size_bytes", "Size of the data directory's filesystem", value=usage.total
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "sextant_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "sextant_http_request_seconds",
            "HTTP request latency by route, until the last byte of the body (streams included)",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.index_jobs = Counter("sextant_index_jobs_total", "Indexing jobs by outcome", ["status"], registry=r)
        self.index_job_seconds = Histogram(
            "sextant_index_job_seconds", "Duration of indexing jobs", buckets=LATENCY_BUCKETS, registry=r
        )
        self.llm_seconds = Histogram(
            "sextant_llm_request_seconds", "LLM latency by call", ["call"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.llm_tokens = Counter("sextant_llm_tokens_total", "Tokens the LLM produced", ["call"], registry=r)
        self.llm_errors = Counter(
            "sextant_llm_errors_total",
            "LLM calls that failed, by call and reason (llm_unavailable, llm_timeout, model_missing)",
            ["call", "reason"],
            registry=r,
        )
        self.guard_refusals = Counter(
            "sextant_guard_refusals_total", "Queries the guard refused", ["language"], registry=r
        )
        self.embedding_batches = Counter("sextant_embedding_batches_total", "Batches sent to embed", registry=r)
        self.embedding_texts = Counter("sextant_embedding_texts_total", "Texts sent to embed", registry=r)
        self.cache_lookups = Counter(
            "sextant_cache_lookups_total",
            "Redis cache lookups by cache (answer, embedding) and result (hit, miss)",
            ["cache", "result"],
            registry=r,
        )
        self.cache_errors = Counter(
            "sextant_cache_errors_total",
            "Redis calls that failed or timed out (the request went on without the cache), by cache",
            ["cache"],
            registry=r,
        )
        self.dependency_up = Gauge(
            "sextant_dependency_up",
            "1 when the dependency answered its health check at the last scrape, else 0",
            ["dependency"],
            registry=r,
        )

        self.index_queue_jobs = Gauge(
            "sextant_index_queue_jobs",
            "Indexing jobs in the store's queue (every replica's) at the last scrape, by status (pending, running)",
            ["status"],
            registry=r,
        )
        self.index_queue_oldest_due = Gauge(
            "sextant_index_queue_oldest_due_seconds",
            "How long the oldest due pending indexing job had waited for a worker at the last scrape (0: none)",
            registry=r,
        )
        for queued in ("pending", "running"):
            self.index_queue_jobs.labels(queued)

        # Series that alerts take increase() of exist from the start at 0: a counter first seen
        # at 1 would hide its first event from increase() and rate().
        for status in ("succeeded", "failed", "retried", "interrupted"):
            self.index_jobs.labels(status)
        for cache in ("answer", "embedding"):
            self.cache_errors.labels(cache)
        for call in ("generate", "answer"):
            for reason in ("llm_unavailable", "llm_timeout", "model_missing"):
                self.llm_errors.labels(call, reason)

    def watch_store(self, pool: Pool, data_dir: Path) -> None:
        """Report the pool's use and the data directory's free space at every scrape."""
        self.registry.register(StoreCollector(pool, data_dir))

    async def probe(self, dependency: str, check: Callable[[], Awaitable[bool]]) -> None:
        """Set ``sextant_dependency_up`` from a health check; a check that raises counts as down,
        so that a scrape still succeeds (a failed scrape would read as the backend down)."""
        try:
            healthy = await check()
        except Exception:  # whatever broke, the dependency did not answer well
            healthy = False
        self.dependency_up.labels(dependency).set(1 if healthy else 0)

    async def read_queue(self, read: Callable[[], Awaitable[QueueStateLike]]) -> None:
        """Set the queue gauges from the store; when it does not answer they keep their last
        values (the store's outage has its own signals: /health, 503s)."""
        try:
            state = await read()
        except Exception:  # a scrape must succeed whatever the store does
            return
        self.index_queue_jobs.labels("pending").set(state.pending)
        self.index_queue_jobs.labels("running").set(state.running)
        self.index_queue_oldest_due.set(state.oldest_due_s)

    def observe_response(self, method: str, route: str, response: _Response, started: float) -> None:
        """Count the response now and time it when its body ends (a question's stream is timed
        to its last event, not to its headers)."""
        self.requests.labels(method, route, str(response.status_code)).inc()
        histogram = self.request_seconds.labels(method, route)
        body: AsyncIterable[Any] | None = getattr(response, "body_iterator", None)
        if body is None:
            histogram.observe(time.perf_counter() - started)
            return

        async def timed() -> AsyncIterator[Any]:
            try:
                async for chunk in body:
                    yield chunk
            finally:
                histogram.observe(time.perf_counter() - started)

        setattr(response, "body_iterator", timed())  # noqa: B010 - not every response has one

    def render(self) -> bytes:
        return generate_latest(self.registry)
