"""An evaluation of 200 questions on Sakila with the scripted Ollama, and its overhead outside the LLM.

Real backend (in-process ASGI), real embedded store, real embedding service process, real
Sakila database; only the LLM is the scripted Ollama-speaking server, answering each question
with its expected SQL at once. The evaluation set is the 30 questions of the tests
(``tests/fixtures/sakila_evaluation.jsonl``) and 170 generated from templates with different
values, 200 in all. The run's wall time is from ``POST .../evaluations`` to its status "done"
(polled every 50 ms). "Outside the LLM" per question: the run's wall time over 200, minus the
mean time of the LLM call (the ask's ``generate`` step: the scripted server's HTTP round trip).

Baseline in the same process, after the run: the same 200 questions through ``POST /api/query``
(the plain ask: retrieve, generate, guard, execute, answer, history) plus each expected query
through ``POST /api/query/run``, which is the work an evaluation does per question without its
bookkeeping; its "outside the LLM" is both requests minus the ask's generate and answer steps.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from backend.config import LLMSettings, SecuritySettings
from bench.common import USER_PG_ADMIN, bench_app, load_samples, percentile, scripted_ollama, wait_synced
from tests.fake_ollama import OllamaScript

ROOT = Path(__file__).resolve().parent.parent
SET_FILE = ROOT / "tests" / "fixtures" / "sakila_evaluation.jsonl"
QUESTIONS = 200
TEMPLATES = [
    ("How many films are longer than {n} minutes?", "SELECT count(*) FROM film WHERE length > {n}"),
    ("How many payments were above {n} cents?", "SELECT count(*) FROM payment WHERE amount * 100 > {n}"),
    ("What is the name of customer number {n}?", "SELECT first_name, last_name FROM customer WHERE customer_id = {n}"),
    ("How many rentals did customer {n} make?", "SELECT count(*) FROM rental WHERE customer_id = {n}"),
    (
        "Which films did actor number {n} play in?",
        "SELECT f.title FROM film f JOIN film_actor fa ON fa.film_id = f.film_id WHERE fa.actor_id = {n}",
    ),
]


def evaluation_set() -> list[dict[str, str]]:
    cases = [json.loads(line) for line in SET_FILE.read_text().splitlines() if line.strip()]
    n = 1
    while len(cases) < QUESTIONS:
        question, sql = TEMPLATES[len(cases) % len(TEMPLATES)]
        cases.append({"question": question.format(n=n * 7), "query": sql.format(n=n * 7)})
        n += 1
    return cases


def stats(values: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 0.5), 1), "p95": round(percentile(values, 0.95), 1)}


def run() -> dict[str, Any]:
    sakila_url = load_samples.load(USER_PG_ADMIN, "sakila")
    cases = evaluation_set()
    answers = {c["question"]: c["query"] for c in cases}

    def reply(body: dict[str, Any]) -> str | None:
        if body.get("stream"):
            return None
        users = [m["content"] for m in body["messages"] if m["role"] == "user"]
        return next((json.dumps({"sql": answers[u]}) for u in users if u in answers), None)

    script = OllamaScript(answer="The rows show the answer.", handler=reply)
    with (
        scripted_ollama(script) as ollama_url,
        bench_app(
            llm=LLMSettings(ollama_url=ollama_url, ollama_model="llama3.2"),
            security=SecuritySettings(rate_questions_per_minute=100_000),
        ) as (client, headers),
    ):
        cid = client.post(
            "/api/connections", json={"name": "sakila", "kind": "postgres", "url": sakila_url}, headers=headers
        ).json()["id"]
        wait_synced(client, headers, cid)
        content = "\n".join(json.dumps(c) for c in cases)
        imported = client.put(
            f"/api/connections/{cid}/evaluation-set", json={"format": "jsonl", "content": content}, headers=headers
        ).json()
        assert imported["added"] == QUESTIONS, imported
        # Warm-up: one ask (caches, pools, the model's first call).
        client.post("/api/query", json={"connection_id": cid, "question": cases[0]["question"]}, headers=headers)
        before = baseline(client, headers, cid, cases)

        t0 = time.perf_counter()
        run_id = client.post(f"/api/connections/{cid}/evaluations", json={}, headers=headers).json()["id"]
        while True:  # the light list, not the growing detail, so polling costs the run little
            runs = client.get(f"/api/connections/{cid}/evaluations", headers=headers).json()["runs"]
            if next(r for r in runs if r["id"] == run_id)["status"] not in ("pending", "running"):
                break
            time.sleep(0.05)
        wall_s = time.perf_counter() - t0
        body = client.get(f"/api/connections/{cid}/evaluations/{run_id}", headers=headers).json()
        assert body["status"] == "done" and body["correct"] == QUESTIONS, {k: body[k] for k in ("status", "error")}
        after = baseline(client, headers, cid, cases)
    steps = ("retrieve", "generate", "validate_ms", "execute", "total", "expected")
    timings = {k: [r["timings"][k] for r in body["results"]] for k in steps}
    per_question = wall_s * 1000 / QUESTIONS
    mean = {k: sum(v) / len(v) for k, v in timings.items()}
    return {
        "questions": QUESTIONS,
        "evaluation_wall_s": round(wall_s, 2),
        "evaluation_per_question_ms": round(per_question, 1),
        "evaluation_outside_llm_per_question_ms": round(per_question - mean["generate"], 1),
        "ask_in_evaluation_ms": stats(timings["total"]),
        "steps_ms": {k: stats(v) for k, v in timings.items() if k != "total"},
        "mean_ms": {k: round(v, 1) for k, v in mean.items()},
        "bookkeeping_per_question_ms": round(per_question - mean["total"] - mean["expected"], 1),
        "baseline_before": before,
        "baseline_after": after,
        "accuracy": body["accuracy"],
        "context_recall": body["context_recall"],
    }


def baseline(client: Any, headers: dict[str, str], cid: str, cases: list[dict[str, str]]) -> dict[str, Any]:
    """The same questions through the plain ask, and each expected query through /api/query/run."""
    outside: list[float] = []
    started = time.perf_counter()
    for case in cases:
        t = time.perf_counter()
        asked = client.post("/api/query", json={"connection_id": cid, "question": case["question"]}, headers=headers)
        client.post("/api/query/run", json={"connection_id": cid, "query": case["query"]}, headers=headers)
        total_ms = (time.perf_counter() - t) * 1000
        answer = asked.json()
        assert answer["executed"], answer
        outside.append(total_ms - answer["timings"]["generate"] - answer["timings"]["answer"])
    wall_s = time.perf_counter() - started
    return {
        "wall_s": round(wall_s, 2),
        "per_question_ms": round(wall_s * 1000 / len(cases), 1),
        "outside_llm_ms": stats(outside),
        "outside_llm_mean_ms": round(sum(outside) / len(outside), 1),
    }


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()
