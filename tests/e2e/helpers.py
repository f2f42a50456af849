"""What the browser tests share: where Chromium and the built app are, screenshots, the
accessibility sweep and registering through the login page."""

from __future__ import annotations

import os

from playwright.sync_api import Page, expect

from tests.conftest import ROOT

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
DIST = ROOT / "frontend" / "dist"
ARTIFACTS = ROOT / "test-artifacts"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]  # fmt: skip


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def assert_forms_accessible(page: Page, scope: str = "form") -> None:
    """Every visible control has a label, and Tab reaches every one inside ``scope`` elements."""
    unlabeled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => el.offsetParent !== null)
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map(el => el.outerHTML)"""
    )
    assert unlabeled == []
    key = "e => e.tagName + ':' + (e.id || e.name || e.getAttribute('aria-label') || e.textContent.trim())"
    page.wait_for_load_state("networkidle")
    page.locator("body").focus()
    reached = set()
    for _ in range(100):
        page.keyboard.press("Tab")
        focused = f"() => {{ const e = document.activeElement; return e && e.closest('{scope}') ? ({key})(e) : null; }}"
        reached.add(page.evaluate(focused))
    reached.discard(None)
    controls = page.evaluate(
        f"""() => [...document.querySelectorAll('{scope} input, {scope} select, {scope} textarea, {scope} button')]
            .filter(el => el.offsetParent !== null && !el.disabled).map({key})"""
    )
    assert controls and set(controls) <= reached, set(controls) - reached


def register(page: Page, app_url: str, email: str) -> None:
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert_forms_accessible(page)
    shot(page, "01-login")
    page.get_by_role("button", name="No account yet? Create one").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("long-password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def add_connection(page: Page, name: str, url: str) -> None:
    """Adds a PostgreSQL connection on the Connections screen and waits for its first index."""
    page.get_by_label("Name").fill(name)
    page.get_by_label("Connection URL").fill(url)
    page.get_by_role("button", name="Add and index").click()
    card = page.get_by_role("article", name=f"Connection {name}")
    expect(card.get_by_text("succeeded")).to_be_visible(timeout=60_000)
