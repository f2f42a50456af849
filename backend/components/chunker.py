"""Turn a ``SchemaSnapshot`` into text chunks: one per table/view, split when very wide.

The text is written for two readers: the embedding model (names first, so the
model's 256-token window sees what matters) and the LLM prompt later on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from backend.schemas.schema_snapshot import ColumnInfo, ObjectInfo, SchemaSnapshot

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^0-9A-Za-z]+")
# Low-cardinality values are listed for recognition, not reading: long ones are cut.
VALUE_LIST_CHARS = 60


@dataclass(frozen=True)
class ChunkDraft:
    object_name: str
    object_kind: str
    part: int
    text: str
    embed_text: str

    def content_hash(self, model: str) -> str:
        """Stable identity of what gets embedded; equal hashes may reuse an embedding."""
        return hashlib.sha256(f"{model}\n{self.embed_text}".encode()).hexdigest()


def identifier_words(identifier: str) -> list[str]:
    """Split ``film_actor``, ``FilmActor`` and ``"filmActor"`` into lower-case words."""
    words: list[str] = []
    for piece in _NON_WORD.split(identifier):
        words.extend(w.lower() for w in _CAMEL.split(piece) if w)
    return words


@dataclass(frozen=True)
class Spelling:
    """How names are written in chunk text: SQL-quoted for PostgreSQL, as they are for MongoDB."""

    ident: Callable[[str], str]
    name: Callable[[str], str]


PLAIN_SPELLING = Spelling(str, str)


def _cut(value: str) -> str:
    return value if len(value) <= VALUE_LIST_CHARS else value[: VALUE_LIST_CHARS - 3] + "..."


def _flat(text: str) -> str:
    """A note on one line, as comments are in prompts."""
    return " ".join(text.split())


def _column_line(col: ColumnInfo, obj: ObjectInfo, fk_by_column: dict[str, str], spell: Spelling) -> str:
    attrs = [col.type]
    if col.name in obj.primary_key:
        attrs.append("primary key")
    if not col.nullable:
        attrs.append("not null")
    if col.name in fk_by_column:
        attrs.append(f"references {fk_by_column[col.name]}")
    if col.generated:
        attrs.append(f"generated as {col.generated}")
    if col.pii:
        attrs.append(f"personal data: {col.pii}")
    line = f"- {spell.ident(col.name)} ({', '.join(attrs)})"
    if col.comment:
        line += f": {col.comment}"
    if col.values:
        line += "; values: " + ", ".join(_cut(v) for v in col.values)
    if col.note:
        line += f"; note: {_flat(col.note)}"
    return line


def _header(obj: ObjectInfo, part: int, parts: int, spell: Spelling) -> list[str]:
    kind = obj.kind.replace("_", " ")
    title = f"{kind.capitalize()} {spell.name(obj.qualified_name)}"
    if parts > 1:
        title += f" (columns part {part + 1} of {parts})"
    lines = [title]
    if obj.row_estimate is not None:
        lines.append(f"Rows: about {obj.row_estimate}")
    if obj.comment:
        lines.append(f"Comment: {obj.comment}")
    if obj.note:
        lines.append(f"Note: {_flat(obj.note)}")
    if obj.primary_key:
        lines.append(f"Primary key: {', '.join(map(spell.ident, obj.primary_key))}")
    return lines


def _links(obj: ObjectInfo, spell: Spelling) -> list[str]:
    lines: list[str] = []
    for fk in obj.foreign_keys:
        cols = ", ".join(map(spell.ident, fk.columns))
        refs = ", ".join(map(spell.ident, fk.ref_columns))
        lines.append(f"Joins {spell.name(fk.target)} on ({cols}) = ({refs})")
    for fk in obj.referenced_by:
        lines.append(f"Referenced by {spell.name(fk.source)} ({', '.join(map(spell.ident, fk.columns))})")
    if obj.partitions:
        lines.append("Partitions: " + ", ".join(map(spell.name, obj.partitions)))
    if obj.indexes:
        lines.append("Indexes: " + "; ".join(obj.indexes))
    return lines


def _sample_lines(obj: ObjectInfo, columns: list[ColumnInfo]) -> list[str]:
    names = [c.name for c in columns]
    lines = []
    for row in obj.samples:
        cells = [f"{n}={'NULL' if row[n] is None else row[n]}" for n in names if n in row]
        lines.append("  " + " | ".join(cells))
    return ["Sample rows:", *lines] if lines else []


def _words(identifier: str) -> str:
    return " ".join(identifier_words(identifier))


def _embed_text(obj: ObjectInfo, columns: list[ColumnInfo], part: int) -> str:
    """A short, word-like description for the embedding model.

    MiniLM reads 256 tokens and knows words, not ``snake_case``: names are split into
    words and types, samples and syntax are left to the display text.
    """
    kind = obj.kind.replace("_", " ")
    pieces = [f"{kind} {_words(obj.name)}"]
    if obj.comment:
        pieces.append(obj.comment)
    if obj.note:
        # The owner's words for what the object means: early, inside the model's window.
        pieces.append(_flat(obj.note))
    pieces.append("columns: " + ", ".join(_words(c.name) for c in columns))
    if part == 0:
        targets = sorted({_words(fk.target.partition(".")[2]) for fk in obj.foreign_keys})
        sources = sorted({_words(fk.source.partition(".")[2]) for fk in obj.referenced_by})
        if targets:
            pieces.append("refers to " + ", ".join(targets))
        if sources:
            pieces.append("used by " + ", ".join(sources))
    described = [f"{_words(c.name)}: {c.comment}" for c in columns if c.comment]
    described += [f"{_words(c.name)}: {_flat(c.note)}" for c in columns if c.note]
    valued = [f"{_words(c.name)} such as {', '.join(_cut(v) for v in c.values[:8])}" for c in columns if c.values]
    pieces.extend(described + valued)
    return ". ".join(pieces)


def chunk_object(obj: ObjectInfo, max_columns: int, spell: Spelling) -> list[ChunkDraft]:
    fk_by_column: dict[str, str] = {}
    for fk in obj.foreign_keys:
        for col, ref in zip(fk.columns, fk.ref_columns, strict=False):
            fk_by_column[col] = f"{spell.name(fk.target)}.{spell.ident(ref)}"
    groups = [obj.columns[i : i + max_columns] for i in range(0, len(obj.columns), max_columns)] or [[]]
    drafts = []
    for part, columns in enumerate(groups):
        lines = _header(obj, part, len(groups), spell)
        lines.append("Columns:")
        lines.extend(_column_line(c, obj, fk_by_column, spell) for c in columns)
        if part == 0:
            lines.extend(_links(obj, spell))
        lines.extend(_sample_lines(obj, columns))
        drafts.append(
            ChunkDraft(
                object_name=obj.qualified_name,
                object_kind=obj.kind,
                part=part,
                text="\n".join(lines),
                embed_text=_embed_text(obj, columns, part),
            )
        )
    return drafts


def chunk_snapshot(snapshot: SchemaSnapshot, max_columns: int, spell: Spelling) -> list[ChunkDraft]:
    return [draft for obj in snapshot.objects for draft in chunk_object(obj, max_columns, spell)]
