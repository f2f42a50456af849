"""The embedding service over real HTTP with the real bundled MiniLM model."""

from __future__ import annotations

import math
from collections.abc import Iterator

import httpx
import pytest

from embedding_service.config import EmbeddingServiceSettings
from embedding_service.embedder import Embedder
from embedding_service.main import create_app
from tests.conftest import ServerThread, free_port


@pytest.fixture(scope="module")
def small_limits(embedder: Embedder) -> Iterator[str]:
    settings = EmbeddingServiceSettings(embedding_max_batch=4, embedding_max_text_chars=50)
    server = ServerThread(create_app(settings, embedder), free_port()).start()
    yield server.url
    server.stop()


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_health_names_the_model(embedding_server: ServerThread) -> None:
    body = httpx.get(f"{embedding_server.url}/health").json()
    assert body["status"] == "ok" and body["dimension"] == 384 and body["model"] == "all-MiniLM-L6-v2"


def test_embeddings_are_unit_vectors_that_mean_something(embedding_server: ServerThread) -> None:
    texts = ["customers who rented films", "clients renting movies", "quarterly tax on steel imports"]
    body = httpx.post(f"{embedding_server.url}/embed", json={"texts": texts}, timeout=60).json()
    vectors = body["embeddings"]
    assert body["dimension"] == 384 and len(vectors) == 3
    assert all(len(v) == 384 and math.isclose(math.sqrt(_cos(v, v)), 1.0, abs_tol=1e-4) for v in vectors)
    assert _cos(vectors[0], vectors[1]) > _cos(vectors[0], vectors[2]) + 0.3


def test_same_vectors_as_the_model_in_process(embedding_server: ServerThread, embedder: Embedder) -> None:
    texts = ["film", "payment per staff member"]
    remote = httpx.post(f"{embedding_server.url}/embed", json={"texts": texts}, timeout=60).json()["embeddings"]
    local = embedder.embed(texts)
    for r, loc in zip(remote, local, strict=True):
        assert _cos(r, loc) > 0.9999


def test_empty_batch_is_fine(embedding_server: ServerThread) -> None:
    assert httpx.post(f"{embedding_server.url}/embed", json={"texts": []}).json()["embeddings"] == []


def test_limits_answer_4xx_not_500(small_limits: str) -> None:
    too_many = httpx.post(f"{small_limits}/embed", json={"texts": ["a"] * 5})
    assert too_many.status_code == 413 and "at most 4" in too_many.json()["detail"]
    too_long = httpx.post(f"{small_limits}/embed", json={"texts": ["ok", "x" * 51]})
    assert too_long.status_code == 413 and "text 1" in too_long.json()["detail"]
    bad: object
    for bad in ({"texts": "not a list"}, {"nope": []}, {"texts": [1, 2]}):
        response = httpx.post(f"{small_limits}/embed", json=bad)
        assert response.status_code == 422
    assert (
        httpx.post(
            f"{small_limits}/embed", content=b"{not json", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
