"""The answer cache's hit against a miss: ``POST /api/query`` on Sakila, same process, same questions.

Real backend (in-process ASGI), real embedded store, real embedding service process, real Sakila,
the machine's Redis on 127.0.0.1:6379 (a key prefix of its own, deleted at the end); only the LLM
is the scripted Ollama-speaking server, answering at once. For each question in each round:
a cold miss (no key of this run in Redis: the question is embedded and the model asked), a warm
miss (the answer key deleted, the question's embedding still cached) and a hit (asked again).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections import deque
from typing import Any

import redis
from pydantic import SecretStr

from backend.config import CacheSettings, LLMSettings, SecuritySettings
from bench.bench_ask import QUESTIONS
from bench.common import USER_PG_ADMIN, bench_app, load_samples, percentile, scripted_ollama, wait_synced
from tests.fake_ollama import OllamaScript

ROUNDS = 10
REDIS_URL = "redis://127.0.0.1:6379/0"


def _delete(client: redis.Redis, pattern: str) -> None:
    keys = list(client.scan_iter(match=pattern, count=1000))
    if keys:
        client.delete(*keys)


def _stats(values: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 0.5), 2), "p95": round(percentile(values, 0.95), 2)}


def run() -> dict[str, Any]:
    sakila_url = load_samples.load(USER_PG_ADMIN, "sakila")
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    plain = redis.Redis.from_url(REDIS_URL)
    try:
        plain.ping()
    except redis.RedisError as exc:
        return {"skipped": f"no Redis at {REDIS_URL} ({type(exc).__name__})"}
    script = OllamaScript(answer="The rows show the answer.")
    timings: dict[str, list[float]] = {"cold_miss": [], "warm_miss": [], "hit": []}
    try:
        with (
            scripted_ollama(script) as ollama_url,
            bench_app(
                llm=LLMSettings(ollama_url=ollama_url, ollama_model="llama3.2"),
                security=SecuritySettings(rate_questions_per_minute=100_000),
                cache=CacheSettings(redis_url=SecretStr(REDIS_URL), redis_key_prefix=prefix),
            ) as (client, headers),
        ):
            cid = client.post(
                "/api/connections", json={"name": "sakila", "kind": "postgres", "url": sakila_url}, headers=headers
            ).json()["id"]
            wait_synced(client, headers, cid)

            def ask(question: str, sql: str | None) -> tuple[float, dict[str, Any]]:
                script.queries = deque([json.dumps({"sql": sql})] if sql else [])
                t0 = time.perf_counter()
                body: dict[str, Any] = client.post(
                    "/api/query", json={"connection_id": cid, "question": question}, headers=headers
                ).json()
                return (time.perf_counter() - t0) * 1000, body

            for round_no in range(ROUNDS + 1):
                for question, sql in QUESTIONS:
                    _delete(plain, f"{prefix}*")
                    cold, body = ask(question, sql)
                    assert body["cached_at"] is None and body["executed"] and body["error"] is None, body
                    _delete(plain, f"{prefix}answer:*")
                    warm, body = ask(question, sql)
                    assert body["cached_at"] is None, body
                    requests = len(script.requests)
                    hit, body = ask(question, None)
                    assert body["cached_at"] is not None and len(script.requests) == requests, body
                    if round_no == 0:
                        continue  # warm-up: pools, caches, first connections
                    timings["cold_miss"].append(cold)
                    timings["warm_miss"].append(warm)
                    timings["hit"].append(hit)
    finally:
        _delete(plain, f"{prefix}*")
        plain.close()
    hit50 = percentile(timings["hit"], 0.5)
    return {
        "questions": len(timings["hit"]),
        "request_ms": {k: _stats(v) for k, v in timings.items()},
        "miss_over_hit_p50": {
            "cold_miss": round(percentile(timings["cold_miss"], 0.5) / hit50, 2),
            "warm_miss": round(percentile(timings["warm_miss"], 0.5) / hit50, 2),
        },
    }


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()
