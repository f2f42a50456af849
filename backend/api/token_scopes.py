"""Which endpoints a personal API token may call, and with which scope: the one table.

``read`` reaches the connections, their schema and search; ``ask`` adds questions, queries and
the history they leave. Everything else (tokens themselves, passwords, settings, connections'
changes, admin) needs a signed-in session: a token there is a 403. The MCP server (``/mcp``)
checks its own tools against the same scopes.
"""

from __future__ import annotations

from typing import Final

from backend.schemas.tokens import TokenScope

TOKEN_SCOPES: Final[dict[tuple[str, str], TokenScope]] = {
    ("GET", "/api/auth/me"): "read",
    ("GET", "/api/connections"): "read",
    ("GET", "/api/connections/{connection_id}"): "read",
    ("GET", "/api/connections/{connection_id}/sync"): "read",
    ("GET", "/api/connections/{connection_id}/schema"): "read",
    ("POST", "/api/connections/{connection_id}/search"): "read",
    ("GET", "/api/models"): "read",
    ("POST", "/api/query"): "ask",
    ("POST", "/api/query/stream"): "ask",
    ("POST", "/api/query/run"): "ask",
    ("GET", "/api/history"): "ask",
    ("GET", "/api/history/{history_id}/export.csv"): "ask",
}


def scope_for(method: str, route: str) -> TokenScope | None:
    """The scope ``method route`` needs of a token, or None when tokens may not call it."""
    return TOKEN_SCOPES.get((method.upper(), route))
