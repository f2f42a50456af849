"""``MongoDialect``: asking MongoDB with aggregation pipelines (the ``QueryDialect`` of this engine)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from backend.components.llm_client import ChatMessage
from backend.engines.base import QueryLimits, QueryRefusedError, QueryResult, csv_cell
from backend.engines.mongo.guard import check_pipeline, parse_mongo_query, used_collections
from backend.engines.mongo.prompt import MONGO_JSON_SCHEMA, MONGO_SYSTEM, collection_description, extract_json_object
from backend.engines.mongo.runner import MongoQueryRunner
from backend.engines.prompting import PromptExtras, Turn, conversation
from backend.schemas.schema_snapshot import ObjectInfo, SchemaSnapshot

# Rows of a MongoDB export, at most: they are held in memory before the file is written.
MONGO_EXPORT_ROWS = 100_000
# The collected result lives in memory as Python objects (several times its JSON size), so a
# MongoDB export stops at 32 MB of JSON whatever EXPORT_MAX_BYTES says.
MONGO_EXPORT_BYTES = 32 * 1024 * 1024


class MongoDialect:
    language: Literal["sql", "mongo"] = "mongo"
    json_schema: dict[str, Any] = MONGO_JSON_SCHEMA

    def generation_messages(
        self,
        question: str,
        objects: Sequence[ObjectInfo],
        sample_rows: int,
        history: Sequence[Turn],
        extras: PromptExtras | None = None,
    ) -> list[ChatMessage]:
        schema = "\n\n".join(collection_description(o, sample_rows) for o in objects)
        return conversation(f"{MONGO_SYSTEM}\n\nCollections:\n{schema}", history, question, lambda q: q or "{}", extras)

    def describe(self, obj: ObjectInfo, sample_rows: int) -> str:
        return collection_description(obj, sample_rows)

    def extract(self, reply: str) -> str | None:
        return extract_json_object(reply)

    def as_reply(self, query: str) -> str:
        return query

    def check(self, query: str, snapshot: SchemaSnapshot) -> tuple[str, list[str]]:
        parsed = parse_mongo_query(query, snapshot)
        problems = check_pipeline(parsed, snapshot)
        return parsed.to_text(), problems

    def used_objects(self, query: str, snapshot: SchemaSnapshot) -> list[str]:
        return used_collections(parse_mongo_query(query, snapshot))

    async def export(
        self, url: str, query: str, snapshot: SchemaSnapshot, limits: QueryLimits, max_rows: int, max_bytes: int
    ) -> AsyncIterator[list[str | None] | str]:
        # Documents are flattened into columns as they come, so the header is known only at the
        # end: the result is collected (within MONGO_EXPORT_ROWS and the byte cap), then written.
        capped = dataclasses.replace(
            limits, max_rows=min(max_rows, MONGO_EXPORT_ROWS), max_bytes=min(max_bytes, MONGO_EXPORT_BYTES)
        )
        result = await self.run(url, query, snapshot, capped)
        yield list(result.columns)
        for row in result.rows:
            yield [csv_cell(v) for v in row]
        if result.truncated:
            yield f"Export stopped: {result.truncation or 'the result has more rows'}"

    async def run(self, url: str, query: str, snapshot: SchemaSnapshot, limits: QueryLimits) -> QueryResult:
        parsed = parse_mongo_query(query, snapshot)
        if check_pipeline(parsed, snapshot):
            raise QueryRefusedError("The query does not fit the collection's fields")
        return await MongoQueryRunner().run(url, parsed, limits)
