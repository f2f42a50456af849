"""The embedding service's settings read the environment only when asked to."""

from __future__ import annotations

import pytest

from embedding_service.config import EmbeddingServiceSettings


def test_constructor_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDING_MAX_BATCH", "7")
    assert EmbeddingServiceSettings().embedding_max_batch == 256
    assert EmbeddingServiceSettings(embedding_max_batch=3).embedding_max_batch == 3


def test_from_environment_reads_variables_and_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDING_MAX_BATCH", "7")
    monkeypatch.setenv("embedding_device", "cuda")
    settings = EmbeddingServiceSettings.from_environment()
    assert (settings.embedding_max_batch, settings.embedding_device) == (7, "cuda")
    monkeypatch.setenv("EMBEDDING_MAX_BATCH", "0")
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        EmbeddingServiceSettings.from_environment()
