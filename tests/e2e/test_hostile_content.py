"""Hostile database content in the browser: table, column and cell values written as HTML are
shown as text by the chart (labels, tooltip, SVG download), the query editor and the schema map,
and nothing the app draws is refused by its Content-Security-Policy."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, expect

from tests.e2e.helpers import add_connection, register

TABLE = "<img src=x onerror=window.__xss=1>"
COLUMN = "<svg onload=window.__xss=2>"
CELL = '<img src=x onerror="window.__xss=3">'
SETUP = f"""
CREATE TABLE "{TABLE}" (id int PRIMARY KEY, "{COLUMN}" text, n int);
CREATE TABLE "child<script>window.__xss=4</script>" (id int PRIMARY KEY, parent int REFERENCES "{TABLE}" (id));
INSERT INTO "{TABLE}" VALUES (1, '{CELL.replace("'", "''")}', 5), (2, '</text><script>window.__xss=5</script>', 7),
  (3, '{{a|rich}} & <b>bold</b>', 9);
"""


def test_hostile_names_and_values_stay_text_under_the_csp(
    page: Page, app_url: str, scratch_db: Callable[[str], str]
) -> None:
    url = scratch_db(SETUP)
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or message.type == "error":
            violations.append(f"{message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: violations.append(f"pageerror: {error}"))
    page.on("dialog", lambda dialog: violations.append(f"dialog: {dialog.message}"))
    response = page.goto(app_url)
    assert response is not None and "default-src 'self'" in (response.headers.get("content-security-policy") or "")
    register(page, app_url, "hostile@example.com")
    page.get_by_role("link", name="Connections", exact=True).click()
    add_connection(page, "hostile", url)
    page.get_by_role("link", name="Ask about hostile").click()
    page.get_by_text("Write a query", exact=True).click()
    editor = page.get_by_role("textbox", name="Write a query")
    editor.click()
    page.keyboard.insert_text(f'SELECT "{COLUMN}", n FROM public."{TABLE}" ORDER BY id')
    page.get_by_role("button", name="Run", exact=True).click()
    typed = page.get_by_role("article", name="Typed query")
    expect(typed.get_by_text("3 rows.")).to_be_visible()
    expect(typed.get_by_role("cell", name=CELL, exact=True)).to_be_visible()
    chart_button = typed.get_by_role("button", name="Chart", exact=True)
    if chart_button.count():
        chart_button.click()
    chart = typed.get_by_test_id("chart")
    expect(chart.locator("svg text").first).to_be_visible()
    texts = chart.locator("svg text").all_text_contents()
    assert any("onerror" in t for t in texts), texts
    # The tooltip of each bar names its category as text (an axis tooltip: any point of a row shows it).
    tooltip_texts = []
    box = chart.bounding_box()
    assert box is not None
    for step in range(1, 20):
        for fx in (0.5, 0.8):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * step / 20)
            page.wait_for_timeout(60)
            tooltip_texts.append(
                page.evaluate(
                    "() => [...document.querySelectorAll('[data-testid=chart] > div')].map(d => d.innerText).join('|')"
                )
            )
    assert any(CELL in t for t in tooltip_texts), tooltip_texts
    svg = page.evaluate("() => document.querySelector('[data-testid=chart] svg').outerHTML")
    assert "<script" not in svg and "<img" not in svg, svg[:2000]
    # The downloaded SVG: no element beyond what ECharts draws.
    with page.expect_download() as info:
        typed.get_by_role("button", name="Download SVG").click()
    path = info.value.path()
    content = Path(path).read_text(encoding="utf-8")
    assert "<script" not in content and "<img" not in content and "&lt;img" in content, content[:2000]
    assert re.fullmatch(r"[\w-]+\.svg", info.value.suggested_filename), info.value.suggested_filename
    with page.expect_download() as info:
        typed.get_by_role("button", name="Download PNG").click()
    assert Path(info.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The editor with the hostile query.
    typed.get_by_role("button", name="Edit and run").click()
    expect(page.get_by_role("textbox", name="Edit the query")).to_contain_text("onerror")
    # Completion lists the hostile names as text.
    page.keyboard.press("Control+End")
    page.keyboard.insert_text(" ")
    page.keyboard.type("chi")
    expect(page.locator(".cm-tooltip-autocomplete", has_text="child<script>")).to_have_count(1)
    page.keyboard.press("Escape")
    # The schema map of those tables.
    page.get_by_role("link", name="Connections", exact=True).click()
    page.get_by_role("article", name="Connection hostile").get_by_role("link", name="Schema map").click()
    page.wait_for_url("**/connections/*/map")
    nodes = page.get_by_test_id("map-node")
    expect(nodes).to_have_count(2)
    expect(page.get_by_text(TABLE).first).to_be_visible()
    nodes.first.click()
    page.wait_for_timeout(1000)
    assert page.evaluate("() => window.__xss") is None
    assert violations == [], violations
