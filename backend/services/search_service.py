"""Retrieval: vector + keyword hits fused by reciprocal rank, then expanded along foreign keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from backend.components.embedding_client import EmbeddingClient
from backend.components.join_graph import JoinGraph
from backend.components.vector_store import ChunkHit, VectorStore
from backend.config import SearchSettings
from backend.schemas.connections import SearchOut, SearchResult
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
        graph = await self._connections.join_graph(owner_id, connection_id)
        return SearchOut(results=await self.retrieve(connection_id, graph, query, k))

    async def retrieve(
        self, connection_id: uuid.UUID, graph: JoinGraph, query: str, k: int | None
    ) -> list[SearchResult]:
        vector = (await self._embedder.embed([query]))[0]
        return await self.rank(connection_id, graph, query, vector, k)

    async def rank(
        self, connection_id: uuid.UUID, graph: JoinGraph, query: str, vector: list[float], k: int | None
    ) -> list[SearchResult]:
        """Retrieval for an already embedded question: fuse the three rankings, add join tables."""
        k = min(k or self._settings.search_default_k, self._settings.search_max_k)
        candidates = max(self._settings.search_candidates, 4 * k)
        ranked = await self._store.search(connection_id, vector, query, candidates)
        fused = fuse([ranked.by_vector, ranked.by_keyword, ranked.by_name])[:k]
        results = [
            SearchResult(object=name, kind=hit.object_kind, score=round(score, 4), text=hit.text, via="search")
            for name, score, hit in fused
        ]
        anchors = [r.object for r in results[:JOIN_ANCHORS]]
        extra = graph.join_objects(anchors, self._settings.search_join_hops)
        if extra:
            texts = await self._store.first_chunks(connection_id, extra)
            results.extend(
                SearchResult(
                    object=name, kind=graph.kinds.get(name, "table"), score=0.0, text=texts.get(name, ""), via="join"
                )
                for name in extra
            )
        return results
