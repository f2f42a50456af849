"""The answer cache in the browser, with the machine's Redis: the same first question again is
answered from the cache (the scripted model is not called) and says so, "Run again" asks the
model anew, and the connection card's switch turns it off."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from pydantic import SecretStr

from backend.config import CacheSettings, Settings
from backend.main import create_app
from tests.conftest import ServerThread, free_port
from tests.e2e.helpers import DIST, add_connection, register, shot
from tests.fake_ollama import OllamaScript
from tests.redis_proxy import flush_prefix, redis_or_skip

QUESTION = "How many films are there?"
FILMS = "SELECT count(*) AS films FROM film"
PREFIX = f"test-e2e-cache-{uuid.uuid4().hex[:8]}:"


@pytest.fixture
def cached_app_url(settings_factory: Callable[..., Settings]) -> Iterator[str]:
    client = redis_or_skip()
    cache = CacheSettings(redis_url=SecretStr("redis://127.0.0.1:6379/0"), redis_key_prefix=PREFIX)
    server = ServerThread(create_app(settings_factory(frontend_dir=DIST, cache=cache)), free_port()).start()
    yield server.url
    server.stop()
    flush_prefix(client, PREFIX)


def _ask(page: Page) -> None:
    page.get_by_role("button", name="New conversation").click()
    page.get_by_role("textbox", name=re.compile(r"^(Question|Follow-up question)$")).fill(QUESTION)
    page.get_by_role("button", name="Ask").click()


def test_a_cached_answer_says_so_and_runs_again(
    page: Page, cached_app_url: str, sakila_url: str, ollama: OllamaScript
) -> None:
    register(page, cached_app_url, f"cache-{uuid.uuid4().hex[:6]}@example.com")
    page.get_by_role("link", name="Connections", exact=True).click()
    add_connection(page, "sakila", sakila_url)
    card = page.get_by_role("article", name="Connection sakila")
    expect(card.get_by_role("checkbox", name=re.compile("Answer cache"))).to_be_checked()
    page.get_by_role("link", name="Ask about sakila").click()

    ollama.reply_sql(FILMS)
    _ask(page)
    turn = page.get_by_role("article", name=f"Question: {QUESTION}")
    expect(turn.get_by_test_id("timings")).to_be_visible()
    expect(turn.get_by_test_id("cached")).to_have_count(0)
    asked = len(ollama.requests)

    _ask(page)
    cached = turn.get_by_test_id("cached")
    expect(cached).to_contain_text("Cached answer from")
    assert len(ollama.requests) == asked  # no model call
    shot(page, "answer-cache-hit")

    ollama.reply_sql(FILMS)
    cached.get_by_role("button", name="Run again").click()
    expect(turn.get_by_test_id("timings")).to_be_visible()
    expect(turn.get_by_test_id("cached")).to_have_count(0)
    assert len(ollama.requests) == asked + 2  # asked anew: the query and the answer

    # Off for this connection: the same question goes to the model.
    page.get_by_role("link", name="Connections", exact=True).click()
    box = card.get_by_role("checkbox", name=re.compile("Answer cache"))
    with page.expect_response(lambda r: r.request.method == "PATCH") as patched:
        box.click()
    assert patched.value.status == 200
    expect(box).not_to_be_checked()
    page.get_by_role("link", name="Ask about sakila").click()
    ollama.reply_sql(FILMS)
    _ask(page)
    expect(turn.get_by_test_id("timings")).to_be_visible()
    expect(turn.get_by_test_id("cached")).to_have_count(0)
    assert len(ollama.requests) == asked + 4
