"""The whole loop in a real Chromium (Debian's /usr/bin/chromium, driven by Playwright):
register -> connect Sakila -> watch the indexing finish -> ask -> answer, query, table ->
history -> settings -> logout. Screenshots of each screen go to test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from backend.config import LLMSettings, Settings
from backend.main import create_app
from tests.conftest import ServerThread, free_port
from tests.e2e.helpers import DIST, assert_forms_accessible, register, shot
from tests.fake_ollama import OllamaScript


def test_the_whole_loop(page: Page, app_url: str, sakila_url: str, ollama: OllamaScript) -> None:
    register(page, app_url, "loop@example.com")
    expect(page.get_by_test_id("health-llm")).to_contain_text("working")
    shot(page, "02-dashboard")

    page.get_by_role("link", name="Connections", exact=True).click()
    page.get_by_label("Name").fill("sakila")
    page.get_by_label("Connection URL").fill("postgresql://postgres@127.0.0.1:1/nowhere")
    page.get_by_role("button", name="Test").click()
    expect(page.get_by_role("alert")).to_contain_text("Could not connect")
    page.get_by_label("Connection URL").fill(sakila_url)
    page.get_by_role("button", name="Test").click()
    expect(page.get_by_text(re.compile(r"Connected: server version 1\d"))).to_be_visible()
    assert_forms_accessible(page)
    # Records whether an indexing progress bar was ever on screen, and the values it showed.
    page.evaluate(
        """() => { window.progressSeen = [];
                   new MutationObserver(() => document.querySelectorAll('[role=progressbar]')
                       .forEach(b => window.progressSeen.push(b.getAttribute('aria-valuenow'))))
                   .observe(document.body, {subtree: true, childList: true, attributes: true}); }"""
    )
    page.get_by_role("button", name="Add and index").click()
    card = page.get_by_role("article", name="Connection sakila")
    expect(card.get_by_text("succeeded")).to_be_visible(timeout=60_000)
    assert page.evaluate("() => window.progressSeen.length") > 0, "the progress bar never showed"
    expect(card.get_by_text(re.compile(r"Indexed 22 tables or collections"))).to_be_visible()
    expect(card.get_by_label("Index freshness")).to_contain_text("not checked for changes since")
    card.get_by_role("button", name="Check for changes").click()
    expect(card.get_by_text(re.compile(r"The catalog is unchanged: the index of 22"))).to_be_visible(timeout=30_000)
    expect(card.get_by_label("Index freshness")).to_contain_text("the schema is unchanged")
    card.get_by_label("Check for changes").select_option("Every day")
    expect(card.get_by_label("Check for changes")).to_have_value("1440")
    card.get_by_role("button", name="Schema").click()
    expect(card.get_by_text("public.rental", exact=True)).to_be_visible()
    rental = card.locator("details").filter(has=page.locator("summary", has_text=re.compile(r"^public\.rental")))
    rental.locator("summary").click()
    samples = rental.get_by_role("table", name="Sample rows")
    # Sample rows carry a header in the order of the column list above them.
    expect(samples.get_by_role("columnheader").first).to_have_text("rental_id")
    expect(samples.get_by_role("columnheader").nth(1)).to_have_text("rental_date")
    shot(page, "03-connections")
    rental.get_by_role("link", name="Ask about rental").click()
    expect(page.get_by_role("textbox", name="Question")).to_have_value("What is in public.rental?")
    expect(page.get_by_role("textbox", name="Question")).to_be_focused()
    page.get_by_role("link", name="Connections", exact=True).click()

    ollama.reply_sql(
        "SELECT c.name AS category, count(*) AS films FROM category c JOIN film_category fc"
        " ON fc.category_id = c.category_id GROUP BY c.name ORDER BY films DESC"
    )
    ollama.answer = "Sports has the most films, 74."
    page.get_by_role("link", name="Chat").click()
    assert_forms_accessible(page)
    page.get_by_role("textbox", name="Question").fill("How many films are in each category?")
    page.get_by_role("button", name="Ask").click()
    expect(page.get_by_test_id("answer")).to_have_text("Sports has the most films, 74.")
    expect(page.get_by_test_id("query")).to_contain_text("JOIN public.film_category AS fc")
    # The whole result downloads as CSV (the query run again, read-only), its cap stated.
    expect(page.get_by_text("up to 1,000,000 rows")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the whole result (CSV)").click()
    exported = Path(download.value.path()).read_text().splitlines()
    assert exported[0] == "category,films" and len(exported) == 17 and exported[1] == "Sports,74"
    table = page.get_by_role("table", name="Result rows")
    expect(table.get_by_role("row")).to_have_count(17)  # header + 16 categories
    expect(table).to_contain_text("Sports")
    expect(page.get_by_role("img", name="Bar chart of films by category")).to_be_visible()
    expect(page.get_by_test_id("timings")).to_contain_text("execute")
    expect(page.get_by_role("complementary", name="History")).to_contain_text("How many films are in each category?")
    shot(page, "04-chat")

    ollama.reply_sql("SELECT count(*) AS films FROM film_category WHERE category_id = 15")
    ollama.answer = "74."
    page.get_by_role("textbox", name="Follow-up question").fill("And how many in Sports exactly?")
    page.get_by_role("button", name="Ask").click()
    expect(page.get_by_test_id("answer").nth(1)).to_have_text("74.")
    # Timings come with the stream's end, after the answer is in the history (a reload before it lost the turn).
    expect(page.get_by_test_id("timings").nth(1)).to_contain_text("execute")
    follow_up = ollama.chat_requests(streaming=False)[-1]["messages"]
    assert {"role": "user", "content": "How many films are in each category?"} in follow_up

    # The conversation is in the URL and the history keeps the evidence: a reload shows the same
    # table, chart, sources and SQL-that-ran, and so does reopening it from History.
    assert "conversation=" in page.url
    for reopen in ("reload", "history"):
        if reopen == "reload":
            page.reload()
        else:
            page.get_by_role("button", name="New conversation").click()
            expect(page.get_by_test_id("answer")).to_have_count(0)
            page.get_by_role("complementary", name="History").get_by_role(
                "button", name="How many films are in each category?"
            ).click()
        expect(page.get_by_test_id("answer")).to_have_count(2)
        first = page.get_by_role("article", name="Question: How many films are in each category?")
        expect(first.get_by_role("table", name="Result rows").get_by_role("row")).to_have_count(17)
        expect(first.get_by_role("img", name="Bar chart of films by category")).to_be_visible()
        expect(first).to_contain_text("SQL that ran")
        expect(first.get_by_test_id("sources")).to_contain_text(
            re.compile(r"Used by the query: public\.category, public\.film_category\s*Also retrieved: ")
        )
        expect(first.get_by_test_id("timings")).to_contain_text("execute")
    shot(page, "04b-chat-reopened")

    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_label("Model", exact=True)).to_have_value("llama3.2:latest")
    assert_forms_accessible(page)
    page.get_by_label("Tables retrieved per question (top_k)").fill("4")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    shot(page, "05-settings")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto(f"{app_url}/settings")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_wrong_password_and_expired_session_read_as_sentences(page: Page, app_url: str) -> None:
    register(page, app_url, "expiry@example.com")
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Email").fill("expiry@example.com")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password")
    page.get_by_label("Password").fill("long-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    # The session is an httpOnly cookie: script in the page cannot read it, and nothing of it is
    # in web storage; a new tab of the same browser is signed in too.
    assert page.evaluate("() => document.cookie").count("sextant_session") == 0
    assert page.evaluate("() => Object.keys(localStorage).length + Object.keys(sessionStorage).length") == 0
    other = page.context.new_page()
    other.goto(f"{app_url}/settings")
    expect(other.get_by_role("heading", name="Settings")).to_be_visible()
    other.close()
    # A token the server no longer accepts: the next call sends the person back to log in.
    session = next(c for c in page.context.cookies() if c["name"] == "sextant_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    page.context.add_cookies(
        [
            {
                "name": "sextant_session",
                "value": session["value"][:-4] + "AAAA",
                "domain": session["domain"],
                "path": session["path"],
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )
    page.reload()
    expect(page.get_by_text("Your session has expired. Please log in again.")).to_be_visible()


def test_llm_down_shows_a_banner(browser: Browser, settings_factory: Callable[..., Settings], sakila_url: str) -> None:
    settings = settings_factory(frontend_dir=DIST, llm=LLMSettings(ollama_url=f"http://127.0.0.1:{free_port()}"))
    server = ServerThread(create_app(settings), free_port()).start()
    context = browser.new_context()
    page = context.new_page()
    try:
        register(page, server.url, "down@example.com")
        expect(page.get_by_test_id("health-llm")).to_contain_text("unavailable")
        page.get_by_role("link", name="Chat").click()
        expect(page.get_by_text(re.compile("The language model is unreachable"))).to_be_visible()
        shot(page, "06-llm-down")
    finally:
        context.close()
        server.stop()


def test_admin_screen_manages_users_sign_up_and_shows_the_audit_trail(
    browser: Browser, page: Page, app_url: str, store_dsn: str
) -> None:
    import psycopg

    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE users CASCADE")
        conn.execute("DELETE FROM app_settings")
    try:
        register(page, app_url, "boss@example.com")  # the first account is the admin
        other = browser.new_context()
        other_page = other.new_page()
        register(other_page, app_url, "worker@example.com")
        expect(other_page.get_by_role("link", name="Admin")).to_have_count(0)
        # A user who types /admin is sent to the dashboard, not shown the admin skeleton.
        other_page.goto(f"{app_url}/admin")
        expect(other_page.get_by_role("heading", name="Dashboard")).to_be_visible()
        assert other_page.url.rstrip("/") == app_url.rstrip("/")
        other.close()

        page.reload()
        page.get_by_role("link", name="Admin").click()
        expect(page.get_by_role("heading", name="Admin", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Disable worker@example.com")).to_be_visible()
        assert_forms_accessible(page, scope="main")
        # Disabling asks first; Cancel changes nothing.
        page.get_by_role("button", name="Disable worker@example.com").click()
        expect(page.get_by_role("alertdialog", name="Confirm")).to_contain_text("Their sessions end now")
        page.get_by_role("button", name="Cancel").click()
        expect(page.get_by_role("button", name="Disable worker@example.com")).to_be_visible()
        page.get_by_role("button", name="Disable worker@example.com").click()
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("button", name="Enable worker@example.com")).to_be_visible()
        # The trail filters by user and pages.
        page.get_by_label("User", exact=True).select_option(label="worker@example.com")
        audit = page.get_by_role("table", name="Audit events")
        expect(audit.get_by_role("row").nth(1)).to_contain_text("worker@example.com")
        expect(audit).not_to_contain_text("boss@example.com")
        expect(page.get_by_text(re.compile(r"Events 1\u2013\d+ of \d+"))).to_be_visible()
        page.get_by_label("User", exact=True).select_option(label="everyone")
        page.get_by_label("Anyone who reaches this server may create an account").uncheck()
        page.get_by_label("Action").select_option("signup")
        expect(page.get_by_role("table", name="Audit events")).to_contain_text("worker@example.com")
        shot(page, "07-admin")

        stranger = browser.new_context()
        stranger_page = stranger.new_page()
        stranger_page.goto(app_url)
        # Closed sign-up is said up front; the page offers no form that can only be refused.
        expect(stranger_page.get_by_text("Sign-up is closed: ask an administrator for an account.")).to_be_visible()
        expect(stranger_page.get_by_role("button", name="No account yet? Create one")).to_have_count(0)
        stranger_page.get_by_label("Email").fill("worker@example.com")
        stranger_page.get_by_label("Password").fill("long-password")
        stranger_page.get_by_role("button", name="Log in").click()
        expect(stranger_page.get_by_role("alert")).to_have_text("This account is disabled; ask an administrator")
        stranger.close()
    finally:
        with psycopg.connect(store_dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM app_settings")
