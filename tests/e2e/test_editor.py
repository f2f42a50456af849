"""The query editor in the browser: an answer's query formatted, "Edit and run" with a changed
query and with a refused one, completion of the connection's names, the origin label after a
reload, and the "Write a query" mode while the LLM is unreachable."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import psycopg
import pytest
from playwright.sync_api import Page, expect

from backend.config import LLMSettings, Settings
from backend.main import create_app
from tests.conftest import ServerThread, free_port
from tests.e2e.helpers import DIST, add_connection, register, shot
from tests.fake_ollama import OllamaScript

ASKED = "SELECT film_id, title, length FROM film ORDER BY film_id LIMIT 5"
EDITED = "SELECT film_id, title, length FROM film WHERE length > 180 ORDER BY film_id LIMIT 5"


def _titles(dsn: str, sql: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [str(r[1]) for r in conn.execute(sql).fetchall()]


def _films(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM film").fetchone()
    return int(row[0]) if row else -1


def _replace_text(page: Page, editor_name: str, text: str) -> None:
    editor = page.get_by_role("textbox", name=editor_name)
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def _to_chat(page: Page, app_url: str, email: str, sakila_url: str) -> None:
    register(page, app_url, email)
    page.get_by_role("link", name="Connections", exact=True).click()
    add_connection(page, "sakila", sakila_url)
    page.get_by_role("link", name="Ask about sakila").click()
    expect(page.get_by_role("heading", name="Chat")).to_be_visible()


def test_edit_and_run(page: Page, app_url: str, sakila_url: str, ollama: OllamaScript) -> None:
    _to_chat(page, app_url, "editor@example.com", sakila_url)
    ollama.reply_sql(ASKED)
    ollama.answer = "Here are five films."
    page.get_by_role("textbox", name="Question").fill("Show some films")
    page.get_by_role("button", name="Ask").click()
    asked = page.get_by_role("article", name="Question: Show some films")
    expect(asked.get_by_role("cell", name="ACADEMY DINOSAUR")).to_be_visible()
    # Formatted one clause per line (and wrapped), not one long line.
    expect(asked.get_by_test_id("query")).to_contain_text("LIMIT 5")
    # sql-formatter loads on first use: wait for the formatted text rather than read it at once.
    expect(asked.get_by_test_id("query")).to_contain_text(re.compile(r"\n\s*FROM"))

    asked.get_by_role("button", name="Edit and run").click()
    editor = page.get_by_role("textbox", name="Edit the query")
    expect(editor).to_be_visible()
    expect(editor).to_contain_text("ORDER BY")
    # Completion knows the connection's tables.
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("\n")
    page.keyboard.type("fil")
    expect(page.locator(".cm-tooltip-autocomplete")).to_contain_text("film_category")
    page.keyboard.press("Escape")
    shot(page, "editor-01-completion")

    _replace_text(page, "Edit the query", EDITED)
    page.keyboard.press("Control+Enter")
    edited = page.get_by_role("article", name="Edited query (from: Show some films)")
    expect(edited).to_have_count(1)
    expected = _titles(sakila_url, EDITED)
    assert expected and "ACADEMY DINOSAUR" not in expected
    for title in expected:
        expect(edited.get_by_role("cell", name=title, exact=True)).to_be_visible()
    expect(edited.get_by_role("cell", name="ACADEMY DINOSAUR")).to_have_count(0)
    expect(edited.get_by_text(f"{len(expected)} rows.")).to_be_visible()
    expect(edited.get_by_test_id("origin")).to_have_text("Edited query")
    shot(page, "editor-02-edited")

    # A write is refused, with the reason, and nothing changes.
    _replace_text(page, "Edit the query", "DELETE FROM film WHERE film_id = 1")
    page.get_by_role("button", name="Run", exact=True).click()
    refused = page.get_by_role("article", name="Edited query (from: Show some films)").nth(1)
    expect(refused.get_by_text("The query was refused, so it was not run.")).to_be_visible()
    # The refusal's reason: the one non-empty status or alert (the feedback line is an empty status).
    said = refused.get_by_role("status").or_(refused.get_by_role("alert")).filter(has_text=re.compile(r"\w"))
    expect(said).to_contain_text(re.compile(r"\w+"))
    expect(refused.get_by_text("SQL (not run)")).to_be_visible()
    reason = said.inner_text()
    assert "DELETE" in reason or "read-only" in reason or "SELECT" in reason, reason
    assert _films(sakila_url) == 1000
    shot(page, "editor-03-refused")

    # Reopened (the conversation is in the URL), the turns keep their origin.
    page.reload()
    expect(page.get_by_role("article", name="Question: Show some films")).to_be_visible()
    expect(page.get_by_test_id("origin")).to_have_count(2)
    expect(page.get_by_role("article", name="Edited query (from: Show some films)").first).to_contain_text(expected[0])
    expect(page.get_by_role("complementary", name="History").get_by_text("Edited:").first).to_be_visible()


@pytest.fixture
def no_llm_app_url(settings_factory: Callable[..., Settings]) -> Iterator[str]:
    settings = settings_factory(
        frontend_dir=DIST, llm=LLMSettings(ollama_url=f"http://127.0.0.1:{free_port()}", llm_timeout_s=3)
    )
    server = ServerThread(create_app(settings), free_port()).start()
    yield server.url
    server.stop()


def test_write_a_query_while_the_llm_is_down(page: Page, no_llm_app_url: str, sakila_url: str) -> None:
    _to_chat(page, no_llm_app_url, "typist@example.com", sakila_url)
    banner = page.get_by_text(re.compile("The language model is unreachable"))
    expect(banner).to_be_visible()
    banner.get_by_role("button", name="write a query yourself").click()
    expect(page.get_by_role("radio", name="Write a query")).to_be_checked()
    _replace_text(page, "Write a query", "SELECT name FROM category ORDER BY name LIMIT 3")
    page.get_by_role("button", name="Run", exact=True).click()
    typed = page.get_by_role("article", name="Typed query")
    for name in ("Action", "Animation", "Children"):
        expect(typed.get_by_role("cell", name=name, exact=True)).to_be_visible()
    expect(typed.get_by_text("3 rows.")).to_be_visible()
    expect(typed.get_by_role("button", name="Edit and run")).to_be_visible()
    shot(page, "editor-04-typed-llm-down")
    # At a phone's width, in the dark theme, the editor and the turn fit the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.emulate_media(color_scheme="dark")
    typed.get_by_role("button", name="Edit and run").click()
    expect(page.get_by_role("textbox", name="Edit the query")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "editor-05-phone-dark")
