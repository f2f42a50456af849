"""``MongoQueryRunner``: runs a checked aggregation with ``maxTimeMS``, no disk use and a
document cap, and flattens the documents into columns and rows (nested paths dotted).

The result honours the same budget as PostgreSQL's: documents are fetched in small batches
and handed, values whole, to a ``ResultCollector`` one by one; once it has ``max_bytes`` of
values (or has read ``READ_FACTOR`` times that before cutting, or has ``max_rows`` rows) the
cursor is closed, so the rest is never fetched, and values longer than ``max_value_bytes``
are cut. ``QueryResult.truncation`` says which of these happened.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pymongo.errors import ExecutionTimeout, PyMongoError

from backend.components.url_redaction import hide_password
from backend.engines.base import QueryExecutionError, QueryLimits, QueryResult, json_value
from backend.engines.mongo.guard import MongoQuery
from backend.engines.mongo.session import mongo_client
from backend.engines.result_budget import ResultCollector

MAX_FLATTEN_DEPTH = 4
# Documents need not share fields: every new dotted path is a column and older rows get
# nulls in it. Capping the columns bounds that padding (which the collector does not count)
# to MAX_COLUMNS nulls per row.
MAX_COLUMNS = 500


def flatten(doc: dict[str, Any], prefix: str = "", depth: int = 0, max_chars: int | None = 10_000) -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [1, 2]}`` -> ``{"a.b": 1, "c": [1, 2]}``; values made JSON-safe by
    ``json_value`` (strings cut to ``max_chars`` silently; None keeps them whole)."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and depth < MAX_FLATTEN_DEPTH:
            out.update(flatten(value, f"{path}.", depth + 1, max_chars))
        else:
            out[path] = json_value(value, max_chars)
    return out


def to_table(docs: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Columns in order of first appearance, and one row per document (None where a field is missing)."""
    flat = [flatten(d) for d in docs]
    columns: list[str] = []
    seen: set[str] = set()
    for row in flat:
        for key in row:
            if key not in seen:
                seen.add(key)
                columns.append(key)
    return columns, [[row.get(c) for c in columns] for row in flat]


class _Table:
    """Turns documents into rows while they arrive; columns grow as new paths show up."""

    def __init__(self) -> None:
        self.columns: list[str] = []
        self._seen: set[str] = set()
        self.dropped: set[str] = set()

    def add(self, doc: dict[str, Any], collector: ResultCollector) -> bool:
        """Offer one document to ``collector``; False once it wants no more."""
        # Values whole: the collector cuts them with a mark and counts their real size as read.
        flat = flatten(doc, max_chars=None)
        new = [k for k in flat if k not in self._seen]
        room = max(MAX_COLUMNS - len(self.columns), 0)
        self.dropped.update(new[room:])
        new = new[:room]
        row = [flat.get(c) for c in [*self.columns, *new]]
        if not collector.add(row):
            return False
        self.columns.extend(new)  # only once the row is kept: no column without a value
        self._seen.update(new)
        return True

    def result(self, collector: ResultCollector) -> QueryResult:
        for row in collector.rows:
            row.extend([None] * (len(self.columns) - len(row)))
        result = collector.result(self.columns)
        if not self.dropped:
            return result
        note = f"{len(self.dropped)} fields beyond the first {MAX_COLUMNS} columns were left out"
        return dataclasses.replace(
            result, truncated=True, truncation="; ".join(filter(None, [result.truncation, note]))
        )


class MongoQueryRunner:
    async def run(self, url: str, query: MongoQuery, limits: QueryLimits) -> QueryResult:
        """Run ``query`` (already checked) and return at most ``limits.max_rows`` rows and
        ``limits.max_bytes`` bytes of values; raise ``QueryExecutionError`` with the server's
        message (password hidden) when the server refuses or aborts it."""

        def clean(exc: BaseException) -> str:
            return hide_password((str(exc).strip() or type(exc).__name__).split(", full error:")[0], url)

        collector = ResultCollector(limits)
        table = _Table()
        try:
            async with mongo_client(url, limits, "sextant-query") as client:
                collection = client[query.database][query.collection]
                cursor = await collection.aggregate(
                    [*query.pipeline, {"$limit": limits.max_rows + 1}],
                    maxTimeMS=limits.statement_timeout_ms,
                    allowDiskUse=False,
                    batchSize=collector.wanted(),
                )
                try:
                    async for doc in cursor:
                        if not table.add(doc, collector):
                            break
                        # Few documents per round trip while they are big: the server sends up to
                        # 16 MB per batch whatever the budget, so the batch size is what bounds it.
                        cursor.batch_size(collector.wanted())
                finally:
                    await cursor.close()
        except PyMongoError as exc:  # pymongo's URL parser may quote the URL: clean() hides the password
            raise QueryExecutionError(clean(exc), timed_out=isinstance(exc, ExecutionTimeout)) from None
        return table.result(collector)
