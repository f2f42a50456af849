"""The Chat screen with ``LLM_PROVIDER=openai``: the answer streams into the page word by word
from a scripted OpenAI-compatible server, reached through the official ``openai`` client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from backend.config import LLMSettings, Settings
from backend.main import create_app
from tests.conftest import ServerThread, _ScriptHolder, free_port
from tests.e2e.helpers import DIST, add_connection, register, shot
from tests.fake_ollama import OllamaScript
from tests.fake_openai import create_fake_openai

MODEL = "qwen2.5-coder:7b"


@pytest.fixture
def openai_app_url(settings_factory: Callable[..., Settings], _ollama_holder: _ScriptHolder) -> Iterator[str]:
    llm_server = ServerThread(create_fake_openai(lambda: _ollama_holder.current), free_port()).start()
    llm = LLMSettings(llm_provider="openai", llm_base_url=f"{llm_server.url}/v1", llm_model=MODEL)
    server = ServerThread(create_app(settings_factory(frontend_dir=DIST, llm=llm)), free_port()).start()
    yield server.url
    server.stop()
    llm_server.stop()


def test_chat_streams_an_answer_from_an_openai_compatible_server(
    page: Page, openai_app_url: str, sakila_url: str, ollama: OllamaScript
) -> None:
    register(page, openai_app_url, "openai@example.com")
    expect(page.get_by_test_id("health-llm")).to_contain_text("working")
    page.get_by_role("link", name="Connections", exact=True).click()
    add_connection(page, "sakila", sakila_url)
    page.get_by_role("link", name="Ask about sakila").click()
    ollama.reply_sql("SELECT count(*) AS films FROM film")
    ollama.answer = "There are 1000 films in the catalogue today."
    ollama.token_delay_s = 0.4
    page.get_by_role("textbox", name="Question").fill("How many films are there?")
    page.get_by_role("button", name="Ask").click()
    answer = page.get_by_test_id("answer")
    # Part of the answer is on screen before the rest has arrived: it streamed.
    expect(answer).to_contain_text("There are")
    assert "today." not in answer.inner_text()
    expect(answer).to_have_text("There are 1000 films in the catalogue today.")
    expect(page.get_by_role("table", name="Result rows")).to_contain_text("1,000")
    shot(page, "openai-provider-chat")
    sent = ollama.chat_requests()
    assert {r["model"] for r in sent} == {MODEL} and any(r.get("stream") for r in sent)
