"""The colour theme follows the system's preference, and a pick in the navigation overrides it
and survives a reload."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.helpers import register, shot


def _background(page: Page) -> str:
    return str(page.evaluate("() => getComputedStyle(document.body).backgroundColor"))


def test_dark_system_gets_a_dark_page_and_the_pick_sticks(browser: Browser, app_url: str) -> None:
    context = browser.new_context(color_scheme="dark", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        register(page, app_url, "night@example.com")
        assert _background(page) == "rgb(2, 6, 23)"
        card = page.locator("section").first
        assert card.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(15, 23, 42)"
        shot(page, "09-dark")
        page.get_by_label("Theme").select_option("light")
        assert _background(page) != "rgb(2, 6, 23)"
        page.reload()
        expect(page.get_by_label("Theme")).to_have_value("light")
        assert _background(page) != "rgb(2, 6, 23)"
        page.get_by_label("Theme").select_option("system")
        assert _background(page) == "rgb(2, 6, 23)"
    finally:
        context.close()
