"""Charts in the browser (ECharts, SVG renderer): films per category as bars sorted by value with
every name and value written, monthly revenue on a time axis with readable dates, a chosen kind
that outlives a reload and a reopening from History, a chart made for a listing, PNG and SVG
downloads, and labels that stay readable at a phone's width."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
from playwright.sync_api import Locator, Page, expect

from tests.e2e.helpers import ARTIFACTS, add_connection, register, shot
from tests.fake_ollama import OllamaScript

PER_CATEGORY = (
    "SELECT c.name AS category, count(*) AS films FROM category c JOIN film_category fc"
    " ON fc.category_id = c.category_id GROUP BY c.name ORDER BY c.name"
)
MONTHLY = "SELECT date_trunc('month', payment_date) AS month, sum(amount) AS revenue FROM payment GROUP BY 1 ORDER BY 1"
LISTING = "SELECT film_id, title, rating, length FROM film ORDER BY title LIMIT 8"
FILMS_Q = "How many films are in each category?"
REVENUE_Q = "What was the revenue per month?"


def _rows(dsn: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return list(conn.execute(sql).fetchall())


def _amount(value: object) -> str:
    """A number as the chart writes it in en-US: grouped, at most two decimals, no trailing zeros."""
    return f"{float(str(value)):,.2f}".rstrip("0").rstrip(".")


def _texts(chart: Locator) -> list[str]:
    return [t.strip() for t in chart.locator("svg text").all_text_contents()]


def _ask(page: Page, question: str) -> None:
    box = page.get_by_role("textbox", name=re.compile(r"^(Question|Follow-up question)$"))
    box.fill(question)
    page.get_by_role("button", name="Ask").click()
    expect(page.get_by_role("article", name=f"Question: {question}").get_by_test_id("timings")).to_be_visible()


def _label_top(chart: Locator, text: str) -> float:
    box = chart.locator("svg text", has_text=re.compile(f"^{re.escape(text)}$")).first.bounding_box()
    assert box is not None, text
    return float(box["y"])


def test_charts(page: Page, app_url: str, sakila_url: str, ollama: OllamaScript) -> None:
    counts = {str(name): int(str(n)) for name, n in _rows(sakila_url, PER_CATEGORY)}
    assert len(counts) == 16
    register(page, app_url, "charts@example.com")
    # ECharts is a chunk of its own, fetched when a chart is first drawn: not by the login page or the dashboard.
    loaded = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and not [name for name in loaded if "EChart" in name], loaded
    page.get_by_role("link", name="Connections", exact=True).click()
    add_connection(page, "sakila", sakila_url)
    page.get_by_role("link", name="Ask about sakila").click()
    expect(page.get_by_role("heading", name="Chat")).to_be_visible()

    # Films per category: bars sorted by value, largest first, every category and value written.
    ollama.reply_sql(PER_CATEGORY)
    ollama.answer = "Sports has the most films."
    _ask(page, FILMS_Q)
    films = page.get_by_role("article", name=f"Question: {FILMS_Q}")
    bars = films.get_by_role("img", name="Bar chart of films by category")
    expect(bars.locator("svg")).to_be_visible()
    expect(bars.locator("svg text", has_text=re.compile("^Sports$"))).to_be_visible()
    texts = _texts(bars)
    assert set(counts) <= set(texts), set(counts) - set(texts)
    assert {str(n) for n in counts.values()} <= set(texts)  # a value label on every bar
    by_position = sorted(counts, key=lambda name: _label_top(bars, name))
    shown = [counts[name] for name in by_position]
    assert shown == sorted(shown, reverse=True), by_position
    # Labels are 12 px text in the DOM, not a picture scaled with the chart.
    sizes = bars.locator("svg text").evaluate_all("els => els.map(e => getComputedStyle(e).fontSize)")
    assert set(sizes) == {"12px"}, set(sizes)
    shot(page, "20-chart-bars")

    # Monthly revenue: a line on a time axis, dates written as months, spaced by time.
    months = _rows(sakila_url, MONTHLY)
    ollama.reply_sql(MONTHLY)
    ollama.answer = "July 2005 had the most revenue."
    _ask(page, REVENUE_Q)
    revenue = page.get_by_role("article", name=f"Question: {REVENUE_Q}")
    line = revenue.get_by_role("img", name="Line chart of revenue by month")
    expect(line.locator("svg path").first).to_be_attached()
    texts = _texts(line)
    dates = [t for t in texts if re.fullmatch(r"\d{4}-\d{2}", t)]
    assert len(dates) >= 3, texts
    assert not [t for t in texts if "T00" in t or re.search(r"\d{2}:\d{2}", t)], texts
    assert "2005-06" in dates and "2006-02" not in dates[:1]
    values = [_amount(v) for _, v in months]
    assert set(values) <= set(texts), (values, texts)

    def left(text: str) -> float:
        box = line.locator("svg text", has_text=re.compile(f"^{re.escape(text)}$")).first.bounding_box()
        assert box is not None
        return float(box["x"] + box["width"] / 2)

    may, june, august, february = (left(values[i]) for i in (0, 1, 3, 4))
    # Aug 2005 to Feb 2006 is six months: far wider than May to June, not one more step.
    assert february - august > 4 * (june - may), (may, june, august, february)
    # A tooltip names the point's month and value.
    line.scroll_into_view_if_needed()
    july = line.locator("svg text", has_text=re.compile(f"^{re.escape(values[2])}$")).first.bounding_box()
    assert july is not None
    page.mouse.move(july["x"] + july["width"] / 2, july["y"] + july["height"] + 20)
    tip = line.locator("div", has_text=re.compile(r"2005-07\s*revenue: 28,373\.89")).last
    expect(tip).to_be_visible()
    shot(page, "21-chart-time")

    # Switching the kind is kept with the answer: a reload and a reopening from History show it.
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.url.endswith("/chart")) as patched:
        films.get_by_role("combobox", name="Chart type").select_option("pie")
    assert patched.value.status == 200
    pie = films.get_by_role("img", name="Pie chart of films by category")
    expect(pie.locator("svg text", has_text=re.compile(r"^Sports: 74"))).to_be_visible()
    for reopen in ("reload", "history"):
        if reopen == "reload":
            page.reload()
        else:
            page.get_by_role("button", name="New conversation").click()
            expect(page.get_by_role("article")).to_have_count(0)
            page.get_by_role("complementary", name="History").get_by_role("button", name=FILMS_Q).click()
        films = page.get_by_role("article", name=f"Question: {FILMS_Q}")
        expect(films.get_by_role("img", name="Pie chart of films by category")).to_be_visible()
        expect(films.get_by_role("combobox", name="Chart type")).to_have_value("pie")
        revenue = page.get_by_role("article", name=f"Question: {REVENUE_Q}")
        expect(revenue.get_by_role("img", name="Line chart of revenue by month")).to_be_visible()
    shot(page, "22-chart-kept")

    # Downloads: an SVG with the names in it, and a PNG.
    with page.expect_download() as svg_download:
        films.get_by_role("button", name="Download SVG").click()
    assert svg_download.value.suggested_filename == "films-by-category.svg"
    svg = Path(svg_download.value.path()).read_text()
    assert svg.lstrip().startswith("<svg") and "Sports" in svg and "Music" in svg
    with page.expect_download() as png_download:
        revenue.get_by_role("button", name="Download PNG").click()
    assert png_download.value.suggested_filename == "revenue-by-month.png"
    png = Path(png_download.value.path()).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000

    # A listing is not charted by itself; the Chart button makes one, which is kept too.
    ollama.reply_sql(LISTING)
    ollama.answer = "Here are eight films."
    _ask(page, "List some films with their length")
    listing = page.get_by_role("article", name="Question: List some films with their length")
    expect(listing.get_by_test_id("chart")).to_have_count(0)
    listing.get_by_role("button", name="Chart", exact=True).click()
    made = listing.get_by_role("img", name="Bar chart of length by title")
    expect(made.locator("svg text", has_text="ACADEMY DINOSAUR")).to_be_visible()
    page.reload()
    listing = page.get_by_role("article", name="Question: List some films with their length")
    expect(listing.get_by_role("img", name="Bar chart of length by title")).to_be_visible()

    # At a phone's width the chart fits and its labels stay 12 px.
    page.set_viewport_size({"width": 390, "height": 844})
    films = page.get_by_role("article", name=f"Question: {FILMS_Q}")
    films.get_by_role("combobox", name="Chart type").select_option("bar")
    bars = films.get_by_role("img", name="Bar chart of films by category")
    expect(bars.locator("svg text", has_text=re.compile("^Music$"))).to_be_visible()
    box = bars.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    svg_box = bars.locator("svg").bounding_box()
    assert svg_box is not None and svg_box["width"] <= box["width"] + 1
    assert set(counts) <= set(_texts(bars))
    for name in ("Sports", "Music", "Documentary"):
        label = bars.locator("svg text", has_text=re.compile(f"^{name}$")).first.bounding_box()
        assert label is not None and label["height"] >= 10 and 0 <= label["x"] <= 390
    shot(page, "23-chart-phone")
    films.get_by_test_id("chart-panel").screenshot(path=str(ARTIFACTS / "23b-chart-phone-bars.png"))
    revenue = page.get_by_role("article", name=f"Question: {REVENUE_Q}")
    revenue.get_by_test_id("chart-panel").screenshot(path=str(ARTIFACTS / "23c-chart-phone-line.png"))
    listing = page.get_by_role("article", name="Question: List some films with their length")
    listing.get_by_test_id("chart-panel").screenshot(path=str(ARTIFACTS / "23d-chart-phone-listing.png"))

    # In the dark theme the chart's text turns light with the page.
    page.emulate_media(color_scheme="dark")
    expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
    sports = bars.locator("svg text", has_text=re.compile("^Sports$")).first
    expect(sports).to_have_css("fill", "rgb(226, 232, 240)")
    films.get_by_test_id("chart-panel").screenshot(path=str(ARTIFACTS / "24-chart-phone-dark.png"))
