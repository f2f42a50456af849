"""The in-process sentence-transformers model, loaded once from local files only."""

from __future__ import annotations

import threading
from pathlib import Path

from embedding_service.config import EmbeddingServiceSettings, bundled_model_path, force_offline
from embedding_service.precision import Precision, compute_context, resolve


class Embedder:
    """Wraps one SentenceTransformer; ``embed`` is thread-safe and returns unit-length vectors,
    computed in ``precision`` (resolved once: ``float32`` or ``bfloat16``)."""

    def __init__(
        self, model_path: Path, name: str, device: str = "cpu", inner_batch: int = 32, precision: Precision = "auto"
    ):
        force_offline()
        from sentence_transformers import SentenceTransformer

        self.name = name
        self._model = SentenceTransformer(str(model_path), device=device, local_files_only=True)
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise RuntimeError("the embedding model does not report its dimension")
        self.dimension = int(dim)
        self._inner_batch = inner_batch
        self._device = device
        self.precision = resolve(precision, device)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: EmbeddingServiceSettings) -> Embedder:
        if settings.embedding_torch_threads:
            import torch

            torch.set_num_threads(settings.embedding_torch_threads)
        path = settings.embedding_model_path or bundled_model_path()
        return cls(
            path,
            settings.embedding_model_name,
            settings.embedding_device,
            settings.embedding_inner_batch,
            settings.embedding_precision,
        )

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock, compute_context(self.precision, self._device):
            vectors = self._model.encode(
                texts, batch_size=self._inner_batch, normalize_embeddings=True, convert_to_numpy=True
            )
        return [[float(x) for x in v] for v in vectors]
