"""Parsed join graphs and schema snapshots of indexed connections, kept in memory.

Keyed by ``(connection id, indexed_at)``: a re-index changes the key, so a stale entry is
never served, and old entries simply age out (least recently added first).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Generic, TypeVar

from backend.components.join_graph import JoinGraph
from backend.schemas.schema_snapshot import SchemaSnapshot

V = TypeVar("V")
Key = tuple[uuid.UUID, datetime]


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


class IndexCache:
    """What search and asking read of an index on every request, parsed once per index version."""

    def __init__(self, graphs: int = 64, snapshots: int = 16):
        self._graphs: _Bounded[JoinGraph] = _Bounded(graphs)
        self._snapshots: _Bounded[SchemaSnapshot] = _Bounded(snapshots)

    async def graph(self, key: Key, load: Callable[[], Awaitable[JoinGraph]]) -> JoinGraph:
        return await self._graphs.get(key, load)

    async def snapshot(self, key: Key, load: Callable[[], Awaitable[SchemaSnapshot]]) -> SchemaSnapshot:
        return await self._snapshots.get(key, load)
