from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from backend.config import LLMSettings, Settings
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
