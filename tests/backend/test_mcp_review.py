"""Adversarial review of the MCP server (review16): what a token holder can send that the
transport and the tools must refuse as the HTTP API does."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.backend.test_mcp import _client, _error, _json, _login, _token, served, world  # noqa: F401 - fixtures


def test_get_on_mcp_is_refused_not_held_open(served: str) -> None:  # noqa: F811 - the fixture
    """A stateless server has nothing to push: a GET must not open an SSE stream that never
    ends (one held connection per GET, for any token, read scope included)."""
    with httpx.Client(base_url=served, timeout=60) as http:
        owner = _login(http, f"mcp-get-{uuid.uuid4().hex[:8]}@example.com")
        read = {"Authorization": f"Bearer {_token(http, owner, 'read')['token']}"}
    with httpx.Client(base_url=served, timeout=httpx.Timeout(10)) as http:
        for accept in ("text/event-stream", "*/*"):
            got = http.get("/mcp", headers={**read, "Accept": accept})
            assert got.status_code == 405, (accept, got.status_code, got.text[:200])
            assert got.headers["allow"] == "POST"
        assert http.get("/mcp", headers={"Accept": "text/event-stream"}).status_code == 401, "the token still first"
        assert http.delete("/mcp", headers=read).status_code == 405


def test_search_schema_takes_the_api_limits(world: dict[str, Any]) -> None:  # noqa: F811 - the fixture
    """``search_schema`` validates its question as ``POST /api/connections/{id}/search`` does
    (SearchIn: no NUL, at most 2,000 characters): MCP is no way around the API's limits."""
    cid = world["cid"]
    with httpx.Client(base_url=world["url"], timeout=60) as http:
        for query in ("film\x00actors", "film " * 401):
            refused = http.post(f"/api/connections/{cid}/search", json={"query": query}, headers=world["owner"])
            assert refused.status_code == 422, refused.text[:200]

    async def session() -> None:
        async with _client(world["url"], world["read"]["token"]) as client:
            for question in ("film\x00actors", "film " * 401, "film " * 200_000):
                refused = await client.call_tool("search_schema", {"connection_id": cid, "question": question})
                assert "invalid arguments" in _error(refused).lower(), question[:20]
            found = _json(await client.call_tool("search_schema", {"connection_id": cid, "question": "film actors"}))
            assert "public.film_actor" in {f["object"] for f in found}
            huge_k = _json(await client.call_tool("search_schema", {"connection_id": cid, "question": "x", "k": 10**9}))
            assert huge_k, "k is capped by the service, not refused"

    asyncio.run(session())
