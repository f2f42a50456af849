"""The one place errors become HTTP answers."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from backend.components.embedding_client import EmbeddingError
from backend.components.errors import InvalidTokenError
from backend.components.llm_client import LLMUnavailableError
from backend.errors import TooManyRequestsError, install_error_handlers


@pytest.mark.parametrize(
    ("error", "status"),
    [
        # Every pooled store connection busy (a flood) is a passing condition, like a store restart.
        (PoolTimeoutError("QueuePool limit of size 10 overflow 10 reached"), 503),
        (OperationalError("SELECT 1", {}, Exception("server closed the connection")), 503),
        (IntegrityError("INSERT", {}, Exception("duplicate key")), 500),
        (TooManyRequestsError("slow down", 7), 429),
        # Components raise domain errors; this is the one place that gives them a status.
        (InvalidTokenError("Token expired"), 401),
        (LLMUnavailableError("The language model is unavailable"), 503),
        (EmbeddingError(), 503),
    ],
)
def test_store_and_app_errors_map_to_their_status(error: Exception, status: int) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.status_code == status
    assert "QueuePool" not in response.text and "duplicate key" not in response.text


def test_components_and_engines_know_nothing_of_http_or_services() -> None:
    """No component or engine imports the HTTP error hierarchy or a service (issue 12): imports go down."""
    from pathlib import Path

    backend = Path(__file__).resolve().parents[2] / "backend"
    sources = [*(backend / "components").rglob("*.py"), *(backend / "engines").rglob("*.py")]
    assert len(sources) > 20
    offenders = [
        str(p.relative_to(backend))
        for p in sources
        if any(upper in p.read_text() for upper in ("backend.errors", "backend.services", "backend.api"))
    ]
    assert offenders == []
    components = [p for p in sources if p.is_relative_to(backend / "components")]
    assert [str(p.relative_to(backend)) for p in components if "backend.engines" in p.read_text()] == []
