"""The connection policy with ``LLM_PROVIDER=openai`` (review16): the OpenAI-compatible server
is one of the appliance's own services, and so still is the Ollama that compose starts by
default (the ``ollama`` profile, ``OLLAMA_URL=http://ollama:11434``) when nobody turned it off."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from backend.config import ConnectionPolicySettings, LLMSettings, Settings
from backend.main import create_app
from tests.backend.test_connection_policy import SERVICE, _refused
from tests.conftest import ServerThread, free_port, register_and_login


def test_both_llm_servers_are_refused_with_the_openai_provider(
    settings_factory: Callable[..., Settings], ollama_server: ServerThread
) -> None:
    openai_port = free_port()
    llm = LLMSettings(
        llm_provider="openai",
        llm_base_url=f"http://127.0.0.1:{openai_port}/v1",
        llm_model="m",
        ollama_url=ollama_server.url,
    )
    settings = settings_factory(
        llm=llm, connections=ConnectionPolicySettings(rate_connection_tests_per_minute=1_000_000)
    )
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client)
        for url in (
            f"postgresql://postgres@127.0.0.1:{openai_port}/postgres",
            f"postgresql://postgres@localhost:{ollama_server.port}/postgres",
        ):
            _refused(client, headers, url, SERVICE)
