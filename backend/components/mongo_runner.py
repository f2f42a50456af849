"""``MongoQueryRunner``: runs a checked aggregation with ``maxTimeMS`` and a document cap,
and flattens the documents into columns and rows (nested paths dotted)."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from backend.components.connectors.mongo_schema import json_value
from backend.components.mongo_guard import MongoQuery
from backend.components.query_runner import QueryExecutionError, QueryLimits, QueryResult
from backend.components.url_cipher import hide_password

MAX_FLATTEN_DEPTH = 4


def flatten(doc: dict[str, Any], prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [1, 2]}`` -> ``{"a.b": 1, "c": [1, 2]}``; values made JSON-safe."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and depth < MAX_FLATTEN_DEPTH:
            out.update(flatten(value, f"{path}.", depth + 1))
        else:
            out[path] = json_value(value, 10_000)
    return out


def to_table(docs: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    flat = [flatten(d) for d in docs]
    columns: list[str] = []
    seen: set[str] = set()
    for row in flat:
        for key in row:
            if key not in seen:
                seen.add(key)
                columns.append(key)
    return columns, [[row.get(c) for c in columns] for row in flat]


class MongoQueryRunner:
    async def run(self, url: str, query: MongoQuery, limits: QueryLimits) -> QueryResult:
        def clean(exc: BaseException) -> str:
            return hide_password((str(exc).strip() or type(exc).__name__).split(", full error:")[0], url)

        timeout_ms = limits.connect_timeout_s * 1000
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, appname="sextant-query"
        )
        try:
            collection = client[query.database][query.collection]
            cursor = await collection.aggregate(
                [*query.pipeline, {"$limit": limits.max_rows + 1}],
                maxTimeMS=limits.statement_timeout_ms,
                allowDiskUse=False,
            )
            docs = [doc async for doc in cursor]
        except PyMongoError as exc:
            raise QueryExecutionError(clean(exc)) from exc
        finally:
            await client.close()
        truncated = len(docs) > limits.max_rows
        columns, rows = to_table(docs[: limits.max_rows])
        return QueryResult(columns=columns, rows=rows, truncated=truncated)
