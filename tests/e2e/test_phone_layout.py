"""Every screen at a phone's width (390 px): nothing wider than the screen, the navigation behind
one Menu button, wide tables scrolling inside their own card, the question box within reach, the
History in a drawer."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.e2e.helpers import add_connection, register, shot
from tests.fake_ollama import OllamaScript

PHONE: ViewportSize = {"width": 390, "height": 844}


def _page_width(page: Page) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth"))


def _history_drawer(page: Page) -> None:
    """History is a drawer on a phone: opened by its button, focus inside, Escape or Close shut it
    and give focus back, and a conversation picked in it loads."""
    expect(page.get_by_role("complementary", name="History")).to_have_count(0)
    page.get_by_role("button", name="New conversation").click()
    expect(page.get_by_test_id("answer")).to_have_count(0)
    opener = page.get_by_role("button", name="History", exact=True)
    opener.click()
    drawer = page.get_by_role("dialog", name="History")
    expect(drawer).to_be_visible()
    expect(drawer.get_by_role("button", name="Close")).to_be_focused()
    box = drawer.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    shot(page, "phone-history-drawer")
    page.keyboard.press("Escape")
    expect(drawer).to_have_count(0)
    expect(opener).to_be_focused()
    opener.click()
    drawer.get_by_role("button", name="Close").click()
    expect(drawer).to_have_count(0)
    expect(opener).to_be_focused()
    opener.click()
    drawer.get_by_role("button", name="List thirty films with their details").click()
    expect(drawer).to_have_count(0)
    expect(page.get_by_test_id("answer")).to_have_text("Here are 30 films.")
    answer = page.get_by_role("article", name="Question: List thirty films with their details")
    expect(answer.get_by_role("table", name="Result rows").get_by_role("row")).to_have_count(21)  # header + page
    assert "conversation=" in page.url
    assert _page_width(page) <= PHONE["width"]


def test_every_screen_fits_a_phone(browser: Browser, app_url: str, sakila_url: str, ollama: OllamaScript) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        register(page, app_url, "phone@example.com")
        assert _page_width(page) <= PHONE["width"]
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Settings")).to_be_hidden()
        menu = nav.get_by_role("button", name="Menu")
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(nav.get_by_role("link", name="Log out")).to_have_count(0)
        expect(nav.get_by_role("button", name="Log out")).to_be_visible()
        nav.get_by_role("link", name="Connections").click()
        expect(nav.get_by_role("link", name="Settings")).to_be_hidden()  # the menu folds after choosing
        add_connection(page, "sakila", sakila_url)
        shots = {"connections": "/connections", "dashboard": "/", "chat": "/chat", "settings": "/settings",
                 "admin": "/admin"}  # fmt: skip
        for name, path in shots.items():
            page.goto(app_url.rstrip("/") + path)
            page.wait_for_load_state("networkidle")
            shot(page, f"phone-{name}")
            assert _page_width(page) <= PHONE["width"], f"{name} is {_page_width(page)} px wide"
        page.goto(app_url.rstrip("/") + "/chat")
        ollama.reply_sql("SELECT title, description, rental_rate, length, rating FROM film ORDER BY title LIMIT 30")
        ollama.answer = "Here are 30 films."
        question = page.get_by_role("textbox", name="Question")
        expect(question).to_be_in_viewport()
        question.fill("List thirty films with their details")
        page.get_by_role("button", name="Ask").click()
        expect(page.get_by_test_id("answer")).to_have_text("Here are 30 films.")
        shot(page, "phone-answer")
        assert _page_width(page) <= PHONE["width"], f"an answer makes the page {_page_width(page)} px wide"
        # A row copies with the header, tab-separated, as a spreadsheet pastes it.
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.get_by_role("button", name="Copy row 1", exact=True).click()
        expect(page.get_by_role("status").filter(has_text="Copied the row.")).to_be_visible()
        header, row = str(page.evaluate("() => navigator.clipboard.readText()")).split("\n")
        assert header == "title\tdescription\trental_rate\tlength\trating"
        assert row.startswith("ACADEMY DINOSAUR\t") and row.count("\t") == 4
        _history_drawer(page)
    finally:
        context.close()
