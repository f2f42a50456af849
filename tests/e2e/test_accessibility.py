"""axe-core in Chromium on every screen, in both themes (light, dark) and at both widths
(desktop 1280 px, phone 390 px): no serious or critical violation anywhere. Each screen's
screenshot goes to test-artifacts/a11y-<screen>-<theme>-<width>.png.

One browser and one server for the whole sweep: the admin signs up once, and every theme and
width reuses that session (Playwright's storage state) instead of logging in again. The axe
engine is the pinned npm package (frontend/node_modules/axe-core), injected into each page."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.conftest import ROOT
from tests.e2e.helpers import shot
from tests.fake_ollama import OllamaScript

AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS: dict[str, ViewportSize] = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
THEMES = ("light", "dark")
FAILING = ("serious", "critical")
PASSWORD = "long-password"
CATEGORY_SQL = (
    "SELECT c.name AS category, count(*) AS films FROM category c JOIN film_category fc"
    " ON fc.category_id = c.category_id GROUP BY c.name ORDER BY films DESC"
)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The violations axe finds on the page as it stands (every rule axe runs by default).

    axe files text whose colour nearly equals its background (a ratio it rounds to 1:1) under
    "incomplete", as if it might be meant to be invisible; here nothing is, so such a node with
    a measured ratio below the required one counts as a contrast violation too."""
    page.wait_for_load_state("networkidle")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("() => axe.run(document)")
    violations: list[dict[str, Any]] = result["violations"]
    for rule in result["incomplete"]:
        if rule["id"] != "color-contrast":
            continue
        measured = [node for node in rule["nodes"] if _too_low(node)]
        if measured:
            violations.append({**rule, "impact": "serious", "nodes": measured})
    return violations


def _too_low(node: dict[str, Any]) -> bool:
    for check in node.get("any", []):
        data = check.get("data") or {}
        ratio, needed = data.get("contrastRatio"), data.get("expectedContrastRatio")
        if isinstance(ratio, int | float) and ratio > 0 and needed and ratio < float(str(needed).split(":")[0]):
            return True
    return False


def describe(violation: dict[str, Any]) -> str:
    """One line per offending element: the rule, where, and axe's summary of what to fix."""
    lines = [f"{violation['id']} ({violation['impact']}): {violation['help']}"]
    for node in violation["nodes"][:8]:
        summary = " ".join(str(node.get("failureSummary", "")).split())
        lines.append(f"    at {node['target']}: {summary}")
    return "\n".join(lines)


class Sweep:
    """Runs axe on each screen and keeps what fails, so one run reports every problem at once."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.minor: list[str] = []
        self.screens: list[str] = []
        self.theme = THEMES[0]
        self.width = "desktop"

    def check(self, page: Page, screen: str) -> None:
        name = f"{screen}-{self.theme}-{self.width}"
        self.screens.append(name)
        shot(page, f"a11y-{name}")
        wide = int(page.evaluate("() => document.documentElement.scrollWidth"))
        if wide > WIDTHS[self.width]["width"]:
            self.failures.append(f"[{name}] the page is {wide} px wide, wider than the screen")
        for violation in axe_violations(page):
            target = self.failures if violation["impact"] in FAILING else self.minor
            target.append(f"[{name}] {describe(violation)}")


def _context(browser: Browser, theme: str, width: str, state: Any = None) -> BrowserContext:
    phone = width == "phone"
    return browser.new_context(
        viewport=WIDTHS[width],
        is_mobile=phone,
        has_touch=phone,
        color_scheme="dark" if theme == "dark" else "light",
        storage_state=state,
        bypass_csp=True,  # the app's CSP rightly forbids the inline script axe is injected as
    )


def _sign_up_admin(browser: Browser, app_url: str, store_dsn: str) -> Any:
    """Empties the users so the first sign-up is the admin; returns that session's storage state."""
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE users CASCADE")
        conn.execute("DELETE FROM app_settings")
    context = browser.new_context(viewport=WIDTHS["desktop"])
    page = context.new_page()
    page.goto(app_url)
    page.get_by_role("button", name="No account yet? Create one").click()
    page.get_by_label("Email").fill("axe@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    # A second account, so the admin screen has someone to disable (and a dialog to check).
    response = context.request.post(
        f"{app_url.rstrip('/')}/api/auth/register", data={"email": "other@example.com", "password": PASSWORD}
    )
    assert response.ok, response.text()
    state = context.storage_state()
    context.close()
    return state


def _add_sakila(browser: Browser, app_url: str, state: Any, sakila_url: str) -> None:
    context = _context(browser, "light", "desktop", state)
    page = context.new_page()
    page.goto(f"{app_url.rstrip('/')}/connections")
    page.get_by_label("Name").fill("sakila")
    page.get_by_label("Connection URL").fill(sakila_url)
    page.get_by_role("button", name="Add and index").click()
    card = page.get_by_role("article", name="Connection sakila")
    expect(card.get_by_text("succeeded")).to_be_visible(timeout=60_000)
    context.close()


def _signed_out_screens(page: Page, app_url: str, sweep: Sweep) -> None:
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    sweep.check(page, "login")
    page.get_by_role("button", name="No account yet? Create one").click()
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    sweep.check(page, "sign-up")


def _signed_in_screens(page: Page, app_url: str, ollama: OllamaScript, phone: bool, sweep: Sweep) -> None:
    base = app_url.rstrip("/")
    page.goto(base)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_test_id("health-llm")).to_contain_text("working")
    # The skip link shows only while focused: checked in that state, over the dashboard.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    sweep.check(page, "dashboard")
    if phone:
        page.get_by_role("navigation", name="Main").get_by_role("button", name="Menu").click()
        expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings")).to_be_visible()
        sweep.check(page, "menu-open")

    page.goto(f"{base}/chat")
    expect(page.get_by_role("textbox", name="Question")).to_be_visible()
    sweep.check(page, "chat-empty")
    ollama.reply_sql(CATEGORY_SQL)
    ollama.answer = "Sports has the **most** films, 74."
    page.get_by_role("textbox", name="Question").fill("How many films are in each category?")
    page.get_by_role("button", name="Ask").click()
    expect(page.get_by_test_id("answer")).to_contain_text("Sports has the most films, 74.")
    expect(page.get_by_role("table", name="Result rows")).to_be_visible()
    expect(page.get_by_test_id("sources")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("chart", re.IGNORECASE)).first).to_be_visible()
    sweep.check(page, "chat-answer")
    answer = page.get_by_role("article", name="Question: How many films are in each category?")
    answer.get_by_role("button", name="Edit and run").click()
    expect(page.get_by_role("textbox", name="Edit the query")).to_be_visible()
    sweep.check(page, "chat-editor")
    # The answer's tables on the schema map: the map, highlighted, with a table's details open.
    answer.get_by_role("link", name=re.compile("Show on schema map")).click()
    expect(page.get_by_role("heading", name="Schema map")).to_be_visible()
    expect(page.locator('[data-testid="map-node"][data-highlighted="true"]').first).to_be_visible(timeout=20_000)
    sweep.check(page, "schema-map")

    page.goto(f"{base}/connections")
    card = page.get_by_role("article", name="Connection sakila")
    expect(card.get_by_text("succeeded")).to_be_visible()
    sweep.check(page, "connections")
    page.get_by_label("Name").fill("nowhere")
    page.get_by_label("Connection URL").fill("postgresql://postgres@127.0.0.1:1/nowhere")
    page.get_by_role("button", name="Test").click()
    expect(page.get_by_role("alert")).to_contain_text("Could not connect")
    sweep.check(page, "connections-failed-test")
    card.get_by_role("button", name="Schema").click()
    rental = card.locator("details").filter(has=page.locator("summary", has_text=re.compile(r"^public\.rental")))
    rental.locator("summary").click()
    expect(rental.get_by_role("table", name="Sample rows")).to_be_visible()
    sweep.check(page, "connections-schema")

    page.goto(f"{base}/settings")
    expect(page.get_by_label("Model", exact=True)).to_have_value("llama3.2:latest")
    sweep.check(page, "settings")

    page.goto(f"{base}/admin")
    expect(page.get_by_role("button", name="Disable other@example.com")).to_be_visible()
    expect(page.get_by_role("table", name="Audit events").get_by_role("row").nth(1)).to_be_visible()
    sweep.check(page, "admin")
    page.get_by_role("button", name="Disable other@example.com").click()
    expect(page.get_by_role("alertdialog", name="Confirm")).to_be_visible()
    sweep.check(page, "admin-confirm")
    page.get_by_role("button", name="Cancel").click()
    page.get_by_label("User", exact=True).select_option(label="axe@example.com")
    expect(page.get_by_role("table", name="Audit events")).to_contain_text("axe@example.com")
    sweep.check(page, "admin-audit-filtered")


def test_no_serious_axe_violation_on_any_screen_theme_or_width(
    browser: Browser, app_url: str, sakila_url: str, store_dsn: str, ollama: OllamaScript
) -> None:
    assert AXE.is_file(), "install the frontend's dev dependencies (npm ci) for axe-core"
    state = _sign_up_admin(browser, app_url, store_dsn)
    _add_sakila(browser, app_url, state, sakila_url)
    sweep = Sweep()
    try:
        for theme in THEMES:
            for width in WIDTHS:
                sweep.theme, sweep.width = theme, width
                anonymous = _context(browser, theme, width)
                page = anonymous.new_page()
                _signed_out_screens(page, app_url, sweep)
                anonymous.close()
                signed_in = _context(browser, theme, width, state)
                page = signed_in.new_page()
                try:
                    _signed_in_screens(page, app_url, ollama, width == "phone", sweep)
                finally:
                    signed_in.close()
    finally:
        with psycopg.connect(store_dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM app_settings")
    if sweep.minor:
        print("moderate or minor axe findings:\n" + "\n".join(sweep.minor))
    # 14 screens at each width, and the phone's open menu: in two themes.
    assert len(sweep.screens) == 2 * (14 + 15), sweep.screens
    assert not sweep.failures, f"{len(sweep.failures)} serious or critical axe violations:\n" + "\n".join(
        sweep.failures
    )
