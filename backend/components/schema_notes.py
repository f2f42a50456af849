"""The owner's notes laid onto a schema snapshot: ``SchemaSnapshot.note`` (the connection),
``ObjectInfo.note`` and ``ColumnInfo.note``.

The stored snapshot is what introspection read; notes live in their own table and are applied
wherever a snapshot is used (the chunks of an index run, the cached snapshot and keyword index
asking reads, the schema browser), so a re-index keeps them and a note changes without one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from backend.schemas.schema_snapshot import ObjectInfo, SchemaSnapshot


@dataclass(frozen=True)
class NoteTarget:
    """What a note is on: ``object_name`` "" is the connection, ``column_name`` "" the whole object."""

    object_name: str
    column_name: str
    text: str


def notes_stamp(notes: Iterable[NoteTarget]) -> str:
    """A short digest of a connection's notes: the part of a cache key that changes with them."""
    digest = hashlib.sha256()
    for note in sorted(notes, key=lambda n: (n.object_name, n.column_name)):
        digest.update(f"{note.object_name}\x00{note.column_name}\x00{note.text}\x01".encode())
    return digest.hexdigest()[:16]


def object_with_notes(obj: ObjectInfo, notes: dict[str, str]) -> ObjectInfo:
    """A copy of ``obj`` with its notes (``{column name or "": text}``); ``obj`` is left as it is."""
    columns = [c.model_copy(update={"note": notes.get(c.name) or None}) for c in obj.columns]
    return obj.model_copy(update={"note": notes.get("") or None, "columns": columns})


def apply_notes(snapshot: SchemaSnapshot, notes: Iterable[NoteTarget]) -> SchemaSnapshot:
    """A copy of ``snapshot`` with the notes on; objects without notes are shared, not copied.
    Notes on objects or columns the snapshot no longer has are left out (kept in the store)."""
    by_object: dict[str, dict[str, str]] = {}
    for note in notes:
        by_object.setdefault(note.object_name, {})[note.column_name] = note.text
    connection_note = by_object.pop("", {}).get("")
    objects = [
        object_with_notes(o, by_object[o.qualified_name]) if o.qualified_name in by_object else o
        for o in snapshot.objects
    ]
    return snapshot.model_copy(update={"objects": objects, "note": connection_note})
