"""(b) Indexing time for a generated schema (1,000 tables x 10 columns by default; issue 13
measures 10,000 tables in 20 schemas), and (c) search latency against a raw pgvector query
on the same store.

Everything is real: the machine's PostgreSQL holds the user databases, a fresh embedded
PostgreSQL 18 + pgvector is the store, the embedding service runs in its own process
with the bundled MiniLM model, and the backend is the real app (in-process ASGI).

(b) is the wall time from ``POST /api/connections`` to the job's ``succeeded``, plus
introspection alone, an unchanged re-check (``POST /sync {"mode": "check"}``: the catalog
hash only) and a full re-index where every embedding is reused.
(c) alternates, question by question, our retrieval (the pgvector query, then keyword,
name, value and namespace ranking in memory, fusion) and the raw query ``ORDER BY embedding <=> q LIMIT k``
with the same question vector; the question's embedding is excluded from both and
reported separately, as is the whole ``POST /search`` request.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from backend.components.vector_store import vector_literal
from backend.engines.postgres.connector import PostgresConnector
from bench.common import USER_PG_ADMIN, bench_app, load_samples, make_wide_database, percentile, wait_synced

PASSES = 3
K = 5
SAKILA_QUESTIONS = [
    "which customers rented films last month",
    "which actors played in the most films",
    "total payments received per staff member",
    "how many films are in each category",
    "list the cities in Canada",
    "films that were never rented",
    "average rental duration per film rating",
    "stores and their managers",
    "customers living in each country",
    "revenue per store by month",
]


def wide_questions(n: int, tables: int = 1000) -> list[str]:
    columns = ["attr 3 numeric", "attr 5 varchar", "attr 2 integer"]
    return [f"show the {columns[i % 3]} values of generated table {i * 37 % tables}" for i in range(n)]


def _latencies(client: TestClient, owner: uuid.UUID, cid: str, questions: list[str]) -> dict[str, Any]:
    context = client.app.state.context  # type: ignore[attr-defined]
    connection_id = uuid.UUID(cid)

    async def measure() -> dict[str, list[float]]:
        index = await context.connections.search_index(owner, connection_id)
        start = time.perf_counter()
        vectors = await context.embedder.embed(questions)
        embed_ms = (time.perf_counter() - start) * 1000 / len(questions)
        ours: list[float] = []
        raw: list[float] = []
        for _ in range(PASSES):
            for question, vector in zip(questions, vectors, strict=True):
                t0 = time.perf_counter()
                async with context.engine.connect() as conn:
                    rows = await conn.execute(
                        text(
                            "SELECT object_name, text FROM chunks WHERE connection_id = :cid"
                            " ORDER BY embedding <=> CAST(:q AS vector) LIMIT :k"
                        ),
                        {"cid": connection_id, "q": vector_literal(vector), "k": K},
                    )
                    rows.all()
                raw.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                await context.search.rank(connection_id, index, question, vector)
                ours.append((time.perf_counter() - t0) * 1000)
        return {"ours": ours, "raw": raw, "embed": [embed_ms]}

    result = client.portal.call(measure)  # type: ignore[union-attr]
    return {
        "questions": len(questions) * PASSES,
        "raw_p50_ms": round(percentile(result["raw"], 0.5), 2),
        "raw_p95_ms": round(percentile(result["raw"], 0.95), 2),
        "ours_p50_ms": round(percentile(result["ours"], 0.5), 2),
        "ours_p95_ms": round(percentile(result["ours"], 0.95), 2),
        "p50_ratio": round(percentile(result["ours"], 0.5) / percentile(result["raw"], 0.5), 2),
        "p95_ratio": round(percentile(result["ours"], 0.95) / percentile(result["raw"], 0.95), 2),
        "question_embedding_ms_each": round(result["embed"][0], 1),
    }


def _endpoint(client: TestClient, headers: dict[str, str], cid: str, questions: list[str]) -> dict[str, Any]:
    times = []
    for question in questions:
        t0 = time.perf_counter()
        response = client.post(f"/api/connections/{cid}/search", json={"query": question, "k": K}, headers=headers)
        response.raise_for_status()
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": round(percentile(times, 0.5), 1), "p95_ms": round(percentile(times, 0.95), 1)}


def run(tables: int = 1000, schemas: int = 1) -> dict[str, Any]:
    wide_url = make_wide_database(tables, 10, 3, schemas)
    sakila_url = load_samples.load(USER_PG_ADMIN, "sakila")
    t0 = time.perf_counter()
    snapshot = asyncio.run(PostgresConnector(wide_url).introspect())
    introspect_s = time.perf_counter() - t0
    with bench_app() as (client, headers):
        owner = uuid.UUID(client.get("/api/auth/me", headers=headers).json()["id"])

        t0 = time.perf_counter()
        created = client.post(
            "/api/connections", json={"name": "wide", "kind": "postgres", "url": wide_url}, headers=headers
        ).json()
        first = wait_synced(client, headers, created["id"])
        index_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.post(f"/api/connections/{created['id']}/sync", json={"mode": "check"}, headers=headers)
        check = wait_synced(client, headers, created["id"])
        check_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.post(f"/api/connections/{created['id']}/sync", headers=headers)
        second = wait_synced(client, headers, created["id"])
        reindex_s = time.perf_counter() - t0
        sakila = client.post(
            "/api/connections", json={"name": "sakila", "kind": "postgres", "url": sakila_url}, headers=headers
        ).json()
        wait_synced(client, headers, sakila["id"])

        indexing = {
            "schema": f"{tables:,} tables x 10 columns in {schemas} schema(s), 3 rows each, a foreign key chain",
            "objects": len(snapshot.objects),
            "introspection_s": round(introspect_s, 2),
            "first_index_s": round(index_s, 2),
            "first_index_counts": first["counts"],
            "status": first["status"],
            "recheck_unchanged_s": round(check_s, 2),
            "recheck_counts": check["counts"],
            "reindex_unchanged_s": round(reindex_s, 2),
            "reindex_counts": second["counts"],
            "target": "first index < 60 s, unchanged re-check < 5 s (at 10,000 tables)",
        }
        wide_q = wide_questions(60, tables)
        search = {
            "store": "embedded PostgreSQL 18 + pgvector 0.8 (exact cosine scan per connection)",
            f"wide_{tables}": _latencies(client, owner, created["id"], wide_q),
            "sakila": _latencies(client, owner, sakila["id"], SAKILA_QUESTIONS * 6),
            f"endpoint_wide_{tables}": _endpoint(client, headers, created["id"], wide_q[:30]),
            "endpoint_sakila": _endpoint(client, headers, sakila["id"], SAKILA_QUESTIONS * 3),
            "target": "whole POST /search p95 < 60 ms (at 10,000 tables)",
        }
    return {"indexing": indexing, "search": search}


if __name__ == "__main__":
    # ``--tables N --schemas S``: the generated schema (1,000 tables in one schema by default;
    # issue 13 measures 10,000 in 20).
    def option(name: str, default: int) -> int:
        return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default

    json.dump(run(option("--tables", 1000), option("--schemas", 1)), sys.stdout, indent=2)
    print()
