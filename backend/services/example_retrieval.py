"""Which verified examples a question uses: the one it repeats (same ``normalise_question``),
and the few most like it, for the prompt.

Similar examples are found in two steps: the ``candidates`` nearest questions by embedding (an
exact scan of the connection's examples in pgvector, like the chunks' ``NEAREST_SQL``), then a
keyword score over those candidates (the share of the question's stemmed content words the
example's question has, and the other way round), fused with the cosine similarity. Only
examples whose fused score reaches the floor go into a prompt, so an unrelated question gets
none. The question's embedding is the one retrieval already computed: no second embedding call.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.components.lexical_index import text_terms
from backend.components.vector_store import vector_literal

# The fused score: mostly meaning (the embedding), partly the words themselves, so "films of
# category Horror" stays near "how many Horror films" and a paraphrase is not lost.
EMBEDDING_WEIGHT = 0.7
KEYWORD_WEIGHT = 0.3

EXACT_SQL = """
SELECT id, question, query, language, used_objects, verified_by_email, verified_at FROM verified_examples
 WHERE connection_id = :cid AND question_norm = :norm AND NOT (id = ANY(CAST(:excluded AS uuid[])))
"""
# An exact scan of the connection's examples (the vectors are stored in the row, migration
# 0009): nothing missed, no ANN graph. The inner query sorts only ids and distances; the
# details of the few nearest are read after, by primary key (a wide sort was 1.5x slower).
NEAREST_EXAMPLES_SQL = """
SELECT n.distance, e.id, e.question, e.query, e.language, e.used_objects, e.verified_by_email, e.verified_at
  FROM (SELECT id, embedding <=> CAST(:q AS vector) AS distance FROM verified_examples
         WHERE connection_id = :cid AND NOT (id = ANY(CAST(:excluded AS uuid[])))
         ORDER BY distance LIMIT :n) AS n
  JOIN verified_examples e ON e.id = n.id
 ORDER BY n.distance
"""


@dataclass(frozen=True)
class FoundExample:
    id: uuid.UUID
    question: str
    query: str
    language: str
    used_objects: list[str]
    verified_by_email: str | None
    verified_at: datetime
    similarity: float = 1.0  # cosine similarity of the questions' embeddings
    score: float = 1.0  # the fused score the floor is applied to


def keyword_score(question: str, other: str) -> float:
    """How much two questions share their content words: the mean of both coverages (0..1)."""
    mine, theirs = set(text_terms(question)), set(text_terms(other))
    if not mine or not theirs:
        return 0.0
    shared = len(mine & theirs)
    return (shared / len(mine) + shared / len(theirs)) / 2


def fused_score(similarity: float, keywords: float) -> float:
    return EMBEDDING_WEIGHT * similarity + KEYWORD_WEIGHT * keywords


def _found(row: tuple[object, ...], similarity: float = 1.0, score: float = 1.0) -> FoundExample:
    ex_id, question, query, language, used, email, at = row
    assert isinstance(ex_id, uuid.UUID) and isinstance(at, datetime)
    return FoundExample(
        id=ex_id,
        question=str(question),
        query=str(query),
        language=str(language),
        used_objects=[str(o) for o in used] if isinstance(used, list) else [],
        verified_by_email=str(email) if email is not None else None,
        verified_at=at,
        similarity=similarity,
        score=score,
    )


class ExampleRetriever:
    def __init__(self, engine: AsyncEngine):
        self._engine = engine

    async def exact(
        self, connection_id: uuid.UUID, question_norm: str, excluded: Collection[uuid.UUID] = ()
    ) -> FoundExample | None:
        """The verified example asking the same question (``normalise_question``), if any."""
        params = {"cid": connection_id, "norm": question_norm, "excluded": list(excluded)}
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(EXACT_SQL), params)).first()
        return _found(tuple(row)) if row is not None else None

    async def similar(
        self,
        connection_id: uuid.UUID,
        question: str,
        vector: list[float],
        *,
        limit: int,
        floor: float,
        candidates: int,
        excluded: Collection[uuid.UUID] = (),
    ) -> list[FoundExample]:
        """At most ``limit`` examples whose fused score reaches ``floor``, best first."""
        if limit <= 0:
            return []
        params = {
            "q": vector_literal(vector),
            "cid": connection_id,
            "n": max(candidates, limit),
            "excluded": list(excluded),
        }
        async with self._engine.connect() as conn:
            rows = (await conn.execute(text(NEAREST_EXAMPLES_SQL), params)).all()
        found = []
        for row in rows:
            similarity = 1.0 - float(row[0])
            score = fused_score(similarity, keyword_score(question, str(row[2])))
            if score >= floor:
                found.append(_found(tuple(row[1:]), round(similarity, 4), round(score, 4)))
        found.sort(key=lambda e: -e.score)
        return found[:limit]
