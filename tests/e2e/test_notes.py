"""Notes in the browser: a note added on a Sakila table in the schema browser is kept (a reload
shows it), and an answer about it says, in its sources, that the note was used."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import add_connection, register, shot
from tests.fake_ollama import OllamaScript

NOTE = "Revenue means sum(amount) in payment, refunds excluded."
QUESTION = "What was our revenue?"


def _open_payment(page: Page) -> None:
    """Shows the schema on the Sakila card and opens public.payment in it."""
    card = page.get_by_role("article", name="Connection sakila")
    card.get_by_role("button", name="Schema", exact=True).click()
    card.locator("details").filter(has=page.locator("summary", has_text="public.payment")).locator("summary").click()


def test_a_note_on_a_table_is_kept_and_used(page: Page, app_url: str, sakila_url: str, ollama: OllamaScript) -> None:
    register(page, app_url, "notes@example.com")
    page.get_by_role("link", name="Connections", exact=True).click()
    add_connection(page, "sakila", sakila_url)
    payment = page.get_by_role("article", name="Connection sakila")
    _open_payment(page)
    payment.get_by_role("button", name="Add note on public.payment", exact=True).click()
    payment.get_by_label("Note on public.payment", exact=True).fill(NOTE)
    with page.expect_response(lambda r: r.request.method == "PUT" and r.url.endswith("/notes")) as put:
        payment.get_by_role("button", name="Save note").click()
    assert put.value.status == 200
    expect(payment.get_by_text(f"Note: {NOTE}")).to_be_visible()
    shot(page, "notes-schema-browser")

    page.reload()
    _open_payment(page)
    card = page.get_by_role("article", name="Connection sakila")
    expect(card.get_by_text(f"Note: {NOTE}")).to_be_visible()
    expect(card.get_by_role("button", name="Edit note on public.payment", exact=True)).to_be_visible()

    card.get_by_role("link", name="Ask about sakila").click()
    ollama.reply_sql("SELECT sum(amount) AS revenue FROM payment")
    page.get_by_role("textbox", name=re.compile(r"^(Question|Follow-up question)$")).fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    turn = page.get_by_role("article", name=f"Question: {QUESTION}")
    expect(turn.get_by_test_id("timings")).to_be_visible()
    notes = turn.get_by_test_id("notes-used")
    expect(notes).to_contain_text("Notes used:")
    expect(notes.get_by_role("listitem")).to_have_text([f"public.payment: {NOTE}"])
    expect(turn.get_by_test_id("sources")).to_contain_text("public.payment")
    shot(page, "notes-answer")
    # The model's prompt had it too, next to the table.
    system = ollama.chat_requests(streaming=False)[0]["messages"][0]["content"]
    assert f"-- note: {NOTE}\nCREATE TABLE public.payment (" in system
