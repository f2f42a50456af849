"""The LLM clients' error sentences reach every user (an answer's error, /api/models, the
history): they name the server, never a password written in its URL (LLM_BASE_URL or
OLLAMA_URL with ``user:password@``, for a server behind a basic-auth proxy)."""

from __future__ import annotations

import asyncio

import pytest

from backend.components.llm_client import ChatMessage, LLMClient, LLMUnavailableError, OllamaLLMClient
from backend.components.openai_llm_client import OpenAILLMClient
from tests.conftest import free_port

SECRET = "s3cret-proxy-pass"


def _clients(url: str) -> list[LLMClient]:
    return [
        OpenAILLMClient(f"{url}/v1", "sk-key", timeout_s=2, connect_timeout_s=1, temperature=0),
        OllamaLLMClient(url, 2, 1, 0),
    ]


@pytest.mark.parametrize("which", [0, 1], ids=["openai", "ollama"])
def test_an_unreachable_server_is_named_without_its_password(which: int) -> None:
    url = f"http://sextant:{SECRET}@127.0.0.1:{free_port()}"  # nothing listens there

    async def run() -> list[str]:
        client = _clients(url)[which]
        details = []
        try:
            for call in (
                client.complete([ChatMessage(role="user", content="hi")], "m", None),
                client.models(),
            ):
                with pytest.raises(LLMUnavailableError) as raised:
                    await call
                details.append(raised.value.detail)
        finally:
            await client.aclose()
        return details

    details = asyncio.run(run())
    assert details and all("127.0.0.1" in d for d in details), details  # still says which server
    assert not any(SECRET in d for d in details), details
