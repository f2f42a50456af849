"""Ask Sextant a question over MCP with the official Python SDK: the example the README shows.

Usage: SEXTANT_TOKEN=sxt_... python scripts/mcp_example.py http://localhost:8000/mcp sakila "How many films?"
The token is a personal API token with the ``ask`` scope (Settings -> API tokens).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def ask(url: str, token: str, connection: str, question: str) -> dict[str, object]:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with Client(streamable_http_client(url, http_client=http)) as client:
        tools = await client.list_tools()
        print("tools:", ", ".join(sorted(t.name for t in tools.tools)), file=sys.stderr)
        listed = await client.call_tool("list_connections", {})
        connections = (listed.structured_content or {}).get("result", [])
        match = next((c for c in connections if c["name"] == connection), None)
        if match is None:
            raise SystemExit(f"no connection named {connection!r}")
        answer = await client.call_tool("ask", {"connection_id": match["id"], "question": question})
        if answer.is_error:
            raise SystemExit(f"refused: {answer.content[0].text}")  # type: ignore[union-attr]
        return dict(answer.structured_content or {})


def main() -> None:
    if len(sys.argv) != 4 or "SEXTANT_TOKEN" not in os.environ:
        raise SystemExit(__doc__)
    url, connection, question = sys.argv[1:]
    print(json.dumps(asyncio.run(ask(url, os.environ["SEXTANT_TOKEN"], connection, question)), indent=2))


if __name__ == "__main__":
    main()
