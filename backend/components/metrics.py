"""Prometheus metrics of one backend process, in a registry of its own (tests build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


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
            "HTTP request latency by route",
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
        self.guard_refusals = Counter(
            "sextant_guard_refusals_total", "Queries the guard refused", ["language"], registry=r
        )
        self.embedding_batches = Counter("sextant_embedding_batches_total", "Batches sent to embed", registry=r)
        self.embedding_texts = Counter("sextant_embedding_texts_total", "Texts sent to embed", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
