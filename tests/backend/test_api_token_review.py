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
