"""Verified examples in the browser: a Sakila answer rated thumbs up is saved as a verified
example after its query was edited and run (the rows shown first); the example is on the
connection's examples page, and an empty chat suggests its question."""

from __future__ import annotations

import re

import psycopg
from playwright.sync_api import Page, expect

from tests.e2e.helpers import add_connection, assert_forms_accessible, register, shot
from tests.fake_ollama import OllamaScript

QUESTION = "Which films are the longest?"
LONGEST = "SELECT title, length FROM film ORDER BY length DESC, title LIMIT 5"
EDITED = "SELECT title, length FROM film WHERE rating = 'G' ORDER BY length DESC, title LIMIT 3"


def _titles(sakila_url: str) -> list[str]:
    with psycopg.connect(sakila_url) as conn:
        return [r[0] for r in conn.execute(EDITED).fetchall()]


def _replace_text(page: Page, editor_name: str, text: str) -> None:
    editor = page.get_by_role("textbox", name=editor_name)
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def test_thumbs_up_saves_a_verified_example(page: Page, app_url: str, sakila_url: str, ollama: OllamaScript) -> None:
    register(page, app_url, "examples@example.com")
    page.get_by_role("link", name="Connections", exact=True).click()
    add_connection(page, "sakila", sakila_url)
    page.get_by_role("link", name="Ask about sakila").click()
    # The model is scripted with no questions of its own: the schema's templated ones show.
    suggestions = page.get_by_test_id("suggestions")
    expect(suggestions.get_by_role("button").first).to_be_visible()
    expect(suggestions.locator("[data-origin=schema]").first).to_be_visible()
    ollama.reply_sql(LONGEST)
    page.get_by_role("textbox", name="Question").fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    turn = page.get_by_role("article", name=f"Question: {QUESTION}")
    expect(turn.get_by_test_id("timings")).to_be_visible()

    expect(turn.get_by_role("button", name="Save as verified example")).to_have_count(0)
    turn.get_by_role("button", name="Good answer").click()
    turn.get_by_role("button", name="Save as verified example").click()
    form = turn.get_by_role("form", name="Save as verified example")
    expect(form.get_by_role("textbox", name="Question")).to_have_value(QUESTION)
    save = form.get_by_role("button", name="Save", exact=True)
    expect(save).to_be_disabled()

    # A write is refused with the reason; Save stays off.
    _replace_text(page, "The example's query", "DELETE FROM film")
    form.get_by_role("button", name="Run", exact=True).click()
    expect(form.get_by_test_id("refusal")).to_contain_text(re.compile(r"\w+"))
    expect(save).to_be_disabled()

    _replace_text(page, "The example's query", EDITED)
    form.get_by_role("button", name="Run", exact=True).click()
    titles = _titles(sakila_url)
    assert len(titles) == 3
    for title in titles:
        expect(form.get_by_role("cell", name=title, exact=True)).to_be_visible()
    expect(save).to_be_enabled()
    form.get_by_role("textbox", name="Question").fill("Longest G-rated films")
    shot(page, "examples-01-save-dialog")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/examples")) as posted:
        save.click()
    assert posted.value.status == 201
    expect(turn.get_by_text("Saved as a verified example.")).to_be_visible()

    turn.get_by_role("link", name="See the examples of this connection").click()
    expect(page.get_by_role("heading", name="Verified examples of sakila")).to_be_visible()
    example = page.get_by_test_id("example")
    expect(example).to_have_count(1)
    expect(example).to_contain_text("Longest G-rated films")
    expect(example).to_contain_text("rating = 'G'")
    expect(example).to_contain_text("saved from an answer")
    shot(page, "examples-02-page")

    # A new, empty chat suggests the example's question first; pressing it fills the question box.
    page.get_by_role("link", name="Chat", exact=True).click()
    page.get_by_role("button", name="New conversation").click()
    first = page.get_by_test_id("suggestions").get_by_role("button").first
    expect(first).to_have_attribute("data-origin", "example")
    expect(first).to_contain_text("Longest G-rated films")
    first.click()
    expect(page.get_by_role("textbox", name="Question")).to_have_value("Longest G-rated films")
    shot(page, "examples-03-suggestions")


def test_examples_page_adds_imports_and_deletes(page: Page, app_url: str, sakila_url: str) -> None:
    register(page, app_url, "examples-page@example.com")
    page.get_by_role("link", name="Connections", exact=True).click()
    add_connection(page, "sakila", sakila_url)
    page.get_by_role("article", name="Connection sakila").get_by_role("link", name="Verified examples").click()
    expect(page.get_by_role("heading", name="Verified examples of sakila")).to_be_visible()
    assert_forms_accessible(page)

    page.get_by_role("button", name="Add an example").click()
    form = page.get_by_role("form", name="Add an example")
    form.get_by_role("textbox", name="Question").fill("How many actors are there?")
    _replace_text(page, "The example's query", "SELECT count(*) FROM actor")
    form.get_by_role("button", name="Run", exact=True).click()
    expect(form.get_by_role("cell", name="200", exact=True)).to_be_visible()
    form.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("example")).to_have_count(1)

    content = "\n".join(
        [
            '{"question": "Films per rating", "query": "SELECT rating, count(*) FROM film GROUP BY rating"}',
            '{"question": "how many actors are there", "query": "SELECT 1"}',
            '{"question": "Wipe", "query": "DELETE FROM film"}',
        ]
    )
    page.get_by_role("textbox", name="Or paste the examples").fill(content)
    page.get_by_role("button", name="Import", exact=True).click()
    result = page.get_by_test_id("import-result")
    expect(result).to_contain_text("Imported 1, skipped 1 already here, refused 1.")
    expect(result.get_by_role("list", name="Refused lines")).to_contain_text("Line 3 (Wipe)")
    expect(page.get_by_test_id("example")).to_have_count(2)

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename == "sakila-examples.csv"

    card = page.get_by_test_id("example").filter(has_text="Films per rating")
    card.get_by_role("button", name="Delete").click()
    card.get_by_role("button", name="Delete it").click()
    expect(page.get_by_test_id("example")).to_have_count(1)
    page.get_by_label("Theme").select_option("dark")
    page.set_viewport_size({"width": 390, "height": 844})
    # Nothing wider than the phone's screen: the page does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    card = page.get_by_test_id("example").first
    card.get_by_role("button", name="Edit").click()
    expect(page.get_by_role("form", name="Edit the example")).to_be_visible()
    shot(page, "examples-04-narrow-dark")
