"""Questions suggested on an empty chat: the connection's verified examples first, then a handful
the LLM writes from a summary of the schema (one call per connection, index version and model,
kept in memory), or, when the LLM cannot answer, a few made from the schema itself: row counts,
"top 10 by" a numeric column, counts per value-list column, and the parent with the most children
along a foreign key. Every templated question names real tables and columns of the connection.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import datetime

import anyio

from backend.components.llm_client import ChatMessage, LLMClient
from backend.components.question_text import normalise_question
from backend.schemas.examples import Suggestion, SuggestionOrigin, SuggestionsOut
from backend.schemas.schema_snapshot import ObjectInfo, SchemaSnapshot
from backend.services.connection_service import ConnectionService
from backend.services.example_service import ExampleService
from backend.services.user_settings_service import UserSettingsService

logger = logging.getLogger(__name__)

MAX_SUGGESTIONS = 6
LLM_TIMEOUT_S = 30.0
# After a failed call the model is left alone this long (the templates answer meanwhile).
RETRY_AFTER_S = 60.0
SUMMARY_CHARS = 6_000
QUESTIONS_SCHEMA = {
    "type": "object",
    "properties": {"questions": {"type": "array", "items": {"type": "string"}}},
    "required": ["questions"],
}
SYSTEM = (
    "You suggest questions a person could ask about their database in plain English. "
    "Each question must be answerable with one read-only query over the tables and columns listed, "
    'short (under 15 words) and different from the others. Answer in JSON: {"questions": [...]}.'
)
NUMERIC = ("int", "numeric", "decimal", "real", "double", "float", "money", "number", "long")

_Key = tuple[uuid.UUID, datetime, str]


def _is_key(obj: ObjectInfo, column: str) -> bool:
    low = column.casefold()
    return column in obj.primary_key or low == "id" or low == "_id" or low.endswith("_id") or low.endswith("id")


def _objects(snapshot: SchemaSnapshot) -> list[ObjectInfo]:
    """Tables and collections, the largest first (then by name, so the order is stable)."""
    kept = [o for o in snapshot.objects if o.kind in ("table", "partitioned_table", "collection", "view")]
    return sorted(kept, key=lambda o: (-(o.row_estimate or 0), o.qualified_name))


def _namer(snapshot: SchemaSnapshot) -> dict[str, str]:
    """How a question calls each object: its bare name, unless two schemas share it."""
    count: dict[str, int] = {}
    for o in snapshot.objects:
        count[o.name] = count.get(o.name, 0) + 1
    return {o.qualified_name: (o.name if count[o.name] == 1 else o.qualified_name) for o in snapshot.objects}


def templated(snapshot: SchemaSnapshot, limit: int) -> list[str]:
    """Up to ``limit`` questions made from the schema's own tables, columns, keys and value lists."""
    objects = _objects(snapshot)
    name = _namer(snapshot)
    rows_word = "documents" if snapshot.kind.startswith("mongo") else "rows"
    found: list[str] = []
    for obj in objects:  # a foreign key: the parent with the most children
        fk = next((k for k in obj.foreign_keys if k.target != obj.qualified_name and k.target in name), None)
        if fk is not None:
            found.append(f"Which {name[fk.target]} has the most {name[obj.qualified_name]} {rows_word}?")
            break
    for obj in objects:  # a numeric column that is not a key
        column = next(
            (c.name for c in obj.columns if any(t in c.type.casefold() for t in NUMERIC) and not _is_key(obj, c.name)),
            None,
        )
        if column is not None:
            found.append(f"Top 10 {name[obj.qualified_name]} {rows_word} by {column}")
            break
    for obj in objects:  # a value list: counts per value
        column = next((c.name for c in obj.columns if c.values and not _is_key(obj, c.name)), None)
        if column is not None:
            found.append(f"How many {name[obj.qualified_name]} {rows_word} are there per {column}?")
            break
    for obj in objects:  # row counts of the largest objects
        found.append(f"How many {rows_word} does {name[obj.qualified_name]} have?")
    return found[:limit]


def summary(snapshot: SchemaSnapshot) -> str:
    """The schema in a few lines for the model: each object with its first columns."""
    lines: list[str] = []
    used = 0
    for obj in _objects(snapshot):
        columns = ", ".join(c.name for c in obj.columns[:12])
        line = f"{obj.qualified_name}({columns})"
        if used + len(line) > SUMMARY_CHARS:
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def _parse(reply: str) -> list[str]:
    data = json.loads(reply)
    items = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError("no questions in the reply")
    return [q.strip() for q in items if isinstance(q, str) and 5 <= len(q.strip()) <= 300]


class SuggestionService:
    def __init__(
        self,
        connections: ConnectionService,
        examples: ExampleService,
        llm: LLMClient,
        user_settings: UserSettingsService,
        timeout_s: float = LLM_TIMEOUT_S,
    ):
        self._connections = connections
        self._examples = examples
        self._llm = llm
        self._user_settings = user_settings
        self._timeout_s = timeout_s
        self._written: dict[_Key, list[str]] = {}
        self._failed: dict[_Key, float] = {}

    async def suggest(self, owner_id: uuid.UUID, connection_id: uuid.UUID) -> SuggestionsOut:
        """Up to six questions: examples, then the model's (or the schema's); 404/409 as for asking."""
        indexed_at, snapshot = await self._connections.indexed_snapshot(owner_id, connection_id)
        out: list[Suggestion] = []
        seen: set[str] = set()

        def add(question: str, origin: SuggestionOrigin) -> None:
            norm = normalise_question(question)
            if norm and norm not in seen and len(out) < MAX_SUGGESTIONS:
                seen.add(norm)
                out.append(Suggestion(question=question, origin=origin))

        for question in await self._examples.recent_questions(owner_id, connection_id, MAX_SUGGESTIONS):
            add(question, "example")
        if len(out) < MAX_SUGGESTIONS:
            model = (await self._user_settings.get(owner_id)).model
            written = await self._written_by_model((connection_id, indexed_at, model), snapshot)
            if written:
                for question in written:
                    add(question, "model")
            else:
                for question in templated(snapshot, MAX_SUGGESTIONS):
                    add(question, "schema")
        return SuggestionsOut(suggestions=out)

    async def _written_by_model(self, key: _Key, snapshot: SchemaSnapshot) -> list[str]:
        """The model's questions for this index version (cached); [] when it cannot answer."""
        if key in self._written:
            return self._written[key]
        failed_at = self._failed.get(key)
        if failed_at is not None and time.monotonic() - failed_at < RETRY_AFTER_S:
            return []
        messages = [
            ChatMessage("system", SYSTEM),
            ChatMessage("user", f"The database's tables:\n{summary(snapshot)}\n\nSuggest {MAX_SUGGESTIONS} questions."),
        ]
        try:
            with anyio.fail_after(self._timeout_s):
                reply = await self._llm.complete(messages, key[2], QUESTIONS_SCHEMA)
            questions = _parse(reply)[:MAX_SUGGESTIONS]
        except Exception as exc:  # any failure of the model falls back to the templates
            logger.info("Suggested questions: the model could not write them (%s)", type(exc).__name__)
            self._failed[key] = time.monotonic()
            return []
        if not questions:
            self._failed[key] = time.monotonic()
            return []
        if len(self._written) > 1_000:
            self._written.clear()
        self._written[key] = questions
        self._failed.pop(key, None)
        return questions
