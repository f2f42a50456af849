"""Retrieval: which schema objects a question is about, and which a prompt should describe.

One question costs one embedding, one nearest-neighbour query on pgvector and one read of
chunk texts; keywords, values, namespaces and foreign keys come from the in-memory
``SearchIndex``. Ranking and context rules are pure functions in ``components.ranking``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from backend.components.answer_cache import AnswerCache, NoCache
from backend.components.embedding_client import EmbeddingClient
from backend.components.index_cache import SearchIndex
from backend.components.lexical_index import ValueHit
from backend.components.ranking import (
    ContextItem,
    ContextRule,
    Ranked,
    RankingWeights,
    build_context,
    rank_objects,
)
from backend.components.vector_store import VectorStore
from backend.config import SearchSettings
from backend.schemas.connections import SearchOut, SearchResult
from backend.services.connection_service import ConnectionService


@dataclass(frozen=True)
class Ranking:
    """One question's ranked objects, the stored values it names, and the chunk texts already fetched."""

    ranked: list[Ranked]
    value_hits: list[ValueHit]
    texts: dict[str, str]


class SearchService:
    def __init__(
        self,
        connections: ConnectionService,
        embedder: EmbeddingClient,
        store: VectorStore,
        settings: SearchSettings,
        weights: RankingWeights | None = None,
        cache: AnswerCache | None = None,
        embedding_model: str = "",
    ):
        self._cache = cache or NoCache()
        self._embedding_model = embedding_model
        self._connections = connections
        self._embedder = embedder
        self._store = store
        self._settings = settings
        self._weights = weights or RankingWeights()

    async def search(self, owner_id: uuid.UUID, connection_id: uuid.UUID, query: str, k: int | None) -> SearchOut:
        """The ``k`` best objects (``via="search"``), then the tables that join them (``via="join"``)."""
        index = await self._connections.search_index(owner_id, connection_id)
        k = min(k or self._settings.search_default_k, self._settings.search_max_k)
        ranking = await self._rank(connection_id, index, query)
        rule = ContextRule(
            min_hits=k, max_hits=k, value_objects=0, join_hops=self._settings.search_join_hops, max_objects=k + 50
        )
        items = build_context(ranking.ranked, [], index.graph, rule)
        return SearchOut(results=await self._results(connection_id, index, items, ranking))

    async def embed(self, question: str) -> list[float]:
        """The question's embedding, for callers that use it twice (retrieval and examples); from
        the embedding cache (Redis, keyed by the model and the text) when it has it."""
        found = await self._cache.get_embedding(self._embedding_model, question)
        if found is not None:
            return found
        vector = (await self._embedder.embed([question]))[0]
        await self._cache.put_embedding(self._embedding_model, question, vector)
        return vector

    async def retrieve(
        self,
        connection_id: uuid.UUID,
        index: SearchIndex,
        question: str,
        top_k: int,
        vector: list[float] | None = None,
    ) -> list[SearchResult]:
        """The objects a prompt for ``question`` describes, best first (see ``ContextRule``);
        ``vector``: the question's embedding when the caller has it already."""
        if vector is None:
            vector = await self.embed(question)
        ranking = await self.rank(connection_id, index, question, vector)
        settings = self._settings
        rule = ContextRule(
            min_hits=min(settings.search_context_min_hits, top_k),
            max_hits=top_k,
            relative_score=settings.search_context_relative_score,
            value_objects=settings.search_context_value_objects,
            join_hops=settings.search_join_hops,
            max_objects=settings.search_context_max_objects,
        )
        items = build_context(ranking.ranked, ranking.value_hits, index.graph, rule)
        return await self._results(connection_id, index, items, ranking)

    async def _rank(self, connection_id: uuid.UUID, index: SearchIndex, question: str) -> Ranking:
        vector = await self.embed(question)
        return await self.rank(connection_id, index, question, vector)

    async def rank(self, connection_id: uuid.UUID, index: SearchIndex, question: str, vector: list[float]) -> Ranking:
        """The ranking of an already embedded question (one pgvector query, the rest in memory)."""
        nearest = await self._store.search(connection_id, vector, self._settings.search_candidates)
        texts: dict[str, str] = {}
        for hit in nearest:
            texts.setdefault(hit.object_name, hit.text)
        value_hits = index.lexicon.value_hits(question)
        ranked = rank_objects(
            question,
            [hit.object_name for hit in nearest],
            index.lexicon,
            self._weights,
            self._settings.search_candidates,
            value_hits,
        )
        return Ranking(ranked, value_hits, texts)

    async def _results(
        self, connection_id: uuid.UUID, index: SearchIndex, items: list[ContextItem], ranking: Ranking
    ) -> list[SearchResult]:
        texts = dict(ranking.texts)
        missing = [item.name for item in items if item.name not in texts]
        if missing:
            texts.update(await self._store.first_chunks(connection_id, missing))
        return [
            SearchResult(
                object=item.name,
                kind=index.graph.kinds.get(item.name, "table"),
                score=round(item.score, 4),
                text=texts.get(item.name, ""),
                via=item.via,
            )
            for item in items
        ]
