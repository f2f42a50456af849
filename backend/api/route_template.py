"""The route a request matched, as its template (``/api/connections/{connection_id}``)."""

from __future__ import annotations

from fastapi import Request


def route_template(request: Request) -> str:
    """``/api/connections/{connection_id}``, not the path itself: ids must not explode label sets,
    and API token scopes are granted per template."""
    if request.scope.get("route") is None:
        return "unmatched"
    path = request.url.path
    for name, value in request.path_params.items():
        path = path.replace(str(value), "{" + name + "}", 1)
    return path
