"""Verified examples as files: reading an imported JSONL or CSV file into rows, and writing the
export that import reads back.

JSONL: one ``{"question": ..., "query": ...}`` object per line; for MongoDB the query may be the
JSON text the Mongo dialect uses or the object ``{"collection": ..., "pipeline": [...]}`` itself
(the export writes the object, the more readable of the two). CSV: the header
``question,query``, then one example per record (quoted fields may span lines).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass

from backend.errors import PayloadTooLargeError, UnprocessableError
from backend.schemas.examples import ExampleFormat

MAX_IMPORT_BYTES = 2_000_000
MAX_IMPORT_ROWS = 1_000
MAX_QUESTION_CHARS = 4_000
MAX_QUERY_CHARS = 20_000


@dataclass(frozen=True)
class ImportRow:
    """One example of a file, or why it cannot be one (``problem``), at its ``line``."""

    line: int
    question: str
    query: str
    problem: str | None = None


def parse_import(fmt: ExampleFormat, content: str) -> list[ImportRow]:
    """The rows of an imported file; 413 past ``MAX_IMPORT_BYTES``, 422 past ``MAX_IMPORT_ROWS``
    or for a CSV without the ``question,query`` header. A bad line is a row with a ``problem``."""
    if len(content.encode("utf-8", "surrogatepass")) > MAX_IMPORT_BYTES:
        raise PayloadTooLargeError(f"The file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB; split it")
    rows = _jsonl_rows(content) if fmt == "jsonl" else _csv_rows(content)
    if len(rows) > MAX_IMPORT_ROWS:
        raise UnprocessableError(f"The file has {len(rows):,} examples; at most {MAX_IMPORT_ROWS:,} at a time")
    return rows


def _checked(line: int, question: object, query: object) -> ImportRow:
    text = question.strip() if isinstance(question, str) else ""
    if isinstance(query, dict):
        query = json.dumps(query)
    body = query.strip() if isinstance(query, str) else ""
    problem = None
    if not text:
        problem = "No question"
    elif not body:
        problem = "No query"
    elif "\x00" in text or "\x00" in body:
        problem = "The line holds a NUL character"
    elif len(text) > MAX_QUESTION_CHARS:
        problem = f"The question is longer than {MAX_QUESTION_CHARS:,} characters"
    elif len(body) > MAX_QUERY_CHARS:
        problem = f"The query is longer than {MAX_QUERY_CHARS:,} characters"
    return ImportRow(line, text, body, problem)


def _jsonl_rows(content: str) -> list[ImportRow]:
    rows: list[ImportRow] = []
    for number, raw in enumerate(content.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            rows.append(ImportRow(number, "", "", f"Not JSON: {exc.msg}"))
            continue
        if not isinstance(item, dict):
            rows.append(ImportRow(number, "", "", 'Not an object with "question" and "query"'))
            continue
        rows.append(_checked(number, item.get("question"), item.get("query")))
    return rows


def _csv_rows(content: str) -> list[ImportRow]:
    reader = csv.reader(io.StringIO(content.lstrip("\ufeff"), newline=""))
    try:
        header = [h.strip().casefold() for h in next(reader)]
    except StopIteration:
        return []
    except csv.Error as exc:
        raise UnprocessableError(f"Not a CSV file: {exc}") from None
    if "question" not in header or "query" not in header:
        raise UnprocessableError('The CSV file needs the header "question,query"')
    q_at, s_at = header.index("question"), header.index("query")
    rows: list[ImportRow] = []
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rows.append(ImportRow(start, "", "", f"Not a CSV record: {exc}"))
            break
        if not any(cell.strip() for cell in record):
            continue
        question = record[q_at] if q_at < len(record) else ""
        query = record[s_at] if s_at < len(record) else ""
        rows.append(_checked(start, question, query))
    return rows


def export_text(fmt: ExampleFormat, examples: Iterable[tuple[str, str, str]]) -> str:
    """The file of ``(question, query, language)`` examples, in ``fmt``."""
    if fmt == "jsonl":
        lines = []
        for question, query, language in examples:
            value: object = query
            if language == "mongo":
                try:
                    value = json.loads(query)
                except json.JSONDecodeError:
                    value = query
            lines.append(json.dumps({"question": question, "query": value}, ensure_ascii=False))
        return "".join(line + "\n" for line in lines)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["question", "query"])
    for question, query, _language in examples:
        writer.writerow([question, query])
    return out.getvalue()
