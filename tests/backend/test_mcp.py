"""The MCP server, driven by the official SDK's own client over Streamable HTTP against the
real backend (uvicorn on a port): tool listing, every tool, a refused query, a revoked token,
a read token asking, and another user's connection (not found)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult

from backend.config import Settings
from backend.main import create_app
from tests.conftest import ServerThread, free_port, wait_for_sync
from tests.fake_ollama import OllamaScript

ROOT = Path(__file__).resolve().parents[2]

TOOLS = {"list_connections", "search_schema", "describe_object", "run_query", "ask"}


@pytest.fixture
def served(settings_factory: Callable[..., Settings]) -> Iterator[str]:
    server = ServerThread(create_app(settings_factory()), free_port()).start()
    yield server.url
    server.stop()


def _login(http: httpx.Client, email: str) -> dict[str, str]:
    creds = {"email": email, "password": "correct horse"}
    assert http.post("/api/auth/register", json=creds).status_code == 201
    token = http.post("/api/auth/login", json=creds).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _token(http: httpx.Client, headers: dict[str, str], scope: str) -> dict[str, Any]:
    made = http.post("/api/tokens", json={"name": f"mcp {scope}", "scope": scope}, headers=headers)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


@pytest.fixture
def world(served: str, sakila_url: str) -> dict[str, Any]:
    """Two users; the first owns an indexed Sakila connection and an ask and a read token."""
    with httpx.Client(base_url=served, timeout=60) as http:
        tag = uuid.uuid4().hex[:8]
        owner = _login(http, f"mcp-owner-{tag}@example.com")
        other = _login(http, f"mcp-other-{tag}@example.com")
        made = http.post(
            "/api/connections", json={"name": "sakila", "kind": "postgres", "url": sakila_url}, headers=owner
        )
        assert made.status_code == 201, made.text
        cid = made.json()["id"]
        with httpx.Client(base_url=served, timeout=60) as poll:
            status = wait_for_sync(poll, owner, cid)  # type: ignore[arg-type]
        assert status["status"] == "succeeded"
        other_cid = http.post(
            "/api/connections", json={"name": "theirs", "kind": "postgres", "url": sakila_url}, headers=other
        ).json()["id"]
        return {
            "url": served,
            "owner": owner,
            "cid": cid,
            "other_cid": other_cid,
            "ask": _token(http, owner, "ask"),
            "read": _token(http, owner, "read"),
        }


def _client(url: str, token: str) -> Client:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    return Client(streamable_http_client(f"{url}/mcp", http_client=http), cache=None)


def _json(result: CallToolResult) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        content = result.structured_content
        return content.get("result", content) if set(content) == {"result"} else content
    return json.loads(result.content[0].text)  # type: ignore[union-attr]


def _error(result: CallToolResult) -> str:
    assert result.is_error, result
    return str(result.content[0].text)  # type: ignore[union-attr]


def test_tools_answer_with_an_ask_token(world: dict[str, Any], ollama: OllamaScript) -> None:
    cid = world["cid"]
    ollama.reply_sql("SELECT count(*) AS films FROM film")
    ollama.answer = "There are 1000 films."

    async def session() -> None:
        async with _client(world["url"], world["ask"]["token"]) as client:
            listed = await client.list_tools()
            assert {t.name for t in listed.tools} == TOOLS
            assert all(t.description for t in listed.tools)
            connections = _json(await client.call_tool("list_connections", {}))
            assert [(c["id"], c["name"], c["indexed"]) for c in connections] == [(cid, "sakila", True)]
            found = _json(await client.call_tool("search_schema", {"connection_id": cid, "question": "film actors"}))
            assert "public.film_actor" in {f["object"] for f in found} and all(f["text"] for f in found)
            described = await client.call_tool("describe_object", {"connection_id": cid, "object_name": "public.film"})
            assert not described.is_error and "rental_rate" in described.content[0].text  # type: ignore[union-attr]
            ran = _json(
                await client.call_tool("run_query", {"connection_id": cid, "query": "SELECT count(*) FROM actor"})
            )
            assert ran["rows"] == [[200]] and ran["query"] == "SELECT COUNT(*) FROM public.actor"
            answer = _json(await client.call_tool("ask", {"connection_id": cid, "question": "How many films?"}))
            assert answer["answer"] == "There are 1000 films." and answer["rows"] == [[1000]]
            assert answer["query"] == "SELECT COUNT(*) AS films FROM public.film" and "public.film" in answer["sources"]
            resources = await client.list_resources()
            assert [str(r.uri) for r in resources.resources] == [f"sextant://connections/{cid}/schema"]
            summary = await client.read_resource(f"sextant://connections/{cid}/schema")
            assert "public.film (table): film_id, title" in summary.contents[0].text  # type: ignore[union-attr]

    asyncio.run(session())


def test_refusals_are_tool_errors_and_nothing_runs(world: dict[str, Any]) -> None:
    cid = world["cid"]

    async def session() -> None:
        async with _client(world["url"], world["ask"]["token"]) as client:
            refused = _error(await client.call_tool("run_query", {"connection_id": cid, "query": "DELETE FROM film"}))
            assert "refused" in refused.lower()
            theirs = await client.call_tool("describe_object", {"connection_id": world["other_cid"],
                                                                 "object_name": "public.film"})  # fmt: skip
            assert "not found" in _error(theirs).lower()
            theirs_run = await client.call_tool("run_query", {"connection_id": world["other_cid"], "query": "SELECT 1"})
            assert "not found" in _error(theirs_run).lower()
            bad_id = await client.call_tool("search_schema", {"connection_id": "nope", "question": "x"})
            assert "not found" in _error(bad_id).lower()
        async with _client(world["url"], world["read"]["token"]) as client:
            asked = await client.call_tool("ask", {"connection_id": cid, "question": "How many films?"})
            assert "needs 'ask'" in _error(asked)
            assert _json(await client.call_tool("list_connections", {}))[0]["id"] == cid

    asyncio.run(session())
    with httpx.Client(base_url=world["url"]) as http:
        assert http.get(f"/api/connections/{cid}", headers=world["owner"]).status_code == 200


def test_a_revoked_or_missing_token_is_refused(world: dict[str, Any]) -> None:
    url = world["url"]
    with httpx.Client(base_url=url) as http:
        assert http.post("/mcp", json={}).status_code == 401
        # A login token is not an API token: MCP takes API tokens only.
        assert http.post("/mcp", json={}, headers=world["owner"]).status_code == 401
        assert http.delete(f"/api/tokens/{world['ask']['id']}", headers=world["owner"]).status_code == 204
        refused = http.post("/mcp", json={}, headers={"Authorization": f"Bearer {world['ask']['token']}"})
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]

    async def session() -> None:
        async with _client(url, world["ask"]["token"]) as client:
            await client.list_tools()

    with pytest.raises(BaseException) as raised:
        asyncio.run(session())
    # The SDK reports the 401 as an error response (the same client works with a live token above).
    assert "MCPError: Server returned an error response" in _chain(raised.value), _chain(raised.value)


def _chain(exc: BaseException) -> str:
    """Every message in an exception, its causes and its groups' members."""
    parts = [f"{type(exc).__name__}: {exc}"]
    if isinstance(exc, BaseExceptionGroup):
        parts += [_chain(e) for e in exc.exceptions]
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            parts.append(_chain(linked))
    return " | ".join(parts)


def test_the_readme_example_script_asks_over_mcp(world: dict[str, Any], ollama: OllamaScript) -> None:
    ollama.reply_sql("SELECT count(*) AS films FROM film")
    ollama.answer = "1000 films."
    env = {**os.environ, "SEXTANT_TOKEN": world["ask"]["token"]}
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts/mcp_example.py"), f"{world['url']}/mcp", "sakila", "How many films?"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["answer"] == "1000 films." and answer["rows"] == [[1000]]
    assert "tools: ask, describe_object, list_connections, run_query, search_schema" in done.stderr
