"""What search reads of an indexed connection (its join graph and keyword index) and the
schema snapshots asking reads, parsed once and kept in memory.

Keyed by ``(connection id, indexed_at, notes stamp)``: a re-index or a changed note
(``schema_notes.notes_stamp``) changes the key, so a stale entry is never served, and old
entries simply age out (least recently added first) or are dropped by ``forget``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from backend.components.join_graph import JoinGraph
from backend.components.lexical_index import LexicalIndex
from backend.schemas.schema_snapshot import SchemaSnapshot

V = TypeVar("V")
Key = tuple[uuid.UUID, datetime, str]


class _Bounded(Generic[V]):
    def __init__(self, size: int):
        self._size = size
        self._items: dict[Key, V] = {}

    async def get(self, key: Key, load: Callable[[], Awaitable[V]]) -> V:
        found = self._items.get(key)
        if found is None:
            found = await load()
            if len(self._items) >= self._size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = found
        return found

    def forget(self, connection_id: uuid.UUID) -> None:
        for key in [k for k in self._items if k[0] == connection_id]:
            del self._items[key]


@dataclass(frozen=True)
class SearchIndex:
    """The in-memory half of a connection's index: foreign keys and keywords."""

    graph: JoinGraph
    lexicon: LexicalIndex


class IndexCache:
    """What search and asking read of an index on every request, parsed once per index version."""

    def __init__(self, indexes: int = 32, snapshots: int = 16):
        self._indexes: _Bounded[SearchIndex] = _Bounded(indexes)
        self._snapshots: _Bounded[SchemaSnapshot] = _Bounded(snapshots)

    async def search_index(self, key: Key, load: Callable[[], Awaitable[SearchIndex]]) -> SearchIndex:
        return await self._indexes.get(key, load)

    async def snapshot(self, key: Key, load: Callable[[], Awaitable[SchemaSnapshot]]) -> SchemaSnapshot:
        return await self._snapshots.get(key, load)

    def forget(self, connection_id: uuid.UUID) -> None:
        """Drop a connection's entries (its notes changed): they would only age out otherwise."""
        self._indexes.forget(connection_id)
        self._snapshots.forget(connection_id)
