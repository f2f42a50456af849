"""Waiting and cancelling in the browser: the step under way with its seconds, and a Cancel that
stops the question and the query running in the database."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from playwright.sync_api import Page, expect

from backend.config import QuerySettings, Settings
from backend.main import create_app
from tests.conftest import ServerThread, free_port
from tests.e2e.helpers import DIST, add_connection, register, shot
from tests.fake_ollama import OllamaScript

ENDLESS = "SELECT count(*) AS n FROM rental a, rental b, rental c"
RUNNING = (
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sextant-query' AND state = 'active'"
    " AND datname = 'sextant_sakila'"
)


@pytest.fixture
def slow_app_url(settings_factory: Callable[..., Settings]) -> Iterator[str]:
    """The app with two minutes of statement timeout: a query that stops sooner was cancelled."""
    settings = settings_factory(frontend_dir=DIST, query=QuerySettings(query_statement_timeout_ms=120_000))
    server = ServerThread(create_app(settings), free_port()).start()
    yield server.url
    server.stop()


def _running(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(RUNNING).fetchone()
    return int(row[0]) if row else 0


def test_progress_and_cancel(page: Page, slow_app_url: str, sakila_url: str, ollama: OllamaScript) -> None:
    register(page, slow_app_url, "waiting@example.com")
    page.get_by_role("link", name="Connections", exact=True).click()
    add_connection(page, "sakila", sakila_url)
    # Once indexed, the card offers to ask about the database, with it chosen in Chat.
    page.get_by_role("link", name="Ask about sakila").click()
    expect(page.get_by_role("heading", name="Chat")).to_be_visible()
    chosen = page.get_by_role("combobox", name="Connection", exact=True)
    expect(chosen.locator("option:checked")).to_have_text("sakila")
    ollama.reply_sql(ENDLESS)
    page.get_by_role("textbox", name="Question").fill("Count every triple of rentals")
    page.get_by_role("button", name="Ask").click()
    progress = page.get_by_test_id("progress")
    expect(progress).to_contain_text(re.compile(r"Step 4 of 5: Running the query on the database… \d+\.\d s"))
    first = progress.inner_text()
    expect(progress).not_to_have_text(first)  # the seconds tick
    shot(page, "08-waiting")
    deadline = time.monotonic() + 10
    while _running(sakila_url) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _running(sakila_url) == 1
    cancelled_at = time.monotonic()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text(re.compile("Cancelled: the question was stopped"))).to_be_visible()
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    deadline = time.monotonic() + 10
    while _running(sakila_url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _running(sakila_url) == 0, "the query kept running after Cancel"
    assert time.monotonic() - cancelled_at < 10
