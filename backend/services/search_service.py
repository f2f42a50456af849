"""Retrieval: vector + keyword hits fused by reciprocal rank, then expanded along foreign keys."""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterable

from backend.components.embedding_client import EmbeddingClient
from backend.components.vector_store import ChunkHit, VectorStore
from backend.config import SearchSettings
from backend.errors import ConflictError
from backend.schemas.connections import SearchOut, SearchResult
from backend.schemas.schema_snapshot import SchemaSnapshot
from backend.services.connection_service import ConnectionService

RRF_K = 60
# Anchors among the best hits between which join paths are looked for.
JOIN_ANCHORS = 3


def fuse(ranked_lists: Iterable[list[ChunkHit]]) -> list[tuple[str, float, ChunkHit]]:
    """Reciprocal-rank fusion per object; the best chunk of an object stands for it.

    Scores are scaled so that an object first in every list gets 1.0.
    """
    lists = list(ranked_lists)
    scores: dict[str, float] = {}
    best: dict[str, tuple[float, ChunkHit]] = {}
    for hits in lists:
        seen: set[str] = set()
        rank = 0
        for hit in hits:
            if hit.object_name in seen:
                continue
            seen.add(hit.object_name)
            rank += 1
            contribution = 1.0 / (RRF_K + rank)
            scores[hit.object_name] = scores.get(hit.object_name, 0.0) + contribution
            if hit.object_name not in best or best[hit.object_name][0] < contribution:
                best[hit.object_name] = (contribution, hit)
    ceiling = len(lists) / (RRF_K + 1) if lists else 1.0
    fused = [(name, score / ceiling, best[name][1]) for name, score in scores.items()]
    return sorted(fused, key=lambda item: (-item[1], item[0]))


def foreign_key_graph(snapshot: SchemaSnapshot) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {o.qualified_name: set() for o in snapshot.objects}
    for obj in snapshot.objects:
        for fk in obj.foreign_keys:
            if fk.target in graph and fk.target != fk.source:
                graph[fk.source].add(fk.target)
                graph[fk.target].add(fk.source)
    return graph


def shortest_path(graph: dict[str, set[str]], start: str, goal: str, max_hops: int) -> list[str] | None:
    if start not in graph or goal not in graph:
        return None
    queue: deque[list[str]] = deque([[start]])
    seen = {start}
    while queue:
        path = queue.popleft()
        if path[-1] == goal:
            return path
        if len(path) > max_hops:
            continue
        for nxt in sorted(graph[path[-1]]):
            if nxt not in seen:
                seen.add(nxt)
                queue.append([*path, nxt])
    return None


def join_objects(
    graph: dict[str, set[str]], references: dict[str, list[str]], anchors: list[str], max_hops: int
) -> list[str]:
    """Tables a query over the anchors is likely to join, anchors excluded.

    First the objects on the shortest foreign-key paths between any two anchors (the
    bridges of a join), then the tables the best hit references (its lookups, such as
    ``country`` for ``city``).
    """
    found: list[str] = []
    for i, a in enumerate(anchors):
        for b in anchors[i + 1 :]:
            path = shortest_path(graph, a, b, max_hops)
            for node in (path or [])[1:-1]:
                if node not in anchors and node not in found:
                    found.append(node)
    if anchors:
        for target in references.get(anchors[0], []):
            if target not in anchors and target not in found:
                found.append(target)
    return found


def outgoing_references(snapshot: SchemaSnapshot) -> dict[str, list[str]]:
    return {
        o.qualified_name: sorted({fk.target for fk in o.foreign_keys if fk.target != o.qualified_name})
        for o in snapshot.objects
    }


class SearchService:
    def __init__(
        self,
        connections: ConnectionService,
        embedder: EmbeddingClient,
        store: VectorStore,
        settings: SearchSettings,
    ):
        self._connections = connections
        self._embedder = embedder
        self._store = store
        self._settings = settings

    async def search(self, owner_id: uuid.UUID, connection_id: uuid.UUID, query: str, k: int | None) -> SearchOut:
        snapshot = await self._connections.snapshot(owner_id, connection_id)
        if snapshot is None:
            raise ConflictError("This connection has not been indexed yet; wait for its sync to succeed")
        return SearchOut(results=await self.retrieve(connection_id, snapshot, query, k))

    async def retrieve(
        self, connection_id: uuid.UUID, snapshot: SchemaSnapshot, query: str, k: int | None
    ) -> list[SearchResult]:
        k = min(k or self._settings.search_default_k, self._settings.search_max_k)
        candidates = max(self._settings.search_candidates, 4 * k)
        vector = (await self._embedder.embed([query]))[0]
        by_vector = await self._store.vector_search(connection_id, vector, candidates)
        by_keyword = await self._store.keyword_search(connection_id, query, candidates)
        by_name = await self._store.name_search(connection_id, query, candidates)
        fused = fuse([by_vector, by_keyword, by_name])[:k]
        results = [
            SearchResult(object=name, kind=hit.object_kind, score=round(score, 4), text=hit.text, via="search")
            for name, score, hit in fused
        ]
        anchors = [r.object for r in results[:JOIN_ANCHORS]]
        extra = join_objects(
            foreign_key_graph(snapshot), outgoing_references(snapshot), anchors, self._settings.search_join_hops
        )
        if extra:
            texts = await self._store.first_chunks(connection_id, extra)
            objects = snapshot.by_name()
            results.extend(
                SearchResult(object=name, kind=objects[name].kind, score=0.0, text=texts.get(name, ""), via="join")
                for name in extra
                if name not in {r.object for r in results}
            )
        return results
