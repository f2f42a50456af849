"""Time per step of ``POST /api/query`` with the scripted Ollama, and the overhead outside the LLM.

Real backend (in-process ASGI), real embedded store, real embedding service process,
real Sakila database; only the LLM is the scripted Ollama-speaking server (it answers at
once, so its time is nearly all HTTP). Each question's SQL is also run directly with
psycopg right before it, as the same-process baseline. "Outside the LLM" is the whole
request minus the time spent waiting for the two LLM calls (generate, answer).
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from typing import Any

import psycopg

from backend.config import LLMSettings, SecuritySettings
from bench.common import USER_PG_ADMIN, bench_app, load_samples, percentile, scripted_ollama, wait_synced
from tests.fake_ollama import OllamaScript

QUESTIONS = [
    ("Which customers rented the most films?",
     "SELECT c.first_name, c.last_name, count(*) AS n FROM customer c JOIN rental r"
     " ON r.customer_id = c.customer_id GROUP BY 1, 2 ORDER BY n DESC LIMIT 10"),
    ("How many films are in each category?",
     "SELECT cat.name, count(*) FROM category cat JOIN film_category fc ON fc.category_id = cat.category_id"
     " GROUP BY cat.name ORDER BY 2 DESC"),
    ("Total payments per staff member",
     "SELECT s.first_name, sum(p.amount) FROM staff s JOIN payment p ON p.staff_id = s.staff_id GROUP BY 1"),
    ("Which cities are in Canada?",
     "SELECT ci.city FROM city ci JOIN country co ON co.country_id = ci.country_id WHERE co.country = 'Canada'"),
    ("Revenue per month",
     "SELECT date_trunc('month', payment_date) AS month, sum(amount) FROM payment GROUP BY 1 ORDER BY 1"),
]  # fmt: skip
ROUNDS = 8


def run() -> dict[str, Any]:
    sakila_url = load_samples.load(USER_PG_ADMIN, "sakila")
    script = OllamaScript(answer="The rows show the answer.")
    steps: dict[str, list[float]] = {k: [] for k in ("retrieve", "generate", "validate", "execute", "answer")}
    totals: list[float] = []
    outside: list[float] = []
    direct: list[float] = []
    with (
        scripted_ollama(script) as ollama_url,
        bench_app(
            llm=LLMSettings(ollama_url=ollama_url, ollama_model="llama3.2"),
            # 45 questions in well under a minute: the per-user limit has tests of its own.
            security=SecuritySettings(rate_questions_per_minute=100_000),
        ) as (client, headers),
    ):
        cid = client.post(
            "/api/connections", json={"name": "sakila", "kind": "postgres", "url": sakila_url}, headers=headers
        ).json()["id"]
        wait_synced(client, headers, cid)
        for round_no in range(ROUNDS + 1):
            for question, sql in QUESTIONS:
                t0 = time.perf_counter()
                with psycopg.connect(sakila_url) as conn:
                    conn.execute(sql).fetchall()
                direct_ms = (time.perf_counter() - t0) * 1000
                script.queries = deque([json.dumps({"sql": sql})])
                t0 = time.perf_counter()
                body = client.post(
                    "/api/query", json={"connection_id": cid, "question": question}, headers=headers
                ).json()
                total_ms = (time.perf_counter() - t0) * 1000
                assert body["error"] is None and body["executed"], body
                if round_no == 0:
                    continue  # warm-up: caches, connection pools
                for step, value in body["timings"].items():
                    steps[step].append(value)
                totals.append(total_ms)
                outside.append(total_ms - body["timings"]["generate"] - body["timings"]["answer"])
                direct.append(direct_ms)
    return {
        "questions": len(totals),
        "steps_ms": {
            k: {"p50": round(percentile(v, 0.5), 1), "p95": round(percentile(v, 0.95), 1)} for k, v in steps.items()
        },
        "request_ms": {"p50": round(percentile(totals, 0.5), 1), "p95": round(percentile(totals, 0.95), 1)},
        "outside_llm_ms": {"p50": round(percentile(outside, 0.5), 1), "p95": round(percentile(outside, 0.95), 1)},
        "direct_sql_ms": {"p50": round(percentile(direct, 0.5), 1), "p95": round(percentile(direct, 0.95), 1)},
        "target": "outside the LLM < 150 ms per question",
    }


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()
