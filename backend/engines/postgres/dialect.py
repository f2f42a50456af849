"""``PostgresDialect``: asking PostgreSQL in SQL (the ``QueryDialect`` of this engine)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from backend.components.llm_client import ChatMessage
from backend.engines.base import QueryLimits, QueryResult
from backend.engines.postgres.export import stream_rows
from backend.engines.postgres.guard_names import guard_sql, used_relations
from backend.engines.postgres.prompt import SQL_JSON_SCHEMA, extract_sql, generation_messages, table_ddl
from backend.engines.postgres.runner import PostgresQueryRunner
from backend.engines.postgres.schema_index import SchemaIndex
from backend.engines.prompting import PromptExtras, Turn
from backend.schemas.schema_snapshot import ObjectInfo, SchemaSnapshot


class PostgresDialect:
    language: Literal["sql", "mongo"] = "sql"
    json_schema: dict[str, Any] = SQL_JSON_SCHEMA

    def generation_messages(
        self,
        question: str,
        objects: Sequence[ObjectInfo],
        sample_rows: int,
        history: Sequence[Turn],
        extras: PromptExtras | None = None,
    ) -> list[ChatMessage]:
        return generation_messages(question, objects, sample_rows, history, extras)

    def describe(self, obj: ObjectInfo, sample_rows: int) -> str:
        return table_ddl(obj, sample_rows)

    def extract(self, reply: str) -> str | None:
        return extract_sql(reply)

    def as_reply(self, query: str) -> str:
        return json.dumps({"sql": query})

    def check(self, query: str, snapshot: SchemaSnapshot) -> tuple[str, list[str]]:
        return guard_sql(query, SchemaIndex(snapshot))

    def used_objects(self, query: str, snapshot: SchemaSnapshot) -> list[str]:
        return used_relations(query, SchemaIndex(snapshot))

    async def run(self, url: str, query: str, snapshot: SchemaSnapshot, limits: QueryLimits) -> QueryResult:
        return await PostgresQueryRunner().run(url, query, limits)

    def export(
        self, url: str, query: str, snapshot: SchemaSnapshot, limits: QueryLimits, max_rows: int, max_bytes: int
    ) -> AsyncIterator[list[str | None] | str]:
        return stream_rows(url, query, limits, max_rows, max_bytes)
