"""The ``VectorStore`` seam and ``PgVectorStore``: chunks with embeddings in pgvector, always
scoped to one connection. Keyword search lives in memory (``lexical_index``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


@dataclass(frozen=True)
class StoredChunk:
    object_name: str
    object_kind: str
    part: int
    text: str
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


class VectorStore(Protocol):
    async def embeddings_by_hash(self, connection_id: uuid.UUID) -> dict[str, list[float]]: ...

    async def replace(self, conn: AsyncConnection, connection_id: uuid.UUID, chunks: list[StoredChunk]) -> None: ...

    async def replace_object(
        self, conn: AsyncConnection, connection_id: uuid.UUID, object_name: str, chunks: list[StoredChunk]
    ) -> None: ...

    async def search(self, connection_id: uuid.UUID, vector: list[float], limit: int) -> list[ChunkHit]:
        """The ``limit`` chunks nearest to ``vector``, nearest first; ``score`` is cosine similarity."""
        ...

    async def first_chunks(self, connection_id: uuid.UUID, object_names: list[str]) -> dict[str, str]: ...


# An exact scan of the connection's chunks (found through its b-tree index): a few ms at
# 10,000 chunks, nothing missed, and no ANN graph to maintain on every insert.
# The distance is computed once per row (the sort key is the output column); the vectors are
# stored in the row (``STORAGE PLAIN``, migration 0005), not fetched from TOAST per distance.
NEAREST_SQL = """
SELECT embedding <=> CAST(:q AS vector) AS distance, object_name, object_kind, part, text FROM chunks
 WHERE connection_id = :cid ORDER BY distance LIMIT :n
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
        await self._insert(conn, connection_id, chunks)

    async def replace_object(
        self, conn: AsyncConnection, connection_id: uuid.UUID, object_name: str, chunks: list[StoredChunk]
    ) -> None:
        """Swap the chunks of one object (its note changed) inside the caller's transaction."""
        await conn.execute(
            text("DELETE FROM chunks WHERE connection_id = :cid AND object_name = :name"),
            {"cid": connection_id, "name": object_name},
        )
        await self._insert(conn, connection_id, chunks)

    async def _insert(self, conn: AsyncConnection, connection_id: uuid.UUID, chunks: list[StoredChunk]) -> None:
        if not chunks:
            return
        await conn.execute(
            text(
                "INSERT INTO chunks (connection_id, object_name, object_kind, part, text, content_hash, embedding)"
                " VALUES (:cid, :object_name, :object_kind, :part, :text, :content_hash, CAST(:embedding AS vector))"
            ),
            [
                {
                    "cid": connection_id,
                    "object_name": c.object_name,
                    "object_kind": c.object_kind,
                    "part": c.part,
                    "text": c.text,
                    "content_hash": c.content_hash,
                    "embedding": vector_literal(c.embedding),
                }
                for c in chunks
            ],
        )

    async def search(self, connection_id: uuid.UUID, vector: list[float], limit: int) -> list[ChunkHit]:
        params = {"q": vector_literal(vector), "cid": connection_id, "n": limit}
        async with self._engine.connect() as conn:
            rows = await conn.execute(text(NEAREST_SQL), params)
            return [ChunkHit(row[1], row[2], row[3], row[4], 1.0 - float(row[0])) for row in rows]

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
