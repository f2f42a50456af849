"""Settings -> API tokens in the browser: a token is made and shown once, works as a Bearer
token from a script, and stops working the moment it is revoked on the same screen."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.helpers import register, shot


def test_make_use_and_revoke_a_token(page: Page, app_url: str) -> None:
    register(page, app_url, "tokens@example.com")
    page.get_by_role("link", name="Settings").click()
    tokens = page.get_by_role("region", name="API tokens")
    tokens.get_by_label("Token name").fill("nightly report")
    tokens.get_by_label("Scope").select_option("read")
    tokens.get_by_role("button", name="Make token").click()
    shown = page.get_by_test_id("new-token")
    expect(shown).to_contain_text("sxt_")
    token = shown.inner_text().strip()
    shot(page, "api-token-made")
    bearer = {"Authorization": f"Bearer {token}"}
    question = {"connection_id": "00000000-0000-0000-0000-000000000000", "question": "x"}
    with httpx.Client(base_url=app_url) as http:
        assert http.get("/api/connections", headers=bearer).status_code == 200
        assert http.post("/api/query", json=question, headers=bearer).status_code == 403  # read scope: no questions
    page.get_by_role("button", name="Done").click()
    expect(shown).to_have_count(0)
    table = page.get_by_role("table", name="Your API tokens")
    expect(table).to_contain_text("nightly report")
    expect(table).not_to_contain_text(token)
    page.reload()
    expect(page.get_by_test_id("new-token")).to_have_count(0)  # shown once: not after a reload
    page.get_by_role("button", name="Revoke nightly report…").click()
    page.get_by_role("button", name="Revoke nightly report", exact=True).click()
    expect(table.get_by_role("cell", name="revoked")).to_be_visible()
    with httpx.Client(base_url=app_url) as http:
        assert http.get("/api/connections", headers=bearer).status_code == 401
