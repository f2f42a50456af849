"""The MCP server: Sextant's tools for agent clients over Streamable HTTP at ``/mcp``, with the
official ``mcp`` SDK, authenticated by personal API tokens.

Every HTTP request to ``/mcp`` carries ``Authorization: Bearer <API token>``; the token is
checked (and its use audited) before the SDK sees the request, and the caller rides along in
the ASGI scope's state, where each tool reads it back. ``read`` tokens may list, search and
describe; ``run_query`` and ``ask`` need ``ask``. Tools call the same services as the HTTP API
(the same ownership checks, guard, read-only runner, limits, rate limits and audit trail), so
another user's connection is "not found" and a refused query is a tool error.

The SDK runs stateless (a fresh transport per request, no session to pin to a replica) and
without its DNS-rebinding check: that check protects cookie- or network-trusting servers,
and this one trusts nothing but the bearer token, which a rebinding page cannot read.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ListResourcesResult, Resource
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from backend.context import AppContext
from backend.engines.registry import ENGINES
from backend.errors import AppError
from backend.schemas.connections import SearchIn
from backend.schemas.query import QueryIn, QueryOut, QueryRunIn
from backend.schemas.schema_snapshot import ObjectInfo
from backend.services.api_token_service import TokenPrincipal, is_api_token
from backend.services.audit_service import Actor

PRINCIPAL = "sextant_principal"
ModelT = TypeVar("ModelT", bound=BaseModel)
# Rows a tool returns at most: an agent's context is small; the count says when there were more.
TOOL_ROWS = 50
INSTRUCTIONS = (
    "Sextant answers questions about the user's own PostgreSQL and MongoDB databases, read-only. "
    "Start with list_connections; search_schema finds the tables a question needs; ask answers a question "
    "in plain language with the query it ran and the rows; run_query runs a read-only query you wrote."
)


class SextantMCP(MCPServer[Any]):
    """The MCP server, with each caller's connections listed as schema resources."""

    def __init__(self, context: AppContext):
        super().__init__(name="sextant", title="Sextant", version="0.1.0", instructions=INSTRUCTIONS)
        self.app_context = context

    async def _handle_list_resources(self, ctx: Any, params: Any) -> ListResourcesResult:
        principal = _principal_of(ctx.request)
        connections = await self.app_context.connections.list(principal.user.id)
        return ListResourcesResult(
            resources=[
                Resource(
                    uri=f"sextant://connections/{c.id}/schema",
                    name=f"{c.name} schema",
                    description=f"The tables or collections of {c.name} ({c.kind}), with their columns",
                    mime_type="text/plain",
                )
                for c in connections
                if c.indexed_at is not None
            ]
        )


def _principal_of(request: Any) -> TokenPrincipal:
    principal = getattr(getattr(request, "state", None), PRINCIPAL, None)
    if not isinstance(principal, TokenPrincipal):  # the endpoint always sets it; a guard, not a path
        raise ToolError("Not authenticated")
    return principal


def _caller(ctx: Context, needed: str = "read") -> tuple[TokenPrincipal, Actor]:
    request = ctx.request_context.request
    principal = _principal_of(request)
    if needed == "ask" and not principal.allows("ask"):
        raise ToolError(f"This API token's scope is '{principal.scope}'; this tool needs 'ask'")
    client = request.client.host if isinstance(request, Request) and request.client else "unknown"
    return principal, Actor(principal.user.id, principal.user.email, client, token_id=principal.token_id)


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ToolError("Connection not found") from None


def _valid(model: type[ModelT], **fields: Any) -> ModelT:
    """The tool's arguments as the HTTP API's body model takes them (lengths, NUL...), or a tool error."""
    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ToolError(f"Invalid arguments: {problems}") from None


async def _call(coro: Any) -> Any:
    """An ``AppError`` (not found, conflict, rate limit...) becomes a tool error with its words."""
    try:
        return await coro
    except AppError as exc:
        raise ToolError(exc.detail) from None


def _rows(out: QueryOut) -> dict[str, Any]:
    return {
        "query": out.query,
        "language": out.language,
        "columns": out.columns,
        "rows": out.rows[:TOOL_ROWS],
        "row_count": out.row_count,
        "rows_cut": out.row_count > TOOL_ROWS or out.truncated,
    }


def _summary(objects: list[ObjectInfo]) -> str:
    lines = []
    for obj in objects:
        columns = ", ".join(c.name for c in obj.columns)
        lines.append(f"{obj.qualified_name} ({obj.kind.replace('_', ' ')}): {columns}")
    return "\n".join(lines)


def build_mcp(context: AppContext) -> SextantMCP:
    server = SextantMCP(context)

    @server.tool(description="The user's databases: id, name, kind (postgres or mongo), whether indexed.")
    async def list_connections(ctx: Context) -> list[dict[str, Any]]:
        principal, _ = _caller(ctx)
        connections = await context.connections.list(principal.user.id)
        return [
            {"id": str(c.id), "name": c.name, "kind": c.kind, "indexed": c.indexed_at is not None,
             "objects": c.object_count}
            for c in connections
        ]  # fmt: skip

    @server.tool(description="The tables or collections that matter to a question, each with its description.")
    async def search_schema(connection_id: str, question: str, ctx: Context, k: int = 5) -> list[dict[str, Any]]:
        principal, _ = _caller(ctx)
        body = _valid(SearchIn, query=question, k=max(1, k))
        found = await _call(context.search.search(principal.user.id, _uuid(connection_id), body.query, body.k))
        return [{"object": r.object, "kind": r.kind, "score": r.score, "text": r.text} for r in found.results]

    @server.tool(description="One table, view or collection: its columns, keys, references and sample values.")
    async def describe_object(connection_id: str, object_name: str, ctx: Context) -> str:
        principal, _ = _caller(ctx)
        schema = await _call(context.connections.schema(principal.user.id, _uuid(connection_id)))
        by_name = {o.qualified_name: o for o in schema.objects}
        obj = by_name.get(object_name) or next((o for o in schema.objects if o.name == object_name), None)
        if obj is None:
            raise ToolError(f"No table or collection named {object_name!r} in this connection")
        dialect = ENGINES[schema.kind].dialect()
        return dialect.describe(obj, 3)

    @server.tool(
        description="Run one read-only query you wrote (PostgreSQL SELECT, or a MongoDB JSON "
        '{"collection": ..., "pipeline": [...]}). Refused queries are errors that say why.'
    )
    async def run_query(connection_id: str, query: str, ctx: Context) -> dict[str, Any]:
        _, actor = _caller(ctx, "ask")
        body = QueryRunIn(connection_id=_uuid(connection_id), query=query)
        out: QueryOut = await _call(context.query_run.run(actor, body))
        if not out.executed:
            raise ToolError(f"{out.answer} {out.error or ''}".strip())
        return _rows(out)

    @server.tool(
        description="Answer a question about a database: the answer, the query Sextant wrote and ran read-only, "
        "its rows, and the tables it used."
    )
    async def ask(connection_id: str, question: str, ctx: Context) -> dict[str, Any]:
        _, actor = _caller(ctx, "ask")
        out: QueryOut = await _call(
            context.ask.ask(actor, QueryIn(connection_id=_uuid(connection_id), question=question))
        )
        return {
            "answer": out.answer,
            **_rows(out),
            "sources": [s.object for s in out.sources if s.used] or [s.object for s in out.sources],
            "error": out.error,
        }

    @server.resource(
        "sextant://connections/{connection_id}/schema",
        name="connection schema",
        description="A connection's tables or collections with their columns, one per line",
        mime_type="text/plain",
    )
    async def connection_schema(connection_id: str, ctx: Context) -> str:
        principal = _principal_of(ctx.request_context.request)
        try:
            schema = await context.connections.schema(principal.user.id, uuid.UUID(connection_id))
        except (AppError, ValueError):
            raise ResourceNotFoundError("Connection not found") from None
        return _summary(schema.objects)

    return server


class McpEndpoint:
    """The ASGI endpoint at ``/mcp``: the API token first, then the SDK's transport."""

    def __init__(self, context: AppContext):
        self._context = context
        self.server = build_mcp(context)
        self._manager = StreamableHTTPSessionManager(
            app=self.server._lowlevel_server,
            stateless=True,
            json_response=True,
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self._transport = StreamableHTTPASGIApp(self._manager)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self._manager.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not is_api_token(credential.strip()):
            await _refuse(scope, receive, send, 401, "MCP needs a personal API token: Authorization: Bearer sxt_...")
            return
        client = request.client.host if request.client else "unknown"
        try:
            principal = await self._context.api_tokens.authenticate(credential.strip(), "read", client, "/mcp")
        except AppError as exc:
            await _refuse(scope, receive, send, exc.status_code, exc.detail)
            return
        if request.method == "GET":
            # A stateless server has nothing to push: the SDK would hold this stream open forever
            # (a connection per GET, for any token). The spec's answer is 405 (POST only).
            await JSONResponse(
                {"detail": "This MCP server is stateless: POST only"}, status_code=405, headers={"Allow": "POST"}
            )(scope, receive, send)
            return
        scope.setdefault("state", {})[PRINCIPAL] = principal
        await self._transport(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    headers = {"WWW-Authenticate": 'Bearer realm="sextant"'} if status == 401 else None
    await JSONResponse({"detail": detail}, status_code=status, headers=headers)(scope, receive, send)


class McpRoute:
    """``/mcp`` in the app's routes from the start; the endpoint itself is built with the
    context, in the lifespan (``app.state.mcp``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint: McpEndpoint | None = getattr(scope["app"].state, "mcp", None)
        if endpoint is None:
            await _refuse(scope, receive, send, 503, "Sextant is starting")
            return
        await endpoint(scope, receive, send)
