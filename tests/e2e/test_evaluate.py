"""The Evaluate screen in the browser: import a JSONL evaluation set of 30 Sakila questions from a
file (and see a pasted refused line reported), run an evaluation with a chosen model to its
result table, open a wrong question's row diff; then the same screen at a phone's width in the
dark theme."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.backend.test_evaluations import QUESTIONS, SET_FILE, scripted_reply
from tests.e2e.helpers import add_connection, assert_forms_accessible, register, shot
from tests.e2e.test_accessibility import FAILING, axe_violations, describe
from tests.fake_ollama import OllamaScript


def test_import_run_and_read_a_diff(browser: Browser, app_url: str, sakila_url: str, ollama: OllamaScript) -> None:
    # bypass_csp: the app's CSP rightly forbids the inline script axe-core is injected as.
    desktop = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = desktop.new_page()
    register(page, app_url, "evaluate@example.com")
    page.get_by_role("link", name="Connections", exact=True).click()
    add_connection(page, "sakila", sakila_url)
    page.get_by_role("article", name="Connection sakila").get_by_role("link", name="Evaluate models").click()
    expect(page.get_by_role("heading", name="Evaluate sakila")).to_be_visible()
    expect(page.get_by_test_id("set-size")).to_have_text("0 questions with their expected SQL (at most 1000).")
    assert_forms_accessible(page)

    page.get_by_label("File (.jsonl or .csv)").set_input_files(str(SET_FILE))
    expect(page.get_by_label("Or paste the lines")).not_to_have_value("")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("Imported 30 questions; the set now holds 30.")).to_be_visible()
    expect(page.get_by_test_id("set-size")).to_have_text("30 questions with their expected SQL (at most 1000).")

    # A pasted line the guard refuses is reported with its line and reason, and not added.
    page.get_by_label("Or paste the lines").fill('{"question": "Wipe", "query": "DELETE FROM payment"}')
    page.get_by_label("Format").select_option("jsonl")
    page.get_by_label("Existing questions").select_option("append")
    page.get_by_role("button", name="Import").click()
    refused = page.get_by_role("list", name="Refused lines")
    expect(refused).to_contain_text("Line 1: refused by the guard")
    expect(page.get_by_test_id("set-size")).to_contain_text("30 questions")

    ollama.handler = scripted_reply
    page.get_by_label("Model").select_option("qwen2.5-coder:7b")
    page.get_by_role("button", name="Start").click()
    runs = page.get_by_role("table").filter(has_text="Context recall")
    row = runs.get_by_role("row").filter(has_text="qwen2.5-coder:7b")
    expect(row).to_contain_text("Done", timeout=120_000)
    expect(row).to_contain_text("60%")
    expect(row).to_contain_text("18 of 30")
    expect(page.get_by_role("list", name="Outcomes")).to_contain_text("Match: 18")
    expect(page.get_by_role("list", name="Outcomes")).to_contain_text("Wrong rows: 7")
    shot(page, "evaluate-run")

    # The wrong answer to question 24: the rows only each side has, under the expected columns.
    question = page.get_by_role("list", name="Questions").get_by_role("listitem").nth(23)
    expect(question).to_contain_text(QUESTIONS[23])
    question.locator("summary").click()
    expect(question.get_by_text("Not a match: the rows differ.")).to_be_visible()
    diff = question.get_by_role("table")
    expect(diff.get_by_role("columnheader")).to_have_text(["Only in", "store_id", "customers"])
    expect(diff.get_by_role("rowheader")).to_have_text(["expected", "expected", "generated", "generated"])
    shot(page, "evaluate-diff")
    serious = [describe(v) for v in axe_violations(page) if v["impact"] in FAILING]
    assert not serious, "\n".join(serious)

    # At a phone's width, in the dark theme: nothing wider than the screen.
    context = browser.new_context(
        color_scheme="dark",
        viewport={"width": 390, "height": 844},
        storage_state=page.context.storage_state(),
        bypass_csp=True,
    )
    phone = context.new_page()
    phone.goto(page.url)
    expect(phone.get_by_role("heading", name="Evaluate sakila")).to_be_visible()
    expect(phone.get_by_role("list", name="Outcomes")).to_be_visible()
    assert int(phone.evaluate("() => document.documentElement.scrollWidth")) <= 390
    assert phone.evaluate("() => document.documentElement.classList.contains('dark')")
    opened = phone.get_by_role("list", name="Questions").get_by_role("listitem").nth(23)
    opened.locator("summary").click()
    expect(opened.get_by_role("table")).to_be_visible()
    assert int(phone.evaluate("() => document.documentElement.scrollWidth")) <= 390
    serious = [describe(v) for v in axe_violations(phone) if v["impact"] in FAILING]
    assert not serious, "\n".join(serious)
    shot(phone, "evaluate-phone-dark")
    context.close()
    desktop.close()
