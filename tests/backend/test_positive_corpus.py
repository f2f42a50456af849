"""Issue 10, item 2: valid analytic queries come back from ``POST /api/query`` with exactly their rows.

The corpus (``positive_sql.py``) holds realistic PostgreSQL over Sakila, Chinook and Northwind.
For each database the test makes one connection, then for every query scripts the fake Ollama
to answer with it (in the first round and in any repair round, so a refusal stays visible),
asks its question and compares the columns and rows of the answer with what the same SQL
gives when run directly on the database (values made JSON-safe the way the runner does).
Every failing query is collected and reported together, with the API's error.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from backend.engines.base import json_value
from tests.backend.positive_sql import (
    CORPUS,
    DATABASES,
    DETECTABLE,
    FEATURE_HINTS,
    FEATURES,
    PositiveQuery,
    detected_features,
)
from tests.conftest import connect, register_and_login
from tests.fake_ollama import OllamaScript

MAX_ROWS = 200
MIN_QUERIES = 100
MIN_PER_DATABASE = 35
MIN_PER_FEATURE = 2

Rows = list[list[Any]]


def _queries(database: str) -> list[PositiveQuery]:
    return [q for q in CORPUS if q.database == database]


def _one_line(sql: str, limit: int = 400) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _direct(conn: psycopg.Connection[Any], sql: str) -> tuple[list[str], Rows]:
    cur = conn.execute(sql.encode())
    columns = [d.name for d in cur.description or []]
    return columns, [[json_value(v) for v in row] for row in cur.fetchall()]


def _comparable(rows: Rows, ordered: bool) -> Rows:
    """Rows as an ordered list when the query orders them, else as a sorted multiset."""
    return rows if ordered else sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))


def _row_difference(expected: Rows, got: Rows) -> str:
    if len(expected) != len(got):
        return f"{len(got)} rows instead of {len(expected)}"
    for i, (want, have) in enumerate(zip(expected, got, strict=True)):
        if want != have:
            return f"row {i}: {have!r} instead of {want!r}"
    return "rows differ"  # pragma: no cover - only called when they differ


def _url(request: pytest.FixtureRequest, database: str) -> str:
    url: str = request.getfixturevalue(f"{database}_url")
    return url


# ---- the corpus itself ---------------------------------------------------------------------


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= MIN_QUERIES
    per_database = Counter(q.database for q in CORPUS)
    assert set(per_database) == set(DATABASES)
    assert all(n >= MIN_PER_DATABASE for n in per_database.values()), per_database
    assert len({" ".join(q.sql.split()) for q in CORPUS}) == len(CORPUS), "a query is in the corpus twice"
    assert len({q.label for q in CORPUS}) == len(CORPUS), "a question is in the corpus twice"


def test_every_feature_is_exercised_at_least_twice() -> None:
    counts = Counter(feature for q in CORPUS for feature in q.features)
    thin = {feature: counts[feature] for feature in FEATURES if counts[feature] < MIN_PER_FEATURE}
    assert not thin, f"features with fewer than {MIN_PER_FEATURE} queries: {thin}"


def test_the_tags_say_what_each_query_does() -> None:
    problems: list[str] = []
    for q in CORPUS:
        unknown = q.features - set(FEATURES)
        if unknown:
            problems.append(f"{q.label}: unknown tags {sorted(unknown)}")
        shown = detected_features(q.sql)
        tagged = q.features & DETECTABLE
        if shown - tagged:
            problems.append(f"{q.label}: untagged features {sorted(shown - tagged)}")
        if tagged - shown:
            problems.append(f"{q.label}: tags the SQL does not show {sorted(tagged - shown)}")
        for feature, hint in FEATURE_HINTS.items():
            if feature in q.features and not hint.search(q.sql):
                problems.append(f"{q.label}: tagged {feature} but the SQL does not look like it")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("database", DATABASES)
def test_every_query_runs_directly(request: pytest.FixtureRequest, database: str) -> None:
    """The corpus is valid: each query runs as is, read-only, and returns at most 200 rows."""
    problems: list[str] = []
    with psycopg.connect(
        _url(request, database), autocommit=True, options="-c default_transaction_read_only=on"
    ) as conn:
        for q in _queries(database):
            try:
                _, rows = _direct(conn, q.sql)
            except psycopg.Error as exc:
                problems.append(f"{q.label}: {exc}")
                continue
            if len(rows) > MAX_ROWS:
                problems.append(f"{q.label}: {len(rows)} rows")
    assert not problems, "\n".join(problems)


# ---- through the API -----------------------------------------------------------------------


@pytest.mark.parametrize("database", DATABASES)
def test_every_query_comes_back_through_the_api(
    request: pytest.FixtureRequest, client: TestClient, ollama: OllamaScript, database: str
) -> None:
    url = _url(request, database)
    headers = register_and_login(client)
    connection_id = connect(client, headers, url, name=f"positive-{database}")["id"]
    queries = _queries(database)
    failures: list[str] = []
    with psycopg.connect(url, autocommit=True, options="-c default_transaction_read_only=on") as conn:
        for q in queries:
            try:
                expected_columns, expected_rows = _direct(conn, q.sql)
            except psycopg.Error as exc:
                failures.append(f"[{q.label}]\n  the query does not run directly: {exc}")
                continue
            # Every generation round answers with this query, the first one and any repair round.
            ollama.queries.clear()
            ollama.default_query = json.dumps({"sql": q.sql})
            ollama.reply_sql(q.sql)
            response = client.post(
                "/api/query", json={"connection_id": connection_id, "question": q.question}, headers=headers
            )
            problems: list[str] = []
            if response.status_code != 200:
                problems.append(f"HTTP {response.status_code}: {response.text[:500]}")
            else:
                body: dict[str, Any] = response.json()
                if body.get("error") is not None:
                    problems.append(f"error: {body['error']}")
                if body.get("executed") is not True:
                    problems.append(f"executed: {body.get('executed')!r}")
                if body.get("truncated"):
                    problems.append("the result came back truncated")
                if body.get("executed"):
                    if body.get("columns") != expected_columns:
                        problems.append(f"columns {body.get('columns')!r} instead of {expected_columns!r}")
                    got = _comparable(body.get("rows") or [], q.ordered)
                    want = _comparable(expected_rows, q.ordered)
                    if got != want:
                        problems.append(_row_difference(want, got))
                if problems and body.get("query"):
                    problems.append(f"sent: {_one_line(str(body['query']))}")
            if problems:
                failures.append(f"[{q.label}]\n  " + "\n  ".join(problems) + f"\n  sql: {_one_line(q.sql)}")
    assert not failures, (
        f"{len(failures)} of {len(queries)} {database} queries did not come back with their rows:\n\n"
        + "\n\n".join(failures)
    )
