"""The schema map in Chromium: Sakila's tables and foreign keys drawn by React Flow and elkjs,
search, highlighted tables from an answer, a phone's width, and a schema of 800+ tables shown a
neighbourhood at a time."""

from __future__ import annotations

import time

from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from tests.conftest import mongo_db_url
from tests.e2e.helpers import add_connection, shot
from tests.fake_ollama import OllamaScript

PHONE: ViewportSize = {"width": 390, "height": 844}


def register(page: Page, app_url: str, email: str) -> None:
    """helpers.register without its form sweep, and with time for a first sign-up on a busy machine."""
    page.goto(app_url)
    page.get_by_role("button", name="No account yet? Create one").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("long-password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=30_000)


def _connection_id(page: Page, name: str) -> str:
    card = page.get_by_role("article", name=f"Connection {name}")
    card.get_by_role("link", name="Schema map").click()
    page.wait_for_url("**/connections/*/map")
    return page.url.split("/connections/")[1].split("/")[0]


def _node(page: Page, table: str) -> Locator:
    return page.locator(f'[data-testid="map-node"][data-table="{table}"]')


def test_sakila_map_search_and_highlight(page: Page, app_url: str, sakila_url: str, ollama: OllamaScript) -> None:
    register(page, app_url, "map@example.com")
    page.goto(app_url.rstrip("/") + "/connections")
    add_connection(page, "sakila", sakila_url)
    # The map's code is not loaded before the map is opened (React Flow and elkjs are code-split).
    loaded = "() => performance.getEntriesByType('resource').map(r => r.name).join(' ')"
    assert "SchemaMapPage" not in page.evaluate(loaded) and "elk" not in page.evaluate(loaded)
    connection_id = _connection_id(page, "sakila")
    expect(page.get_by_role("heading", name="Schema map")).to_be_visible()
    nodes = page.get_by_test_id("map-node")
    expect(nodes.first).to_be_visible(timeout=20_000)
    assert "SchemaMapPage" in page.evaluate(loaded) and "elk.bundled" in page.evaluate(loaded)
    assert nodes.count() >= 15, nodes.count()
    # Foreign keys are edges, e.g. film.language_id -> language.
    expect(page.locator('[aria-label="Foreign key public.film (language_id) to public.language"]')).to_have_count(1)
    assert page.locator(".react-flow__edge").count() >= 15
    # Nodes show key columns.
    expect(_node(page, "public.film")).to_contain_text("language_id")
    expect(page.get_by_label("Mini map")).to_be_visible()
    expect(page.get_by_role("button", name="Fit View")).to_be_visible()
    shot(page, "map-sakila")

    # Search: typing a table's name and Enter selects it and shows its columns and keys.
    page.get_by_label("Find a table").fill("rental")
    page.get_by_label("Find a table").press("Enter")
    expect(_node(page, "public.rental")).to_have_attribute("data-selected", "true")
    details = page.get_by_test_id("map-details")
    expect(details.get_by_role("heading", name="public.rental")).to_be_visible()
    expect(details).to_contain_text("inventory_id")
    expect(details.get_by_role("button", name="public.inventory")).to_be_visible()
    ask = details.get_by_role("link", name="Ask about rental")
    assert "q=What+is+in+public.rental" in (ask.get_attribute("href") or "")
    # Fit the view again, then click another node: it is selected.
    page.get_by_role("button", name="Fit View").click()
    _node(page, "public.language").click()
    expect(details.get_by_role("heading", name="public.language")).to_be_visible()
    shot(page, "map-sakila-selected")

    # The tables an answer used, highlighted; the others are not.
    page.goto(
        f"{app_url.rstrip('/')}/connections/{connection_id}/map?highlight=public.film,public.category,public.nope"
    )
    expect(_node(page, "public.film")).to_have_attribute("data-highlighted", "true", timeout=20_000)
    expect(_node(page, "public.category")).to_have_attribute("data-highlighted", "true")
    expect(_node(page, "public.actor")).to_have_attribute("data-highlighted", "false")
    expect(page.get_by_test_id("map-highlight")).to_contain_text("public.film, public.category")
    shot(page, "map-sakila-highlight")
    page.emulate_media(color_scheme="dark")
    expect(page.locator(".react-flow.dark")).to_be_visible()
    shot(page, "map-sakila-dark")
    page.emulate_media(color_scheme="light")

    # An answer's "Show on schema map" opens the map with the tables its query used highlighted.
    page.goto(f"{app_url.rstrip('/')}/chat?connection={connection_id}")
    ollama.reply_sql(
        "SELECT c.name, count(*) AS films FROM category c JOIN film_category fc ON fc.category_id = c.category_id"
        " GROUP BY c.name ORDER BY films DESC"
    )
    ollama.answer = "Sports has the most films."
    page.get_by_role("textbox", name="Question").fill("How many films per category?")
    page.get_by_role("button", name="Ask").click()
    expect(page.get_by_test_id("answer")).to_have_text("Sports has the most films.", timeout=30_000)
    page.get_by_test_id("sources").get_by_role("link", name="Show on schema map").click()
    page.wait_for_url("**/map?highlight=*")
    expect(_node(page, "public.category")).to_have_attribute("data-highlighted", "true", timeout=20_000)
    expect(_node(page, "public.film_category")).to_have_attribute("data-highlighted", "true")
    expect(_node(page, "public.film")).to_have_attribute("data-highlighted", "false")

    # The schema browser links to the map too.
    page.goto(f"{app_url.rstrip('/')}/connections")
    card = page.get_by_role("article", name="Connection sakila")
    card.get_by_role("button", name="Schema").click()
    expect(card.get_by_role("link", name="Open the schema map")).to_have_attribute(
        "href", f"/connections/{connection_id}/map"
    )


def test_map_fits_a_phone(browser: Browser, app_url: str, sakila_url: str) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        register(page, app_url, "map-phone@example.com")
        page.goto(app_url.rstrip("/") + "/connections")
        add_connection(page, "sakila", sakila_url)
        _connection_id(page, "sakila")
        expect(page.get_by_test_id("map-node").first).to_be_visible(timeout=20_000)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the map page is {width} px wide"
        box = page.get_by_role("region", name="Schema map").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        shot(page, "phone-map")
    finally:
        context.close()


def test_large_schema_shows_a_neighbourhood(page: Page, app_url: str, spider_url: str) -> None:
    register(page, app_url, "map-large@example.com")
    page.goto(app_url.rstrip("/") + "/connections")
    # Not add_connection: embedding 818 tables takes longer than its minute on a busy machine.
    page.get_by_label("Name").fill("spider")
    page.get_by_label("Connection URL").fill(spider_url)
    page.get_by_role("button", name="Add and index").click()
    card = page.get_by_role("article", name="Connection spider")
    expect(card.get_by_text("succeeded")).to_be_visible(timeout=600_000)
    connection_id = _connection_id(page, "spider")
    summary = page.get_by_test_id("map-summary")
    expect(summary).to_contain_text("Too many to draw at once", timeout=20_000)
    total = int(summary.inner_text().split()[0])
    assert total >= 800, summary.inner_text()
    # Nothing is laid out until a table is picked; the most connected ones are offered.
    expect(page.get_by_test_id("map-node")).to_have_count(0)
    picker = page.get_by_role("navigation", name="Most connected tables")
    first = picker.get_by_role("button").first
    table = first.inner_text()
    started = time.monotonic()
    first.click()
    expect(_node(page, table)).to_have_attribute("data-selected", "true", timeout=10_000)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"the neighbourhood took {elapsed:.1f} s"
    one_hop = page.get_by_test_id("map-node").count()
    assert 2 <= one_hop < 100, one_hop
    page.get_by_label("Neighbourhood").select_option("2")
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=map-node]').length > {one_hop}")
    shot(page, "map-large")
    # Search picks another table; the highlight of an answer shows its neighbourhood.
    page.get_by_label("Find a table").fill("singer")
    expect(page.get_by_role("navigation", name="Matching tables").get_by_role("button").first).to_be_visible()
    page.goto(f"{app_url.rstrip('/')}/connections/{connection_id}/map?highlight={table}")
    expect(_node(page, table)).to_have_attribute("data-highlighted", "true", timeout=20_000)
    assert page.get_by_test_id("map-node").count() < 100


def test_mongo_collections_have_no_relation_edges(page: Page, app_url: str, mongo_url: str) -> None:
    register(page, app_url, "map-mongo@example.com")
    page.goto(app_url.rstrip("/") + "/connections")
    page.get_by_label("Kind").select_option("mongodb")
    page.get_by_label("Name").fill("mflix")
    page.get_by_label("Connection URL").fill(mongo_db_url(mongo_url, "sample_mflix"))
    page.get_by_role("button", name="Add and index").click()
    card = page.get_by_role("article", name="Connection mflix")
    expect(card.get_by_text("succeeded")).to_be_visible(timeout=120_000)
    _connection_id(page, "mflix")
    expect(page.get_by_text("MongoDB has no foreign keys")).to_be_visible()
    expect(page.get_by_test_id("map-summary")).to_contain_text("collections")
    expect(page.get_by_test_id("map-node").first).to_be_visible(timeout=20_000)
    assert page.get_by_test_id("map-node").count() >= 3
    # Whatever references the indexer guesses are listed with a collection, never drawn.
    assert page.locator(".react-flow__edge").count() == 0
    page.get_by_label("Find a table").fill("users")
    page.get_by_label("Find a table").press("Enter")
    expect(page.get_by_test_id("map-details")).to_contain_text("_id")
    shot(page, "map-mongo")
