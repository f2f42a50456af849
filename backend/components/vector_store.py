"""The ``VectorStore`` seam and ``PgVectorStore``: chunks with embeddings in pgvector plus
Postgres full-text keywords, always scoped to one connection."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_TERM = re.compile(r"[0-9A-Za-z]+")


@dataclass(frozen=True)
class StoredChunk:
    object_name: str
    object_kind: str
    part: int
    text: str
    name_keywords: str
    keywords: str
    content_hash: str
    embedding: list[float]


@dataclass(frozen=True)
class ChunkHit:
    object_name: str
    object_kind: str
    part: int
    text: str
    score: float


def vector_literal(vector: list[float]) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


def keyword_query(question: str) -> str | None:
    """An OR of terms for ``to_tsquery('english', ...)``; ``None`` when nothing is left.

    Prefix matching lets "rented" (stem ``rent``) find ``rental`` and "films" find ``film_actor``.
    Only ``[0-9A-Za-z]`` survive, so the expression cannot carry tsquery syntax from the user.
    """
    terms = sorted({t.lower() for t in _TERM.findall(question) if len(t) >= 3})
    return " | ".join(f"{t}:*" for t in terms) or None


@dataclass(frozen=True)
class RankedHits:
    """The three ranked lists one search produces, best first."""

    by_vector: list[ChunkHit]
    by_keyword: list[ChunkHit]
    by_name: list[ChunkHit]


class VectorStore(Protocol):
    async def embeddings_by_hash(self, connection_id: uuid.UUID) -> dict[str, list[float]]: ...

    async def replace(self, conn: AsyncConnection, connection_id: uuid.UUID, chunks: list[StoredChunk]) -> None: ...

    async def search(self, connection_id: uuid.UUID, vector: list[float], question: str, limit: int) -> RankedHits: ...

    async def first_chunks(self, connection_id: uuid.UUID, object_names: list[str]) -> dict[str, str]: ...


# One round trip for three rankings:
# - vec: cosine distance through the HNSW index (iterative scans are enabled per connection
#   in ``backend.db.store`` so that the connection filter does not starve the index);
# - kw: prefix keywords over the weighted tsvector (object names weigh most);
# - nm: objects whose whole name is made of the question's words, stemmed, so that
#   "films in each category" names film, category and film_category; longer names first.
HYBRID_SQL = """
WITH q AS (SELECT to_tsquery('english', CAST(:expr AS text)) AS tq,
                  tsvector_to_array(to_tsvector('english', CAST(:question AS text))) AS words),
vec AS (SELECT id, 'vector' AS list, 1 - (embedding <=> CAST(:q AS vector)) AS score FROM chunks
         WHERE connection_id = :cid ORDER BY embedding <=> CAST(:q AS vector) LIMIT :n),
kw AS (SELECT c.id, 'keyword' AS list, ts_rank(c.tsv, q.tq) AS score FROM chunks c, q
        WHERE c.connection_id = :cid AND c.tsv @@ q.tq ORDER BY score DESC, c.object_name LIMIT :n),
nm AS (SELECT c.id, 'name' AS list, cardinality(c.name_words)::float8 AS score FROM chunks c, q
        WHERE c.connection_id = :cid AND c.part = 0 AND cardinality(c.name_words) > 0
          AND c.name_words <@ q.words ORDER BY score DESC, c.object_name LIMIT :n)
SELECT r.list, r.score, c.object_name, c.object_kind, c.part, c.text
  FROM (SELECT * FROM vec UNION ALL SELECT * FROM kw UNION ALL SELECT * FROM nm) r JOIN chunks c ON c.id = r.id
"""


class PgVectorStore:
    def __init__(self, engine: AsyncEngine):
        self._engine = engine

    async def embeddings_by_hash(self, connection_id: uuid.UUID) -> dict[str, list[float]]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT content_hash, embedding::text FROM chunks WHERE connection_id = :cid"),
                {"cid": connection_id},
            )
            return {h: [float(x) for x in e.strip("[]").split(",")] for h, e in rows}

    async def replace(self, conn: AsyncConnection, connection_id: uuid.UUID, chunks: list[StoredChunk]) -> None:
        """Swap the whole index of a connection inside the caller's transaction."""
        await conn.execute(text("DELETE FROM chunks WHERE connection_id = :cid"), {"cid": connection_id})
        if not chunks:
            return
        await conn.execute(
            text(
                "INSERT INTO chunks (connection_id, object_name, object_kind, part, text, name_keywords,"
                " keywords, content_hash, embedding) VALUES (:cid, :object_name, :object_kind, :part, :text,"
                " :name_keywords, :keywords, :content_hash, CAST(:embedding AS vector))"
            ),
            [
                {
                    "cid": connection_id,
                    "object_name": c.object_name,
                    "object_kind": c.object_kind,
                    "part": c.part,
                    "text": c.text,
                    "name_keywords": c.name_keywords,
                    "keywords": c.keywords,
                    "content_hash": c.content_hash,
                    "embedding": vector_literal(c.embedding),
                }
                for c in chunks
            ],
        )

    async def search(self, connection_id: uuid.UUID, vector: list[float], question: str, limit: int) -> RankedHits:
        params = {
            "q": vector_literal(vector),
            "expr": keyword_query(question),
            "question": question,
            "cid": connection_id,
            "n": limit,
        }
        lists: dict[str, list[ChunkHit]] = {"vector": [], "keyword": [], "name": []}
        async with self._engine.connect() as conn:
            for row in await conn.execute(text(HYBRID_SQL), params):
                lists[row[0]].append(ChunkHit(row[2], row[3], row[4], row[5], float(row[1])))
        for hits in lists.values():
            hits.sort(key=lambda h: (-h.score, h.object_name, h.part))
        return RankedHits(lists["vector"], lists["keyword"], lists["name"])

    async def first_chunks(self, connection_id: uuid.UUID, object_names: list[str]) -> dict[str, str]:
        """The text of part 0 of each named object."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT object_name, text FROM chunks"
                    " WHERE connection_id = :cid AND part = 0 AND object_name = ANY(:names)"
                ),
                {"cid": connection_id, "names": object_names},
            )
            return {name: body for name, body in rows}
