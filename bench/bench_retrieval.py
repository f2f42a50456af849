"""(h) Retrieval on a large schema: does the context asking builds hold every table a question needs?

Data: Spider (``../shared/data/spider``): ``schemas.sql`` is 160 databases as 818 tables in
160 schemas of one PostgreSQL database (structure only), and ``dev_questions.jsonl`` holds
1,034 real questions over 20 of those schemas, each with the tables its gold SQL names.

Two setups, both through the real backend (embedded pgvector store, the embedding service
with the bundled MiniLM, the API):
- pooled: all 818 tables as one connection; a question must find its schema among 160;
- per database: each of the 20 schemas alone in its own database and connection.

For each question it reports whether all gold tables are among the 5 best search hits, and
whether they are all in the context asking builds (``SearchService.retrieve`` with the ask
default k, join tables included), how many objects and prompt characters that context has,
and the latency of the whole ``POST /api/connections/{id}/search`` request.

Run: ``.venv/bin/python bench/bench_retrieval.py [--limit N] [--skip-per-db] [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from psycopg import sql

from backend.engines.registry import engine_for
from backend.schemas.schema_snapshot import SchemaSnapshot
from bench.common import USER_PG_ADMIN, bench_app, load_samples, median, percentile, wait_synced

SPIDER = load_samples.DEFAULT_DATA / "spider"
SEARCH_K = 5


@dataclass
class Tally:
    questions: int = 0
    top5: int = 0
    context: int = 0
    objects: list[int] = field(default_factory=list)
    chars: list[int] = field(default_factory=list)
    search_ms: list[float] = field(default_factory=list)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        n = max(self.questions, 1)
        return {
            "questions": self.questions,
            "all_gold_top5": round(self.top5 / n, 3),
            "all_gold_context": round(self.context / n, 3),
            "context_objects_mean": round(sum(self.objects) / n, 2),
            "context_chars_mean": round(sum(self.chars) / n),
            "search_p50_ms": round(median(self.search_ms), 1) if self.search_ms else None,
            "search_p95_ms": round(percentile(self.search_ms, 0.95), 1) if self.search_ms else None,
        }


def schema_sections(text: str) -> dict[str, str]:
    """The DDL of each schema of ``schemas.sql``, its foreign keys included."""
    sections: dict[str, list[str]] = defaultdict(list)
    current: str | None = None
    for line in text.splitlines():
        created = re.match(r'CREATE SCHEMA "([^"]+)"', line)
        if created:
            current = created.group(1)
        altered = re.match(r'ALTER TABLE "([^"]+)"\.', line)
        if altered:
            sections[altered.group(1)].append(line)
        elif current is not None and not line.startswith("--"):
            sections[current].append(line)
    return {name: "\n".join(lines) for name, lines in sections.items()}


def fresh_database(name: str, ddl: str) -> str:
    """(Re)create database ``name`` on the user server with ``ddl``; returns its URL."""
    url = load_samples.database_url(USER_PG_ADMIN, name)
    with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ddl.encode())
    return url


def connect(client: TestClient, headers: dict[str, str], name: str, url: str) -> tuple[str, float]:
    started = time.perf_counter()
    response = client.post("/api/connections", json={"name": name, "kind": "postgres", "url": url}, headers=headers)
    response.raise_for_status()
    cid = str(response.json()["id"])
    status = wait_synced(client, headers, cid)
    if status["status"] != "succeeded":
        raise RuntimeError(f"indexing {name} failed: {status}")
    return cid, time.perf_counter() - started


def measure(
    client: TestClient,
    headers: dict[str, str],
    cid: str,
    questions: list[dict[str, Any]],
    qualify: bool,
    tally: Tally,
) -> None:
    """Search and build the ask context for each question; add the outcome to ``tally``."""
    context = client.app.state.context  # type: ignore[attr-defined]
    connection_id = uuid.UUID(cid)
    schema = client.get(f"/api/connections/{cid}/schema", headers=headers).json()
    snapshot = SchemaSnapshot.model_validate({"kind": schema["kind"], "objects": schema["objects"]})
    by_name = snapshot.by_name()
    dialect = engine_for("postgres").dialect()
    k = context.settings.query.ask_default_top_k
    owner = uuid.UUID(client.get("/api/auth/me", headers=headers).json()["id"])

    async def contexts() -> list[list[str]]:
        target = await context.connections.ask_target(owner, connection_id)
        out = []
        for q in questions:
            hits = await context.search.retrieve(connection_id, target.index, q["question"], k)
            out.append([h.object for h in hits])
        return out

    built = client.portal.call(contexts)  # type: ignore[union-attr]
    for q, ctx in zip(questions, built, strict=True):
        started = time.perf_counter()
        response = client.post(
            f"/api/connections/{cid}/search", json={"query": q["question"], "k": SEARCH_K}, headers=headers
        )
        tally.search_ms.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        top = [r["object"].lower() for r in response.json()["results"] if r["via"] == "search"][:SEARCH_K]
        gold = {(f"{q['db']}.{t}" if qualify else f"public.{t}").lower() for t in q["gold_tables"]}
        in_context = {name.lower() for name in ctx}
        tally.questions += 1
        tally.top5 += gold <= set(top)
        tally.context += gold <= in_context
        objects = [by_name[name] for name in ctx if name in by_name]
        messages = dialect.generation_messages(q["question"], objects, 3, [])
        tally.objects.append(len(ctx))
        tally.chars.append(len(messages[0].content))
        if not gold <= in_context:
            tally.misses.append({"q": q["question"], "gold": sorted(gold), "context": ctx})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--skip-per-db", action="store_true", help="only the pooled setup")
    parser.add_argument("--json", type=Path, default=None, help="write the results (and misses) here")
    args = parser.parse_args()

    questions = [json.loads(line) for line in (SPIDER / "dev_questions.jsonl").read_text().splitlines()]
    questions = questions[: args.limit] if args.limit else questions
    full = (SPIDER / "schemas.sql").read_text()
    sections = schema_sections(full)
    pooled_url = fresh_database("sextant_bench_spider", full)

    results: dict[str, Any] = {}
    with bench_app() as (client, headers):
        cid, seconds = connect(client, headers, "spider pooled", pooled_url)
        pooled = Tally()
        measure(client, headers, cid, questions, qualify=True, tally=pooled)
        results["pooled"] = {**pooled.summary(), "index_s": round(seconds, 1)}
        print("pooled", json.dumps(results["pooled"]), flush=True)
        per_db: dict[str, Tally] = {}
        if not args.skip_per_db:
            for db in sorted({q["db"] for q in questions}):
                # Each database alone: its schema becomes public, as a database of its own would have it.
                schema = db.lower()  # Spider's database ids are the schema names, lower-cased
                ddl = sections[schema].replace(f'"{schema}".', '"public".').replace(f'CREATE SCHEMA "{schema}";', "")
                url = fresh_database(f"sextant_bench_spider_{db.lower()}", ddl)
                db_cid, _ = connect(client, headers, db, url)
                per_db[db] = Tally()
                measure(client, headers, db_cid, [q for q in questions if q["db"] == db], False, per_db[db])
            total = Tally()
            for tally in per_db.values():
                total.questions += tally.questions
                total.top5 += tally.top5
                total.context += tally.context
                total.objects += tally.objects
                total.chars += tally.chars
                total.search_ms += tally.search_ms
            results["per_database"] = total.summary()
            results["per_database_each"] = {db: t.summary() for db, t in per_db.items()}
            print("per database", json.dumps(results["per_database"]), flush=True)
    if args.json:
        misses = {"pooled": pooled.misses, **{db: t.misses for db, t in per_db.items()}}
        args.json.write_text(json.dumps({"results": results, "misses": misses}, indent=1))
    json.dump(results, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
