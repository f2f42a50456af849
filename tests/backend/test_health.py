from __future__ import annotations

import socket
import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from backend.api.routes.health import STORE_CHECK_TIMEOUT_S
from backend.config import LLMSettings, Settings
from backend.db.store import create_engine
from backend.main import create_app
from tests.conftest import free_port
from tests.fake_ollama import OllamaScript


def test_health_is_ok_when_every_component_answers(client: TestClient, ollama: OllamaScript) -> None:
    body = client.get("/health").json()
    assert body == {"status": "ok", "components": {"database": "ok", "embedding": "ok", "llm": "ok"}}


def test_health_is_degraded_without_the_llm_or_its_model(
    settings_factory: Callable[..., Settings], ollama: OllamaScript
) -> None:
    down = settings_factory(llm=LLMSettings(ollama_url=f"http://127.0.0.1:{free_port()}"))
    with TestClient(create_app(down)) as client:
        body = client.get("/health").json()
    assert body["status"] == "degraded" and body["components"]["llm"] == "unavailable"
    assert body["components"]["database"] == "ok"

    ollama.models = ["some-other-model:latest"]
    with TestClient(create_app(settings_factory())) as client:
        body = client.get("/health").json()
    assert body["status"] == "degraded" and body["components"]["llm"] == "unavailable"


def test_a_store_that_stops_answering_makes_health_degraded_in_seconds_not_minutes(
    client: TestClient, ollama: OllamaScript
) -> None:
    # A listener that accepts and never speaks: what a store behind a dropped network looks like
    # to a new connection (the TCP handshake is done by the kernel, then silence).
    silent = socket.create_server(("127.0.0.1", 0))
    context = client.app.state.context  # type: ignore[attr-defined]
    healthy_engine = context.engine
    context.engine = create_engine(f"postgresql://sextant@127.0.0.1:{silent.getsockname()[1]}/sextant", 1)
    try:
        started = time.monotonic()
        body = client.get("/health").json()
        elapsed = time.monotonic() - started
        ready = client.get("/health/ready")
    finally:
        client.portal.call(context.engine.dispose)  # type: ignore[union-attr]
        context.engine = healthy_engine
        silent.close()
    assert body["status"] == "degraded" and body["components"]["database"] == "unavailable"
    # The check gives up after STORE_CHECK_TIMEOUT_S (3 s); the driver alone would wait 60 s.
    assert elapsed < STORE_CHECK_TIMEOUT_S + 2
    # A load balancer takes this replica out of rotation, and puts it back once the store answers.
    assert ready.status_code == 503 and ready.json() == {"status": "unavailable", "database": "unavailable"}
    again = client.get("/health/ready")
    assert again.status_code == 200 and again.json() == {"status": "ready", "database": "ok"}
