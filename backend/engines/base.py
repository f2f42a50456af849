"""What every engine shares: the ``Connector`` and ``QueryDialect`` seams, the limits a query
and an introspection run under, the result shape, the two errors of the query path, and the
one JSON coercion of database values.

An engine is a folder beside this module (``postgres/``, ``mongo/``) with a connector, a schema
reader, a guard, a runner and a prompt, registered in ``backend/engines/registry.py``.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from backend.components.chunker import Spelling
from backend.components.errors import ConnectorError as ConnectorError  # the policy raises it too
from backend.components.llm_client import ChatMessage
from backend.engines.prompting import PromptExtras, Turn
from backend.schemas.schema_snapshot import ObjectInfo, SchemaSnapshot

JsonValue = Any
ProgressCallback = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class QueryLimits:
    """What one session on a user's database may use: the same kind of bound for a question's
    query and for introspection (which has its own, longer, ``IntrospectOptions.session``)."""

    max_rows: int = 200
    statement_timeout_ms: int = 10_000
    lock_timeout_ms: int = 1_000
    idle_timeout_ms: int = 15_000
    connect_timeout_s: int = 5
    max_bytes: int = 8_000_000
    max_value_bytes: int = 65_536
    work_mem: str = "16MB"
    temp_file_limit: str = "256MB"


INTROSPECT_SESSION = QueryLimits(statement_timeout_ms=15_000, lock_timeout_ms=2_000, idle_timeout_ms=60_000)


@dataclass(frozen=True)
class IntrospectOptions:
    """How much an introspection reads: the session's bounds plus the sampling sizes."""

    session: QueryLimits = INTROSPECT_SESSION
    sample_rows: int = 3
    value_max_chars: int = 200
    distinct_limit: int = 20
    distinct_scan_rows: int = 10_000
    mongo_sample_size: int = 100


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[JsonValue]]
    truncated: bool
    # Why the result is not whole, in a sentence: rows past the cap, the byte budget, long values.
    truncation: str | None = None

    @property
    def row_count(self) -> int:
        return len(self.rows)


class QueryRefusedError(Exception):
    """The query is not allowed; the message says why and is safe to show and to give the LLM."""


class QueryExecutionError(Exception):
    """The database rejected or aborted the query; the message is the database's own, without secrets.

    ``timed_out``: it was stopped for running past its time limit.
    """

    def __init__(self, message: str, timed_out: bool = False):
        super().__init__(message)
        self.timed_out = timed_out


class Connector(Protocol):
    kind: str

    async def test(self) -> str:
        """Connect and return the server version; raise ``ConnectorError`` on any failure."""
        ...

    async def introspect(self, progress: ProgressCallback | None = None) -> SchemaSnapshot:
        """Read the structure and a few samples, read-only; raise ``ConnectorError`` on failure."""
        ...

    async def catalog_hash(self) -> str:
        """A digest of the structure ``introspect`` would read (not the rows): when two digests are
        equal a re-index would find the same objects. Cheap: one round trip or a few."""
        ...


QueryT_contra = TypeVar("QueryT_contra", contravariant=True)


class QueryRunner(Protocol[QueryT_contra]):
    async def run(self, url: str, query: QueryT_contra, limits: QueryLimits) -> QueryResult:
        """Run a checked query under ``limits``; raise ``QueryExecutionError`` when the database refuses it."""
        ...


class QueryDialect(Protocol):
    """What differs between engines when asking: the prompt, the reply format, the guard, the runner."""

    language: Literal["sql", "mongo"]
    json_schema: dict[str, Any]

    def generation_messages(
        self,
        question: str,
        objects: Sequence[ObjectInfo],
        sample_rows: int,
        history: Sequence[Turn],
        extras: PromptExtras | None = None,
    ) -> list[ChatMessage]:
        """The prompt: the objects described, the database's note and the verified examples
        (``extras``), the conversation's earlier turns, the question."""
        ...

    def describe(self, obj: ObjectInfo, sample_rows: int) -> str:
        """The text the prompt gives one object; its length is what the context budget counts."""
        ...

    def extract(self, reply: str) -> str | None:
        """The query inside a model's reply, as text; None when there is none."""
        ...

    def as_reply(self, query: str) -> str:
        """How the model would have written ``query``: for history and repair turns."""
        ...

    def check(self, query: str, snapshot: SchemaSnapshot) -> tuple[str, list[str]]:
        """``(normalised query, schema problems)``; raise ``QueryRefusedError`` for what is never allowed."""
        ...

    def used_objects(self, query: str, snapshot: SchemaSnapshot) -> list[str]:
        """Qualified names of the objects a checked ``query`` reads (its provenance), in order."""
        ...

    async def run(self, url: str, query: str, snapshot: SchemaSnapshot, limits: QueryLimits) -> QueryResult: ...

    def export(
        self, url: str, query: str, snapshot: SchemaSnapshot, limits: QueryLimits, max_rows: int, max_bytes: int
    ) -> AsyncIterator[list[str | None] | str]:
        """The whole result of a checked ``query``: the column names, then each row as CSV cells;
        a ``str`` last when a cap stopped it. Raises ``QueryExecutionError``."""
        ...


@dataclass(frozen=True)
class Engine:
    """One kind of user database, as the rest of the backend sees it (see ``registry.py``).

    ``kind`` is the stored connection kind; ``connector`` builds a ``Connector`` for a URL and
    raises ``ConnectorError`` for a malformed one; ``dialect`` builds the ``QueryDialect``
    asking uses; ``spelling`` is how names are written in the index's chunk text.
    """

    kind: str
    connector: Callable[[str, IntrospectOptions], Connector]
    dialect: Callable[[], QueryDialect]
    spelling: Spelling


BINARY_PREVIEW_BYTES = 64
MAX_DEPTH = 64


def json_value(value: Any, max_chars: int | None = None, _depth: int = 0) -> JsonValue:
    """A value a driver returned (psycopg or BSON) as JSON ``json.dumps`` writes without loss of meaning.

    Numbers stay numbers (non-finite ones become text; a Decimal that is a safe integer becomes
    an int), times are ISO 8601, binary is a base64 preview, containers are walked. The one rule
    for strings: with ``max_chars`` each string, nested ones included, keeps its first
    ``max_chars`` characters, silently (samples for the index); without it strings are whole,
    and a result's ``ResultCollector`` cuts long values with a mark.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return value if max_chars is None or len(value) <= max_chars else value[:max_chars]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if hasattr(value, "to_decimal"):  # bson's Decimal128
        value = value.to_decimal()
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return str(value)
        if value == value.to_integral_value() and abs(value) < 2**53:
            return int(value)
        as_float = float(value)
        # Past a double's range or precision the number is kept as its text, never as inf or a rounded value.
        return as_float if math.isfinite(as_float) and decimal.Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):  # bson's Binary is bytes
        raw = bytes(value)
        preview = base64.b64encode(raw[:BINARY_PREVIEW_BYTES]).decode()
        return "base64:" + preview + ("..." if len(raw) > BINARY_PREVIEW_BYTES else "")
    if isinstance(value, dict | list | tuple) and _depth >= MAX_DEPTH:
        # Deeper than anyone reads: the rest as JSON text, so a deep document cannot exhaust the stack.
        try:
            return json_value(json.dumps(value, default=str), max_chars)
        except (RecursionError, ValueError):
            return "[nested too deeply to show]"
    if isinstance(value, dict):
        return {str(k): json_value(v, max_chars, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v, max_chars, _depth + 1) for v in value]
    # timedelta, UUID, addresses and networks, ObjectId, Timestamp, Regex: their text form.
    return json_value(str(value), max_chars)


def csv_cell(value: Any) -> str | None:
    """A value as a CSV cell: text as is, JSON for numbers and structures, None for NULL."""
    shown = json_value(value)
    if shown is None or isinstance(shown, str):
        return shown
    return json.dumps(shown, ensure_ascii=False)
