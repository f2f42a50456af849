"""The log at the default LOG_LEVEL=INFO never carries a password written in the LLM server's URL
(``LLM_BASE_URL=http://user:password@gpu-box/v1``, a server behind a basic-auth proxy): the
HTTP clients under the LLM clients log every request's URL at INFO, user info included."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from backend.config import LLMSettings, Settings
from backend.main import create_app
from tests.conftest import ServerThread, free_port, register_and_login
from tests.fake_ollama import OllamaScript
from tests.fake_openai import create_fake_openai

SECRET = "s3cret-proxy-pass"


def test_the_llm_servers_password_is_not_logged(
    settings_factory: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    script = OllamaScript()
    server = ServerThread(create_fake_openai(lambda: script), free_port()).start()
    try:
        base = server.url.replace("http://", f"http://sextant:{SECRET}@") + "/v1"
        llm = LLMSettings(llm_provider="openai", llm_base_url=base, llm_model="qwen2.5-coder:7b")
        caplog.set_level(logging.INFO)
        with TestClient(create_app(settings_factory(llm=llm, log_level="INFO"))) as client:
            models = client.get("/api/models", headers=register_and_login(client))
            assert models.status_code == 200, models.text  # the server was reached
    finally:
        server.stop()
    assert "qwen2.5-coder:7b" in models.text
    assert SECRET not in caplog.text, [r.getMessage() for r in caplog.records if SECRET in r.getMessage()]
