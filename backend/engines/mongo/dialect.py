"""``MongoDialect``: asking MongoDB with aggregation pipelines (the ``QueryDialect`` of this engine)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from backend.components.llm_client import ChatMessage
from backend.engines.base import QueryLimits, QueryRefusedError, QueryResult
from backend.engines.mongo.guard import check_pipeline, parse_mongo_query, used_collections
from backend.engines.mongo.prompt import MONGO_JSON_SCHEMA, MONGO_SYSTEM, collection_description, extract_json_object
from backend.engines.mongo.runner import MongoQueryRunner
from backend.engines.prompting import Turn, conversation
from backend.schemas.schema_snapshot import ObjectInfo, SchemaSnapshot


class MongoDialect:
    language: Literal["sql", "mongo"] = "mongo"
    json_schema: dict[str, Any] = MONGO_JSON_SCHEMA

    def generation_messages(
        self, question: str, objects: Sequence[ObjectInfo], sample_rows: int, history: Sequence[Turn]
    ) -> list[ChatMessage]:
        schema = "\n\n".join(collection_description(o, sample_rows) for o in objects)
        return conversation(f"{MONGO_SYSTEM}\n\nCollections:\n{schema}", history, question, lambda q: q or "{}")

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

    async def run(self, url: str, query: str, snapshot: SchemaSnapshot, limits: QueryLimits) -> QueryResult:
        parsed = parse_mongo_query(query, snapshot)
        if check_pipeline(parsed, snapshot):
            raise QueryRefusedError("The query does not fit the collection's fields")
        return await MongoQueryRunner().run(url, parsed, limits)
