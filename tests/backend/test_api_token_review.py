"""Adversarial review of personal API tokens (review16): what a token holder can send that the
scope table must still refuse."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.backend.test_api_tokens import _bearer, _token, owner  # noqa: F401 - the fixture


def test_a_read_token_cannot_borrow_a_scope_through_the_host_header(
    client: TestClient,
    owner: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    """The scope is chosen by the route the request matched, never by text the client writes:
    a Host header carrying a path (``x/api/connections#``) must not make ``POST /api/tokens``
    look like a readable route."""
    read = _token(client, owner["headers"], "read")
    lying_hosts = ["x/api/connections/{connection_id}/search#", "x/api/connections/{connection_id}/search?"]
    for host in lying_hosts:
        headers = {**_bearer(read), "Host": host}
        made = client.post("/api/tokens", json={"name": "escalated", "scope": "ask"}, headers=headers)
        assert made.status_code == 403, (host, made.status_code, made.text[:200])
        listed = client.get("/api/tokens", headers={**_bearer(read), "Host": "x/api/connections#"})
        assert listed.status_code == 403, (host, listed.status_code, listed.text[:200])
        question = {"connection_id": owner["cid"], "question": "How many films?"}
        asked = client.post("/api/query", json=question, headers={**_bearer(read), "Host": "x/api/query/stream#"})
        assert asked.status_code == 403 or "'read'" in asked.text, asked.text[:200]
    names = [t["name"] for t in client.get("/api/tokens", headers=owner["headers"]).json()["items"]]
    assert names == ["script read"], names


def test_an_api_token_counts_only_in_the_authorization_header(
    client: TestClient,
    owner: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    """Not as the session cookie (which would skip the scope table), not in the query string;
    the same token in the header still works (the refusals are not a broken token)."""
    read = _token(client, owner["headers"], "read")
    client.cookies.set("sextant_session", read["token"])
    client.cookies.set("sextant_csrf", "x")
    as_cookie = client.post("/api/tokens", json={"name": "via cookie", "scope": "ask"}, headers={"X-CSRF-Token": "x"})
    assert as_cookie.status_code == 401, as_cookie.text[:200]
    assert client.get("/api/connections").status_code == 401
    client.cookies.clear()
    for name in ("token", "access_token", "api_key"):
        assert client.get("/api/connections", params={name: read["token"]}).status_code == 401, name
    assert client.get("/api/connections", headers=_bearer(read)).status_code == 200
    assert [t["name"] for t in client.get("/api/tokens", headers=owner["headers"]).json()["items"]] == ["script read"]
