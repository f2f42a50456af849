"""(a) Embedding service throughput against the same model in-process, same batches.

Both sides embed the same texts (the chunk texts of Sakila, Chinook and Northwind) in
the same batches; rounds alternate between the two so machine noise hits both alike.
Result: texts per second for each and the ratio service / in-process (target >= 0.9).

Then the precision: the same model computing in float32 and in bfloat16 (autocast), in this
process, rounds alternating, on the embedding texts indexing sends; with the lowest cosine
between the two vectors of a text. ``auto`` picks bfloat16 only where the CPU has it natively.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx

from backend.components.chunker import chunk_snapshot
from backend.engines.postgres.connector import PostgresConnector
from backend.engines.postgres.names import SQL_SPELLING
from bench.common import USER_PG_ADMIN, embedding_service, load_samples, median
from embedding_service.config import EmbeddingServiceSettings
from embedding_service.embedder import Embedder
from embedding_service.precision import NATIVE_BF16_FLAGS, cpu_flags

BATCH = 32
ROUNDS = 5


async def sample_texts(embed_only: bool = False) -> list[str]:
    texts: list[str] = []
    for name in ("sakila", "chinook", "northwind"):
        snapshot = await PostgresConnector(load_samples.load(USER_PG_ADMIN, name)).introspect()
        drafts = chunk_snapshot(snapshot, 40, SQL_SPELLING)
        if not embed_only:
            texts.extend(d.text for d in drafts)
        texts.extend(d.embed_text for d in drafts)
    return texts


def precision() -> dict[str, Any]:
    texts = asyncio.run(sample_texts(embed_only=True)) * 4
    path = EmbeddingServiceSettings().embedding_model_path
    models = {
        name: Embedder.from_settings(EmbeddingServiceSettings(embedding_precision=name, embedding_model_path=path))
        for name in ("float32", "bfloat16")
    }
    speed: dict[str, list[float]] = {name: [] for name in models}
    vectors: dict[str, list[list[float]]] = {}
    for model in models.values():
        model.embed(texts[:BATCH])
    for _ in range(ROUNDS):
        for name, model in models.items():
            start = time.perf_counter()
            vectors[name] = [v for i in range(0, len(texts), BATCH) for v in model.embed(texts[i : i + BATCH])]
            speed[name].append(len(texts) / (time.perf_counter() - start))
    cosines = [sum(a * b for a, b in zip(x, y, strict=True)) for x, y in zip(*vectors.values(), strict=True)]
    return {
        "texts": len(texts),
        "cpu_native_bfloat16": bool(NATIVE_BF16_FLAGS & cpu_flags()),
        "float32_texts_per_s": round(median(speed["float32"]), 1),
        "bfloat16_texts_per_s": round(median(speed["bfloat16"]), 1),
        "speedup": round(median(speed["bfloat16"]) / median(speed["float32"]), 2),
        "min_cosine": round(min(cosines), 5),
    }


def run() -> dict[str, Any]:
    texts = asyncio.run(sample_texts())
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
    embedder = Embedder.from_settings(EmbeddingServiceSettings())
    local: list[float] = []
    remote: list[float] = []
    with embedding_service() as url, httpx.Client(base_url=url, timeout=600) as client:
        embedder.embed(batches[0])
        client.post("/embed", json={"texts": batches[0]}).raise_for_status()
        for _ in range(ROUNDS):
            start = time.perf_counter()
            for batch in batches:
                embedder.embed(batch)
            local.append(len(texts) / (time.perf_counter() - start))
            start = time.perf_counter()
            for batch in batches:
                response = client.post("/embed", json={"texts": batch})
                response.raise_for_status()
                assert len(response.json()["embeddings"]) == len(batch)
            remote.append(len(texts) / (time.perf_counter() - start))
    return {
        "texts": len(texts),
        "batch": BATCH,
        "rounds": ROUNDS,
        "in_process_texts_per_s": round(median(local), 1),
        "service_texts_per_s": round(median(remote), 1),
        "ratio": round(median(remote) / median(local), 3),
        "target": ">= 0.9",
        "precision": precision(),
    }


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()
