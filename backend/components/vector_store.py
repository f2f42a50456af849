"""The ``VectorStore`` seam and ``PgVectorStore``: chunks with embeddings in pgvector plus
Postgres full-text keywords, both scoped to one connection."""

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


class VectorStore(Protocol):
    async def embeddings_by_hash(self, connection_id: uuid.UUID) -> dict[str, list[float]]: ...

    async def replace(self, conn: AsyncConnection, connection_id: uuid.UUID, chunks: list[StoredChunk]) -> None: ...

    async def vector_search(self, connection_id: uuid.UUID, vector: list[float], limit: int) -> list[ChunkHit]: ...

    async def keyword_search(self, connection_id: uuid.UUID, question: str, limit: int) -> list[ChunkHit]: ...

    async def name_search(self, connection_id: uuid.UUID, question: str, limit: int) -> list[ChunkHit]: ...

    async def count(self, connection_id: uuid.UUID) -> int: ...

    async def first_chunks(self, connection_id: uuid.UUID, object_names: list[str]) -> dict[str, str]: ...


class PgVectorStore:
    def __init__(self, engine: AsyncEngine, ef_search: int = 100):
        self._engine = engine
        self._ef_search = ef_search

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

    async def vector_search(self, connection_id: uuid.UUID, vector: list[float], limit: int) -> list[ChunkHit]:
        async with self._engine.begin() as conn:
            # Iterative scans keep the HNSW index useful under the per-connection filter.
            await conn.execute(text(f"SET LOCAL hnsw.ef_search = {int(self._ef_search)}"))
            await conn.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
            rows = await conn.execute(
                text(
                    "SELECT object_name, object_kind, part, text,"
                    " 1 - (embedding <=> CAST(:q AS vector)) AS similarity"
                    " FROM chunks WHERE connection_id = :cid"
                    " ORDER BY embedding <=> CAST(:q AS vector) LIMIT :n"
                ),
                {"q": vector_literal(vector), "cid": connection_id, "n": limit},
            )
            hits = [ChunkHit(r[0], r[1], r[2], r[3], float(r[4])) for r in rows]
        return sorted(hits, key=lambda h: h.score, reverse=True)

    async def keyword_search(self, connection_id: uuid.UUID, question: str, limit: int) -> list[ChunkHit]:
        expression = keyword_query(question)
        if expression is None:
            return []
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT object_name, object_kind, part, text, ts_rank_cd(tsv, q) AS rank"
                    " FROM chunks, to_tsquery('english', :expr) AS q"
                    " WHERE connection_id = :cid AND tsv @@ q ORDER BY rank DESC, object_name LIMIT :n"
                ),
                {"expr": expression, "cid": connection_id, "n": limit},
            )
            return [ChunkHit(r[0], r[1], r[2], r[3], float(r[4])) for r in rows]

    async def name_search(self, connection_id: uuid.UUID, question: str, limit: int) -> list[ChunkHit]:
        """Objects whose whole name is made of the question's words (stemmed).

        "films in each category" names ``film``, ``category`` and ``film_category``; the
        longer names rank first. Partial matches (``customer_list`` for "customers") are
        left to the keyword search, so each entity the question names gets a place.
        """
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "WITH q AS (SELECT tsvector_to_array(to_tsvector('english', :question)) AS words),"
                    " names AS (SELECT object_name, object_kind, part, text,"
                    "   tsvector_to_array(to_tsvector('english', name_keywords)) AS words"
                    "   FROM chunks WHERE connection_id = :cid AND part = 0)"
                    " SELECT object_name, object_kind, part, text, cardinality(names.words) AS size"
                    " FROM names, q WHERE cardinality(names.words) > 0 AND names.words <@ q.words"
                    " ORDER BY size DESC, object_name LIMIT :n"
                ),
                {"question": question, "cid": connection_id, "n": limit},
            )
            return [ChunkHit(r[0], r[1], r[2], r[3], float(r[4])) for r in rows]

    async def count(self, connection_id: uuid.UUID) -> int:
        async with self._engine.connect() as conn:
            result = await conn.execute(
                text("SELECT count(*) FROM chunks WHERE connection_id = :cid"), {"cid": connection_id}
            )
            return int(result.scalar_one())

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
