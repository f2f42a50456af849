"""The browser session: an httpOnly SameSite=Strict cookie, a CSRF header on every change, and
bearer tokens working as before. Both corpora: what must pass and what must be refused."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from pydantic import SecretStr

from backend.api.session_cookie import CSRF_COOKIE, CSRF_HEADER, SECURE_PREFIX, SESSION_COOKIE
from backend.config import AuthSettings, Settings
from backend.main import create_app
from tests.conftest import TEST_JWT_SECRET, register_and_login, wait_for_sync


def _browser_login(client: TestClient) -> tuple[str, str]:
    email, password = f"{uuid.uuid4().hex[:8]}@example.com", "correct horse battery"
    client.post("/api/auth/register", json={"email": email, "password": password}).raise_for_status()
    response = client.post("/api/auth/login", json={"email": email, "password": password, "session_cookie": True})
    assert response.status_code == 200
    assert response.json()["access_token"] is None  # the page's scripts never hold the token
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{SESSION_COOKIE}="))
    csrf = next(c for c in cookies if c.startswith(f"{CSRF_COOKIE}="))
    assert "HttpOnly" in session and "SameSite=strict" in session and "Path=/" in session
    assert "HttpOnly" not in csrf and "SameSite=strict" in csrf
    assert "Secure" not in session  # plain http here; https (or a trusted proxy saying so) adds it
    return email, client.cookies[CSRF_COOKIE]


def test_the_cookie_authenticates_reads_and_csrf_guards_changes(client: TestClient) -> None:
    email, csrf = _browser_login(client)
    assert client.get("/api/auth/me").json()["email"] == email  # no Authorization header
    body = {"model": None, "top_k": 5}
    refused = client.put("/api/settings", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = client.put("/api/settings", json=body, headers={CSRF_HEADER: csrf[:-2] + "xx"})
    assert wrong.status_code == 403
    assert client.get("/api/settings").json()["top_k"] != 5  # refused requests changed nothing
    ok = client.put("/api/settings", json=body, headers={CSRF_HEADER: csrf})
    assert ok.status_code == 200 and ok.json()["top_k"] == 5


def test_bearer_tokens_need_no_csrf_and_no_cookie_login_sets_none(client: TestClient) -> None:
    email, password = "bearer@example.com", "correct horse battery"
    client.post("/api/auth/register", json={"email": email, "password": password}).raise_for_status()
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert "set-cookie" not in response.headers
    token = response.json()["access_token"]
    changed = client.put("/api/settings", json={"top_k": 4}, headers={"Authorization": f"Bearer {token}"})
    assert changed.status_code == 200


def test_logout_ends_the_cookie_session_and_forgetting_needs_no_token(client: TestClient) -> None:
    _, csrf = _browser_login(client)
    old_session = client.cookies[SESSION_COOKIE]
    out = client.post("/api/auth/logout", headers={CSRF_HEADER: csrf})
    assert out.status_code == 204
    assert SESSION_COOKIE not in client.cookies and CSRF_COOKIE not in client.cookies
    # The old cookie, replayed, no longer works: logout moved the token version on.
    client.cookies.set(SESSION_COOKIE, old_session)
    assert client.get("/api/auth/me").status_code == 401
    forgotten = client.delete("/api/auth/session")
    expired = forgotten.headers.get_list("set-cookie")
    assert forgotten.status_code == 204 and len(expired) == 4  # both names of both cookies
    assert all("Max-Age=0" in c for c in expired) and any(c.startswith(f"{SESSION_COOKIE}=") for c in expired)
    assert all("Secure" in c for c in expired if c.startswith(SECURE_PREFIX))


def test_over_https_the_cookies_are_secure_and_host_prefixed(settings_factory: Callable[..., Settings]) -> None:
    with TestClient(create_app(settings_factory()), base_url="https://testserver") as client:
        email, password = f"{uuid.uuid4().hex[:8]}@example.com", "correct horse battery"
        client.post("/api/auth/register", json={"email": email, "password": password}).raise_for_status()
        login = client.post("/api/auth/login", json={"email": email, "password": password, "session_cookie": True})
        cookies = login.headers.get_list("set-cookie")
        assert len(cookies) == 2 and all(c.startswith(SECURE_PREFIX) and "Secure" in c for c in cookies)
        assert all("Domain" not in c and "Path=/" in c for c in cookies)
        assert client.get("/api/auth/me").json()["email"] == email
        csrf = client.cookies[SECURE_PREFIX + CSRF_COOKIE]
        assert client.put("/api/settings", json={"top_k": 6}).status_code == 403
        assert client.put("/api/settings", json={"top_k": 6}, headers={CSRF_HEADER: csrf}).status_code == 200


def test_secure_always_marks_cookies_secure_over_plain_http(settings_factory: Callable[..., Settings]) -> None:
    with TestClient(
        create_app(
            settings_factory(auth=AuthSettings(jwt_secret=SecretStr(TEST_JWT_SECRET), session_cookie_secure="always"))
        )
    ) as client:
        email, password = f"{uuid.uuid4().hex[:8]}@example.com", "correct horse battery"
        client.post("/api/auth/register", json={"email": email, "password": password}).raise_for_status()
        login = client.post("/api/auth/login", json={"email": email, "password": password, "session_cookie": True})
        assert all(c.startswith(SECURE_PREFIX) and "Secure" in c for c in login.headers.get_list("set-cookie"))


def test_without_cookie_or_token_it_is_401(client: TestClient) -> None:
    client.cookies.clear()
    assert client.get("/api/auth/me").status_code == 401
    assert client.put("/api/settings", json={"top_k": 4}).status_code == 401


def test_over_https_planted_bare_cookies_count_for_nothing(settings_factory: Callable[..., Settings]) -> None:
    """Reproduction (review): a bare-named cookie, which a sibling host or an http:// page can
    plant, must not sign anyone in over https, nor pair with the other spelling for CSRF."""
    with TestClient(create_app(settings_factory()), base_url="https://testserver") as client:
        attacker = register_and_login(client)["Authorization"].removeprefix("Bearer ")
        client.cookies.set(SESSION_COOKIE, attacker)
        assert client.get("/api/auth/me").status_code == 401
        email, password = f"{uuid.uuid4().hex[:8]}@example.com", "correct horse battery"
        client.post("/api/auth/register", json={"email": email, "password": password}).raise_for_status()
        client.post("/api/auth/login", json={"email": email, "password": password, "session_cookie": True})
        assert client.get("/api/auth/me").json()["email"] == email  # the __Host- session wins
        client.cookies.delete(SECURE_PREFIX + CSRF_COOKIE)
        client.cookies.set(CSRF_COOKIE, "planted")
        mixed = client.put("/api/settings", json={"top_k": 7}, headers={CSRF_HEADER: "planted"})
        assert mixed.status_code == 403


def test_the_new_query_and_chart_routes_need_the_csrf_header(client: TestClient, sakila_url: str) -> None:
    """POST /api/query/run and PATCH /api/history/{id}/chart from a cookie session: refused
    without the CSRF header (another site's form or fetch), run with it."""
    _, csrf = _browser_login(client)
    made = client.post(
        "/api/connections", json={"name": "s", "kind": "postgres", "url": sakila_url}, headers={CSRF_HEADER: csrf}
    )
    assert made.status_code == 201, made.text
    connection_id = made.json()["id"]
    assert wait_for_sync(client, {}, connection_id)["status"] == "succeeded"  # GETs need no CSRF header
    body = {"connection_id": connection_id, "query": "SELECT name, count(*) AS n FROM category GROUP BY name"}
    refused = client.post("/api/query/run", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert client.get("/api/history").json()["total"] == 0  # nothing ran or was kept
    ran = client.post("/api/query/run", json=body, headers={CSRF_HEADER: csrf})
    assert ran.status_code == 200 and ran.json()["executed"] is True, ran.text
    chart = {"kind": "pie", "x": "name", "y": "n"}
    path = f"/api/history/{ran.json()['history_id']}/chart"
    assert client.patch(path, json=chart).status_code == 403
    assert client.get("/api/history").json()["items"][0]["chart"] is None
    assert client.patch(path, json=chart, headers={CSRF_HEADER: csrf}).json() == chart
