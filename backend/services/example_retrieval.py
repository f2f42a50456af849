"""Which verified examples a question uses: the one it repeats (same ``normalise_question``),
and the few most like it, for the prompt.

Similar examples are found in two steps: the ``candidates`` nearest questions by embedding (an
exact search over all the connection's examples: in memory, one matrix of their unit vectors
reloaded when the examples change; past ``MATRIX_MAX_EXAMPLES`` a scan in pgvector), then a
keyword score over those candidates (the share of the question's stemmed content words the
example's question has, and the other way round), fused with the cosine similarity. Only
examples whose fused score reaches the floor go into a prompt, so an unrelated question gets
none. The question's embedding is the one retrieval already computed: no second embedding call.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.components.lexical_index import text_terms
from backend.components.vector_store import vector_literal

# The fused score: mostly meaning (the embedding), partly the words themselves, so "films of
# category Horror" stays near "how many Horror films" and a paraphrase is not lost.
EMBEDDING_WEIGHT = 0.7
EMBEDDING_DIMENSION = 384  # verified_examples.embedding is vector(384)
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


# A connection's examples are also kept in memory as one matrix of unit vectors, so "the
# nearest questions" is one matrix-vector product (about 1 ms at 10,000 examples) instead of a
# scan computing 10,000 distances in the store (8 ms p50, 20 ms p95 on 2 cores). The matrix is
# reloaded when the examples' stamp changes: their count and the newest row version (``xmin``:
# an insert or an update makes a newer one, a delete changes the count), read with the
# exact-twin lookup (which runs while the question is embedded, so it costs no wall time) or,
# without one, before the search.
STAMP_SQL = """
SELECT count(*), coalesce(max(xmin::text::bigint), 0) FROM verified_examples WHERE connection_id = :cid
"""
LOAD_SQL = """
SELECT id, question, query, language, used_objects, verified_by_email, verified_at, embedding::text
  FROM verified_examples WHERE connection_id = :cid
"""
# Past this many examples on one connection, the store's exact scan is used instead (memory).
MATRIX_MAX_EXAMPLES = 50_000
MATRIX_CONNECTIONS = 8
# A stamp read this recently (by the same question's exact lookup) is fresh enough.
STAMP_FRESH_S = 2.0


@dataclass(frozen=True)
class _Matrix:
    stamp: str
    examples: list[FoundExample]
    ids: dict[uuid.UUID, int]
    vectors: np.ndarray[Any, np.dtype[np.float32]]  # one unit row per example


def _unit_rows(texts: list[str], dimension: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    flat = np.array(",".join(t.strip("[]") for t in texts).split(","), dtype=np.float32)
    matrix = flat.reshape(len(texts), dimension)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: np.ndarray[Any, np.dtype[np.float32]] = (matrix / np.maximum(norms, np.float32(1e-12))).astype(np.float32)
    return unit


class ExampleRetriever:
    def __init__(self, engine: AsyncEngine):
        self._engine = engine
        self._matrices: OrderedDict[uuid.UUID, _Matrix] = OrderedDict()
        self._stamps: dict[uuid.UUID, tuple[str, int, float]] = {}  # stamp, count, when (monotonic)

    async def _read_stamp(self, conn: AsyncConnection, connection_id: uuid.UUID) -> tuple[str, int]:
        count, newest = (await conn.execute(text(STAMP_SQL), {"cid": connection_id})).one()
        digest = str(newest)
        self._stamps[connection_id] = (f"{count}:{digest}", int(count), time.monotonic())
        return f"{count}:{digest}", int(count)

    async def exact(
        self, connection_id: uuid.UUID, question_norm: str, excluded: Collection[uuid.UUID] = ()
    ) -> FoundExample | None:
        """The verified example asking the same question (``normalise_question``), if any. Reads
        the examples' stamp too, for ``similar`` right after."""
        params = {"cid": connection_id, "norm": question_norm, "excluded": list(excluded)}
        async with self._engine.connect() as conn:
            row = (await conn.execute(text(EXACT_SQL), params)).first()
            await self._read_stamp(conn, connection_id)
        return _found(tuple(row)) if row is not None else None

    async def stamp(self, connection_id: uuid.UUID) -> str:
        """The examples' stamp (count and newest row version): changes with any insert, update
        or delete. The one the exact-twin lookup has just read, else read now."""
        recent = self._stamps.get(connection_id)
        if recent is not None and time.monotonic() - recent[2] <= STAMP_FRESH_S:
            return recent[0]
        async with self._engine.connect() as conn:
            stamp, _ = await self._read_stamp(conn, connection_id)
        return stamp

    async def _matrix(self, connection_id: uuid.UUID) -> _Matrix | None:
        """The connection's examples in memory, as of now; None when there are too many."""
        recent = self._stamps.get(connection_id)
        cached = self._matrices.get(connection_id)
        if recent is not None and time.monotonic() - recent[2] <= STAMP_FRESH_S:
            if recent[1] > MATRIX_MAX_EXAMPLES:
                return None
            if cached is not None and cached.stamp == recent[0]:
                self._matrices.move_to_end(connection_id)
                return cached  # no round trip: the twin lookup has just read the stamp
        async with self._engine.connect() as conn:
            stamp, count = await self._read_stamp(conn, connection_id)
            if count > MATRIX_MAX_EXAMPLES:
                return None
            if cached is not None and cached.stamp == stamp:
                self._matrices.move_to_end(connection_id)
                return cached
            rows = (await conn.execute(text(LOAD_SQL), {"cid": connection_id})).all()
        examples = [_found(tuple(r[:7])) for r in rows]
        vectors = (
            await asyncio.to_thread(_unit_rows, [str(r[7]) for r in rows], EMBEDDING_DIMENSION)
            if rows
            else np.zeros((0, EMBEDDING_DIMENSION), dtype=np.float32)
        )
        matrix = _Matrix(stamp, examples, {e.id: i for i, e in enumerate(examples)}, vectors)
        self._matrices[connection_id] = matrix
        while len(self._matrices) > MATRIX_CONNECTIONS:
            self._matrices.popitem(last=False)
        return matrix

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
        n = max(candidates, limit)
        matrix = await self._matrix(connection_id)
        nearest: list[tuple[float, FoundExample]]
        if matrix is None:
            nearest = await self._scan(connection_id, vector, n, excluded)
        else:
            nearest = self._in_memory(matrix, vector, n, excluded)
        found = []
        for similarity, example in nearest:
            score = fused_score(similarity, keyword_score(question, example.question))
            if score >= floor:
                found.append(replace(example, similarity=round(similarity, 4), score=round(score, 4)))
        found.sort(key=lambda e: -e.score)
        return found[:limit]

    @staticmethod
    def _in_memory(
        matrix: _Matrix, vector: list[float], n: int, excluded: Collection[uuid.UUID]
    ) -> list[tuple[float, FoundExample]]:
        if not matrix.examples:
            return []
        q = np.asarray(vector, dtype=np.float32)
        q /= float(np.linalg.norm(q)) or 1.0
        # einsum, not ``@``: BLAS's threads made this 6 ms p50 (15 ms p95) on 2 busy cores, the
        # single-threaded loop 0.6 ms (4.6 ms p95).
        sims = np.einsum("ij,j->i", matrix.vectors, q)
        for example_id in excluded:
            if example_id in matrix.ids:
                sims[matrix.ids[example_id]] = -np.inf
        n = min(n, len(sims))
        top = np.argpartition(-sims, n - 1)[:n]
        top = top[np.argsort(-sims[top])]
        return [(float(sims[i]), matrix.examples[i]) for i in top if np.isfinite(sims[i])]

    async def _scan(
        self, connection_id: uuid.UUID, vector: list[float], n: int, excluded: Collection[uuid.UUID]
    ) -> list[tuple[float, FoundExample]]:
        params = {"q": vector_literal(vector), "cid": connection_id, "n": n, "excluded": list(excluded)}
        async with self._engine.connect() as conn:
            rows = (await conn.execute(text(NEAREST_EXAMPLES_SQL), params)).all()
        return [(1.0 - float(row[0]), _found(tuple(row[1:]))) for row in rows]
