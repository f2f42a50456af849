"""``MongoQueryRunner`` keeps PostgreSQL's budget: at most ``max_bytes`` of values, values cut
at ``max_value_bytes``, the cursor closed as soon as the budget is spent, and a sentence in
``truncation`` saying why. Runs against the wire server, in a scratch database of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pymongo
import pytest
from pymongo import monitoring

from backend.engines.base import QueryLimits, QueryResult
from backend.engines.mongo.guard import MongoQuery
from backend.engines.mongo.runner import MAX_COLUMNS, MongoQueryRunner, to_table
from backend.engines.result_budget import CUT_MARK, READ_FACTOR

SCRATCH = "sextant_budget_scratch"
MB = 1_000_000


class _Replies(monitoring.CommandListener):
    """Counts the documents the server sent and whether the cursor was killed, while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.documents = 0
        self.commands: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.on:
            self.commands.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        cursor = event.reply.get("cursor") if self.on else None
        if isinstance(cursor, dict):
            batch: list[Any] = cursor.get("firstBatch") or cursor.get("nextBatch") or []
            self.documents += len(batch)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


REPLIES = _Replies()
monitoring.register(REPLIES)  # for clients made from now on; it records nothing unless a test turns it on


@pytest.fixture(scope="module")
def scratch(mongo_url: str) -> Iterator[str]:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_url)
    db = client[SCRATCH]
    db["big"].insert_many([{"_id": i, "blob": chr(ord("a") + i) * MB} for i in range(8)])
    db["mixed"].insert_many([{"_id": 1, "a": 1}, {"_id": 2, "b": {"c": 2}}, {"_id": 3, "a": 3, "d": [1, 2]}])
    db["wide"].insert_many([{"_id": i, **{f"k{i}_{j}": j for j in range(300)}} for i in range(3)])
    db["lists"].insert_one({"_id": 1, "tags": ["x" * 100] * 100, "short": "ok"})
    yield mongo_url
    client.drop_database(SCRATCH)
    client.close()


def _run(url: str, collection: str, limits: QueryLimits, pipeline: list[dict[str, Any]] | None = None) -> QueryResult:
    query = MongoQuery(SCRATCH, collection, pipeline or [{"$sort": {"_id": 1}}])
    return asyncio.run(MongoQueryRunner().run(url, query, limits))


def test_the_byte_budget_stops_fetching(scratch: str) -> None:
    REPLIES.on, REPLIES.documents, REPLIES.commands = True, 0, []
    try:
        result = _run(scratch, "big", QueryLimits(max_bytes=3 * MB, max_value_bytes=2 * MB))
    finally:
        REPLIES.on = False
    assert 1 <= result.row_count <= 3 and result.truncated
    assert result.truncation is not None and "3,000,000 bytes" in result.truncation
    assert [row[1] for row in result.rows] == [chr(ord("a") + i) * MB for i in range(result.row_count)]
    # Small batches: the server sent barely more than was kept, and the open cursor was killed.
    assert REPLIES.documents <= result.row_count + 2 < 8, REPLIES.commands
    assert "killCursors" in REPLIES.commands


def test_long_values_are_cut_and_counted(scratch: str) -> None:
    result = _run(scratch, "big", QueryLimits(max_value_bytes=1_000))
    assert result.row_count == 8 and result.truncated
    assert result.truncation == "8 values longer than 1,000 bytes were cut"
    for i, (_id, blob) in enumerate(result.rows):
        assert _id == i and blob.endswith(CUT_MARK) and blob.startswith(chr(ord("a") + i) * 900)
        assert len(blob.encode()) + 2 <= 1_000
    lists = _run(scratch, "lists", QueryLimits(max_value_bytes=1_000))
    assert lists.columns == ["_id", "tags", "short"]
    assert lists.rows[0][1].startswith('["xxxx') and lists.rows[0][1].endswith(CUT_MARK)
    assert lists.rows[0][2] == "ok" and lists.truncation == "1 values longer than 1,000 bytes were cut"


def test_reading_stops_when_cut_values_add_up(scratch: str) -> None:
    # Every value is cut to 1,000 bytes, so the kept bytes stay small; what was read does not.
    result = _run(scratch, "big", QueryLimits(max_bytes=MB, max_value_bytes=1_000))
    assert 1 <= result.row_count < 8 and result.row_count * MB <= READ_FACTOR * MB + MB
    # The wording is ResultCollector's; what matters here is that it names both reasons.
    assert result.truncation is not None and f"{READ_FACTOR * MB:,} bytes" in result.truncation
    assert result.truncation.endswith(f"{result.row_count} values longer than 1,000 bytes were cut")


def test_the_row_cap_still_holds(scratch: str) -> None:
    result = _run(scratch, "big", QueryLimits(max_rows=3))
    assert [row[0] for row in result.rows] == [0, 1, 2] and result.truncated
    assert result.truncation is not None and result.truncation.startswith("only the first 3 rows were fetched")
    whole = _run(scratch, "mixed", QueryLimits(max_rows=3))
    assert not whole.truncated and whole.truncation is None and whole.row_count == 3


def test_documents_with_different_fields_share_columns(scratch: str) -> None:
    result = _run(scratch, "mixed", QueryLimits())
    docs: list[dict[str, Any]] = list(pymongo.MongoClient(scratch)[SCRATCH]["mixed"].find().sort("_id", 1))
    assert (result.columns, result.rows) == to_table(docs)
    assert result.rows == [[1, 1, None, None], [2, None, 2, None], [3, 3, None, [1, 2]]]


def test_columns_are_capped(scratch: str) -> None:
    result = _run(scratch, "wide", QueryLimits())
    assert len(result.columns) == MAX_COLUMNS and all(len(row) == MAX_COLUMNS for row in result.rows)
    assert result.row_count == 3 and result.truncated
    assert (
        result.truncation == f"{3 * 300 + 1 - MAX_COLUMNS} fields beyond the first {MAX_COLUMNS} columns were left out"
    )


def test_a_row_over_the_whole_budget_gives_an_empty_but_explained_result(scratch: str) -> None:
    result = _run(scratch, "big", QueryLimits(max_bytes=MB // 2, max_value_bytes=2 * MB))
    assert result.rows == [] and result.truncated
    assert result.truncation is not None and "500,000 bytes" in result.truncation
