"""Backend memory while answering a huge result: ``SELECT repeat('x', 5000000) FROM generate_series(1, 200)``.

Real backend (in-process ASGI, so this process is the backend), real embedded store, real
embedding service process, real Sakila; the LLM is the scripted Ollama-speaking server.
RSS is sampled every 5 ms while the question runs; "idle" is the RSS after a warm-up
question. The same-process baseline is what the runner did before the byte budget: fetch
201 rows of the same statement through a server-side cursor and keep them, measured after
the bounded run (RSS rarely goes back down, so the order favours the baseline, not us).
"""

from __future__ import annotations

import json
import sys
from collections import deque
from typing import Any

import psutil
import psycopg

from backend.config import LLMSettings
from backend.engines.base import json_value
from bench.common import USER_PG_ADMIN, bench_app, load_samples, scripted_ollama, wait_synced
from tests.fake_ollama import OllamaScript
from tests.memory import peak_rss_during

HUGE = "SELECT repeat('x', 5000000) AS big FROM generate_series(1, 200)"
MB = 1024 * 1024


def unbounded_fetch(url: str) -> int:
    with psycopg.connect(url) as conn, conn.cursor(name="old_runner") as cursor:
        cursor.execute(HUGE)
        rows = [[json_value(v) for v in row] for row in cursor.fetchmany(201)]
    return sum(len(r[0]) for r in rows)


def run() -> dict[str, Any]:
    sakila_url = load_samples.load(USER_PG_ADMIN, "sakila")
    script = OllamaScript(answer="The rows show the answer.")
    with (
        scripted_ollama(script) as ollama_url,
        bench_app(llm=LLMSettings(ollama_url=ollama_url, ollama_model="llama3.2")) as (client, headers),
    ):
        cid = client.post(
            "/api/connections", json={"name": "sakila", "kind": "postgres", "url": sakila_url}, headers=headers
        ).json()["id"]
        wait_synced(client, headers, cid)

        def ask(sql: str) -> Any:
            script.queries = deque([json.dumps({"sql": sql})])
            return client.post("/api/query", json={"connection_id": cid, "question": "q"}, headers=headers)

        ask("SELECT count(*) FROM film")
        idle = psutil.Process().memory_info().rss
        peak, response = peak_rss_during(lambda: ask(HUGE))
        body = response.json()
        assert body["executed"] and body["truncated"], body
        baseline_peak, fetched = peak_rss_during(lambda: unbounded_fetch(sakila_url))
    bounded = (peak - idle) / MB
    unbounded = (baseline_peak - idle) / MB
    return {
        "idle_rss_mb": round(idle / MB, 1),
        "bounded_peak_above_idle_mb": round(bounded, 1),
        "rows_returned": body["row_count"],
        "response_bytes": len(response.content),
        "truncation": body["truncation"],
        "baseline_unbounded_fetch_peak_above_idle_mb": round(unbounded, 1),
        "baseline_bytes_fetched": fetched,
        "ratio_bounded_to_unbounded": round(bounded / unbounded, 3) if unbounded > 0 else None,
        "target": "< 300 MB above idle",
    }


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()
