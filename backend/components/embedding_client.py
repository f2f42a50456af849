"""The ``EmbeddingClient`` seam and its HTTP adapter to the embedding service."""

from __future__ import annotations

from typing import Protocol

import httpx

from backend.components.errors import UnavailableError
from backend.components.metrics import Metrics


class EmbeddingError(UnavailableError):
    default_detail = "The embedding service is unavailable"


class EmbeddingClient(Protocol):
    model: str

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text, in order; raise ``EmbeddingError`` when the service fails."""
        ...

    async def health(self) -> bool: ...

    async def aclose(self) -> None: ...


class HttpEmbeddingClient:
    """Talks to the embedding service; splits large inputs into the configured batch size."""

    def __init__(
        self, base_url: str, batch_size: int, timeout_s: float, dimension: int, metrics: Metrics | None = None
    ):
        self._metrics = metrics
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s)
        self._batch_size = batch_size
        self._dimension = dimension
        self.model = "unknown"

    async def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            if self._metrics:
                self._metrics.embedding_batches.inc()
                self._metrics.embedding_texts.inc(len(batch))
            response = await self._post(batch)
            if response.status_code != 200:
                raise EmbeddingError(f"The embedding service answered {response.status_code}: {response.text[:200]}")
            body = response.json()
            if body.get("dimension") != self._dimension:
                raise EmbeddingError(
                    f"The embedding model has dimension {body.get('dimension')}, the store expects {self._dimension}"
                )
            self.model = str(body.get("model", self.model))
            vectors.extend(body["embeddings"])
        return vectors

    async def _post(self, batch: list[str]) -> httpx.Response:
        # One retry when a pooled keep-alive connection was closed by the server just as it was
        # reused; embedding is idempotent, and a service that is really down fails again at once.
        for attempt in range(2):
            try:
                return await self._client.post("/embed", json={"texts": batch})
            except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError) as exc:
                if attempt:
                    raise EmbeddingError(f"The embedding service is unreachable: {type(exc).__name__}") from exc
            except httpx.HTTPError as exc:
                raise EmbeddingError(f"The embedding service is unreachable: {type(exc).__name__}") from exc
        raise AssertionError("unreachable")

    async def health(self) -> bool:
        try:
            response = await self._client.get("/health", timeout=5.0)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        body = response.json()
        self.model = str(body.get("model", self.model))
        return bool(body.get("dimension") == self._dimension)

    async def aclose(self) -> None:
        await self._client.aclose()
