"""Feedback in the browser: a thumbs down with a comment on a Sakila answer is kept with it (a
reload shows the rating and the comment), and the Admin screen counts it for the connection."""

from __future__ import annotations

import re

import psycopg
from playwright.sync_api import Page, expect

from tests.e2e.helpers import add_connection, register, shot
from tests.fake_ollama import OllamaScript

QUESTION = "Which films are the longest?"
LONGEST = "SELECT title, length FROM film ORDER BY length DESC, title LIMIT 5"


def test_a_bad_answer_is_rated_and_kept(
    page: Page, app_url: str, sakila_url: str, store_dsn: str, ollama: OllamaScript
) -> None:
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE users CASCADE")  # the first account is the admin
    register(page, app_url, "feedback@example.com")
    page.get_by_role("link", name="Connections", exact=True).click()
    add_connection(page, "sakila", sakila_url)
    page.get_by_role("link", name="Ask about sakila").click()
    ollama.reply_sql(LONGEST)
    page.get_by_role("textbox", name=re.compile(r"^(Question|Follow-up question)$")).fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    turn = page.get_by_role("article", name=f"Question: {QUESTION}")
    expect(turn.get_by_test_id("timings")).to_be_visible()
    expect(turn.get_by_test_id("chart-panel")).to_have_count(1)

    bad = turn.get_by_role("button", name="Bad answer")

    expect(bad).to_have_attribute("aria-pressed", "false")
    with page.expect_response(lambda r: r.request.method == "PUT" and r.url.endswith("/feedback")) as put:
        bad.click()
    assert put.value.status == 200
    expect(bad).to_have_attribute("aria-pressed", "true")
    turn.get_by_role("textbox", name="What was wrong? (optional)").fill("I wanted the shortest ones")
    with page.expect_response(lambda r: r.request.method == "PUT" and r.url.endswith("/feedback")) as put:
        turn.get_by_role("button", name="Save comment").click()
    assert put.value.status == 200
    expect(turn.get_by_text("Comment saved.")).to_be_visible()
    shot(page, "feedback-chat")

    page.reload()
    turn = page.get_by_role("article", name=f"Question: {QUESTION}")
    expect(turn.get_by_role("button", name="Bad answer")).to_have_attribute("aria-pressed", "true")
    expect(turn.get_by_role("button", name="Good answer")).to_have_attribute("aria-pressed", "false")
    expect(turn.get_by_role("textbox", name="What was wrong? (optional)")).to_have_value("I wanted the shortest ones")

    page.get_by_role("link", name="Admin").click()
    row = page.get_by_role("row").filter(has_text="sakila")
    expect(row.get_by_test_id("feedback-counts")).to_have_text("0 good · 1 bad")
    # Two events in the audit trail: the thumbs down, then the comment saved with it.
    expect(page.get_by_role("row").filter(has_text="rated down")).to_have_count(2)
    shot(page, "feedback-admin")
