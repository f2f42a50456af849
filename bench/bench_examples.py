"""(k) What verified examples add to a question's retrieval at 10,000 examples on one connection.

Everything is real: a fresh embedded PostgreSQL + pgvector store, the embedding service in
its own process (MiniLM), the real app in-process, Sakila on the machine's PostgreSQL. 10,000
synthetic verified examples are built from Sakila's own table and column names (templates x
names x numbers, all different questions), embedded by the service in batches and inserted in
one statement per 1,000 rows. Then, question by question and alternating, the ask path's
retrieve step runs without examples (embed the question, then ``SearchService.retrieve``: the
baseline) and with them as ``AskService.run`` does it (the exact-twin lookup while the question
is embedded, ``ExampleRetriever.similar`` while retrieval runs). The parts are also timed alone
with the embedding left out: retrieval, the similar-examples query, the exact lookup.

``.venv/bin/python -m bench.bench_examples [--examples N] [--questions Q] [--json OUT]``
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

from sqlalchemy import text

from backend.components.question_text import normalise_question
from backend.components.vector_store import vector_literal
from backend.engines.postgres.connector import PostgresConnector
from backend.services.example_retrieval import ExampleRetriever
from bench.common import USER_PG_ADMIN, bench_app, load_samples, percentile, wait_synced

EMBED_BATCH = 256
INSERT_BATCH = 1000
TEMPLATES = [
    "how many {table} rows have {column} above {n}",
    "list the {column} of every {table} number {n}",
    "average {column} per {other} in {table} for group {n}",
    "which {table} has the highest {column} in week {n}",
    "top {n} {table} by {column}",
    "count {table} grouped by {column} since day {n}",
    "show {table} where {column} is missing, page {n}",
    "total {column} of {table} joined with {other}, case {n}",
]
# The questions asked: everyday Sakila questions and variations, none of them a stored example.
ASKED = [
    "which customers rented the most films",
    "how many films are in each category",
    "total payments received per staff member",
    "list the cities in Canada",
    "films that were never rented",
    "average rental duration per film rating",
    "stores and their managers",
    "revenue per store by month",
    "which actors played in the most films",
    "customers living in each country",
]


def synthetic_questions(tables: dict[str, list[str]], count: int) -> list[str]:
    names = sorted(tables)
    out: list[str] = []
    n = 0
    while len(out) < count:
        for i, table in enumerate(names):
            columns = tables[table] or ["id"]
            column = columns[n % len(columns)]
            other = names[(i + n + 1) % len(names)]
            template = TEMPLATES[(i + n) % len(TEMPLATES)]
            out.append(
                template.format(table=table.replace("_", " "), column=column.replace("_", " "), other=other, n=n)
            )
            if len(out) == count:
                break
        n += 1
    return out


def asked_questions(count: int) -> list[str]:
    suffixes = ["", " please", " in 2005", " this year", " for store 1"]
    return [ASKED[i % len(ASKED)] + suffixes[(i // len(ASKED)) % len(suffixes)] for i in range(count)]


async def _fill(context: Any, connection_id: uuid.UUID, questions: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    vectors: list[list[float]] = []
    for start in range(0, len(questions), EMBED_BATCH):
        vectors.extend(await context.embedder.embed(questions[start : start + EMBED_BATCH]))
    embed_s = time.perf_counter() - started
    started = time.perf_counter()
    async with context.engine.begin() as conn:
        for start in range(0, len(questions), INSERT_BATCH):
            rows = []
            for i in range(start, min(len(questions), start + INSERT_BATCH)):
                rows.append(
                    {
                        "id": uuid.uuid4(),
                        "cid": connection_id,
                        "q": questions[i],
                        "norm": normalise_question(questions[i]),
                        "query": f"SELECT {i}",
                        "emb": vector_literal(vectors[i]),
                    }
                )
            await conn.execute(
                text(
                    "INSERT INTO verified_examples (id, connection_id, question, question_norm, query, language,"
                    " used_objects, source, verified_by_email, embedding)"
                    " VALUES (:id, :cid, :q, :norm, :query, 'sql', '[\"public.film\"]', 'import',"
                    " 'bench@example.com', CAST(:emb AS vector))"
                ),
                rows,
            )
    insert_s = time.perf_counter() - started
    async with context.engine.connect() as conn:
        await conn.execute(text("ANALYZE verified_examples"))
        await conn.commit()
    return {"embed_s": round(embed_s, 1), "insert_s": round(insert_s, 1)}


async def _measure(context: Any, owner: uuid.UUID, connection_id: uuid.UUID, questions: list[str]) -> dict[str, Any]:
    settings = context.settings.query
    retriever = ExampleRetriever(context.engine)
    target = await context.connections.ask_target(owner, connection_id)
    top_k = settings.ask_default_top_k

    async def similar(question: str, vector: list[float]) -> list[Any]:
        return await retriever.similar(
            connection_id,
            question,
            vector,
            limit=settings.ask_examples,
            floor=settings.ask_example_floor,
            candidates=settings.ask_example_candidates,
        )

    async def baseline(question: str) -> None:
        """The retrieve step without examples: embed the question, then retrieval."""
        vector = await context.search.embed(question)
        await context.search.retrieve(connection_id, target.index, question, top_k, vector)

    async def with_examples(question: str) -> list[Any]:
        """The retrieve step as ``AskService.run`` does it: the verified twin is looked up while
        the question is embedded, the similar examples are found while retrieval runs."""
        vector, _ = await asyncio.gather(
            context.search.embed(question), retriever.exact(connection_id, normalise_question(question))
        )
        _, found = await asyncio.gather(
            context.search.retrieve(connection_id, target.index, question, top_k, vector), similar(question, vector)
        )
        return list(found)

    for question in questions[:10]:  # warm-up: caches, the store's pages, the model
        await baseline(question)
        await with_examples(question)
    vectors = await context.embedder.embed(questions)
    base: list[float] = []
    full: list[float] = []
    search_only: list[float] = []
    alone: list[float] = []
    exact: list[float] = []
    with_found = 0
    for question, vector in zip(questions, vectors, strict=True):
        t0 = time.perf_counter()
        await baseline(question)
        base.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        with_found += bool(await with_examples(question))
        full.append((time.perf_counter() - t0) * 1000)
        # The parts, with the embedding left out.
        t0 = time.perf_counter()
        await context.search.retrieve(connection_id, target.index, question, top_k, vector)
        search_only.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        await similar(question, vector)
        alone.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        await retriever.exact(connection_id, normalise_question(question))
        exact.append((time.perf_counter() - t0) * 1000)

    def p(values: list[float], q: float) -> float:
        return round(percentile(values, q), 2)

    return {
        "questions": len(questions),
        "retrieve_step_without_examples_p50_ms": p(base, 0.5),
        "retrieve_step_without_examples_p95_ms": p(base, 0.95),
        "retrieve_step_with_examples_p50_ms": p(full, 0.5),
        "retrieve_step_with_examples_p95_ms": p(full, 0.95),
        "added_p50_ms": round(p(full, 0.5) - p(base, 0.5), 2),
        "added_p95_ms": round(p(full, 0.95) - p(base, 0.95), 2),
        "search_alone_p50_ms": p(search_only, 0.5),
        "search_alone_p95_ms": p(search_only, 0.95),
        "similar_examples_alone_p50_ms": p(alone, 0.5),
        "similar_examples_alone_p95_ms": p(alone, 0.95),
        "exact_lookup_alone_p50_ms": p(exact, 0.5),
        "exact_lookup_alone_p95_ms": p(exact, 0.95),
        "questions_given_an_example": with_found,
    }


def run(examples: int = 10_000, questions: int = 200) -> dict[str, Any]:
    sakila_url = load_samples.load(USER_PG_ADMIN, "sakila")
    snapshot = asyncio.run(PostgresConnector(sakila_url).introspect())
    tables = {o.name: [c.name for c in o.columns] for o in snapshot.objects}
    stored = synthetic_questions(tables, examples)
    with bench_app() as (client, headers):
        owner = uuid.UUID(client.get("/api/auth/me", headers=headers).json()["id"])
        created = client.post(
            "/api/connections", json={"name": "sakila", "kind": "postgres", "url": sakila_url}, headers=headers
        ).json()
        wait_synced(client, headers, created["id"])
        context = client.app.state.context  # type: ignore[attr-defined]
        connection_id = uuid.UUID(created["id"])
        fill = client.portal.call(_fill, context, connection_id, stored)  # type: ignore[union-attr]
        result = client.portal.call(_measure, context, owner, connection_id, asked_questions(questions))  # type: ignore[union-attr]
    return {
        "examples": examples,
        "distinct_questions": len(set(map(normalise_question, stored))),
        **fill,
        **result,
        "target": "example retrieval adds < 10 ms p95 to a question at 10,000 examples",
    }


if __name__ == "__main__":

    def option(name: str, default: int) -> int:
        return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default

    out = run(option("--examples", 10_000), option("--questions", 200))
    text_out = json.dumps(out, indent=2)
    if "--json" in sys.argv:
        with open(sys.argv[sys.argv.index("--json") + 1], "w") as f:
            f.write(text_out + "\n")
    print(text_out)
