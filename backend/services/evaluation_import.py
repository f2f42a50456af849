"""Reading an evaluation set from a file's text (JSONL or CSV) and checking each expected query
with the engine's guard: pure apart from the guard, which the caller runs off the event loop."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from backend.engines.base import QueryDialect, QueryRefusedError
from backend.schemas.evaluations import MAX_CASES, RefusedLine
from backend.schemas.schema_snapshot import SchemaSnapshot

MAX_QUESTION_CHARS = 4000
MAX_QUERY_CHARS = 20_000
QUERY_KEYS = ("query", "expected_query", "sql")


@dataclass(frozen=True)
class ParsedCase:
    line: int
    question: str
    query: str


def _query_text(value: Any) -> str | None:
    """The query as text: a string as it is; a MongoDB ``{collection, pipeline}`` object as JSON."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return json.dumps(value)
    return None


def _case(line: int, record: dict[str, Any]) -> ParsedCase | RefusedLine:
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        return RefusedLine(line=line, reason='no "question"')
    raw = next((record[k] for k in QUERY_KEYS if record.get(k) not in (None, "")), None)
    if raw is None and "collection" in record:  # a MongoDB line may be the query object itself
        raw = {k: v for k, v in record.items() if k != "question"}
    query = _query_text(raw)
    if query is None:
        return RefusedLine(line=line, reason='no "query" (or "expected_query", "sql")')
    if len(question) > MAX_QUESTION_CHARS:
        return RefusedLine(line=line, reason=f"the question is longer than {MAX_QUESTION_CHARS} characters")
    if len(query) > MAX_QUERY_CHARS:
        return RefusedLine(line=line, reason=f"the query is longer than {MAX_QUERY_CHARS} characters")
    return ParsedCase(line=line, question=question.strip(), query=query)


def parse_jsonl(content: str) -> list[ParsedCase | RefusedLine]:
    out: list[ParsedCase | RefusedLine] = []
    for number, text in enumerate(content.splitlines(), start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            out.append(RefusedLine(line=number, reason=f"not valid JSON: {exc.msg}"))
            continue
        if not isinstance(record, dict):
            out.append(RefusedLine(line=number, reason="not a JSON object"))
            continue
        out.append(_case(number, record))
    return out


def parse_csv(content: str) -> list[ParsedCase | RefusedLine]:
    reader = csv.reader(io.StringIO(content))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return []
    except csv.Error as exc:
        return [RefusedLine(line=1, reason=f"not valid CSV: {exc}")]
    if "question" not in header or not any(k in header for k in QUERY_KEYS):
        return [RefusedLine(line=1, reason="the header must name the columns question and query")]
    out: list[ParsedCase | RefusedLine] = []
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            out.append(RefusedLine(line=start, reason=f"not valid CSV: {exc}"))
            break
        if any(cell.strip() for cell in row):
            out.append(_case(start, dict(zip(header, row, strict=False))))
        start = reader.line_num + 1
    return out


def parse(fmt: str, content: str) -> list[ParsedCase | RefusedLine]:
    return parse_jsonl(content) if fmt == "jsonl" else parse_csv(content)


def check_cases(
    items: list[ParsedCase | RefusedLine], dialect: QueryDialect, snapshot: SchemaSnapshot, room: int = MAX_CASES
) -> tuple[list[ParsedCase], list[RefusedLine]]:
    """The cases whose expected query the guard lets through (at most ``room`` of them), and
    every refused line with its reason. Blocking: run it in a thread."""
    kept: list[ParsedCase] = []
    refused: list[RefusedLine] = []
    for item in items:
        if isinstance(item, RefusedLine):
            refused.append(item)
            continue
        if len(kept) >= room:
            refused.append(RefusedLine(line=item.line, reason=f"an evaluation set holds at most {MAX_CASES} questions"))
            continue
        try:
            _, problems = dialect.check(item.query, snapshot)
        except QueryRefusedError as exc:
            refused.append(RefusedLine(line=item.line, reason=f"refused by the guard: {exc}"))
            continue
        if problems:
            refused.append(RefusedLine(line=item.line, reason="; ".join(problems)))
            continue
        kept.append(item)
    return kept, refused
