"""Issue 15's whole loop in the browser: a Sakila answer rated thumbs up is saved as a verified
example, a note is added in the schema browser, the same question asked again is answered from
the example without the model, and an evaluation over the verified examples runs to its result
table."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.helpers import add_connection, register, shot
from tests.fake_ollama import OllamaScript

QUESTION = "How many films are rated PG-13?"
SQL = "SELECT count(*) AS films FROM film WHERE rating = 'PG-13'"
NOTE = "Ratings follow the MPAA scale; PG-13 means parents strongly cautioned."


def _right_for_the_example(request: dict[str, Any]) -> str | None:
    """The model asked about the example's question writes its query; nothing else is scripted."""
    if request.get("stream"):
        return None
    last = request["messages"][-1]["content"]
    return json.dumps({"sql": SQL}) if QUESTION in last else None


def test_thumbs_up_to_example_to_evaluation(page: Page, app_url: str, sakila_url: str, ollama: OllamaScript) -> None:
    register(page, app_url, "teach@example.com")
    page.get_by_role("link", name="Connections", exact=True).click()
    add_connection(page, "sakila", sakila_url)
    card = page.get_by_role("article", name="Connection sakila")

    # A note on public.film, from the schema browser.
    card.get_by_role("button", name="Schema", exact=True).click()
    card.locator("details").filter(has=page.locator("summary", has_text="public.film ")).first.locator(
        "summary"
    ).click()
    card.get_by_role("button", name="Add note on public.film", exact=True).click()
    card.get_by_label("Note on public.film", exact=True).fill(NOTE)
    card.get_by_role("button", name="Save note").click()
    expect(card.get_by_text(f"Note: {NOTE}")).to_be_visible()

    # Asked once (the model writes the query), rated up and saved as a verified example.
    card.get_by_role("link", name="Ask about sakila").click()
    ollama.reply_sql(SQL)
    page.get_by_role("textbox", name="Question").fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    turn = page.get_by_role("article", name=f"Question: {QUESTION}")
    expect(turn.get_by_test_id("timings")).to_be_visible()
    expect(turn.get_by_test_id("notes-used")).to_contain_text(NOTE)
    turn.get_by_role("button", name="Good answer").click()
    turn.get_by_role("button", name="Save as verified example").click()
    form = turn.get_by_role("form", name="Save as verified example")
    form.get_by_role("button", name="Run", exact=True).click()
    expect(form.get_by_role("cell", name="223", exact=True)).to_be_visible()
    form.get_by_role("button", name="Save", exact=True).click()
    expect(turn.get_by_text("Saved as a verified example.")).to_be_visible()
    shot(page, "teach-01-saved")

    # The same question again (other case and spacing): answered from the example, no model call.
    before = len(ollama.chat_requests())
    page.get_by_role("textbox", name="Follow-up question").fill("how many films are rated  PG-13")
    page.get_by_role("button", name="Ask").click()
    again = page.get_by_role("article", name="Question: how many films are rated PG-13", exact=True)
    verified = again.get_by_test_id("verified")
    expect(verified).to_contain_text(f"Answered from a verified example (no model): “{QUESTION}")
    expect(again.get_by_role("table", name="Result rows")).to_contain_text("223")
    assert len(ollama.chat_requests()) == before, "the model was called for a verified question"
    shot(page, "teach-02-reused")

    # An evaluation over the verified examples, with another model, to its result table.
    page.get_by_role("link", name="Connections", exact=True).click()
    page.get_by_role("article", name="Connection sakila").get_by_role("link", name="Evaluate models").click()
    expect(page.get_by_role("heading", name="Evaluate sakila")).to_be_visible()
    ollama.handler = _right_for_the_example
    page.get_by_label("Model").select_option("qwen2.5-coder:7b")
    page.get_by_label("Questions", exact=True).select_option("examples")
    page.get_by_role("button", name="Start").click()
    runs = page.get_by_role("table").filter(has_text="Context recall")
    row = runs.get_by_role("row").filter(has_text="qwen2.5-coder:7b")
    expect(row).to_contain_text("Done", timeout=120_000)
    expect(row).to_contain_text("100%")
    expect(page.get_by_role("list", name="Outcomes")).to_contain_text("Match: 1")
    question = page.get_by_role("list", name="Questions").get_by_role("listitem").first
    expect(question).to_contain_text(QUESTION)
    shot(page, "teach-03-evaluated")
