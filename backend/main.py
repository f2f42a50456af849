"""The backend application factory: ``create_app(settings)``; run with ``uvicorn --factory``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.middleware.base import RequestResponseEndpoint
from starlette.routing import Route

from backend.api.mcp import McpEndpoint, McpRoute
from backend.api.route_template import route_template
from backend.api.routes import (
    admin,
    auth,
    connections,
    evaluations,
    examples,
    health,
    history,
    notes,
    query,
    tokens,
)
from backend.api.routes import settings as settings_routes
from backend.components.embedding_client import EmbeddingClient
from backend.config import Settings, resolve_store_password
from backend.context import build_context
from backend.db.store import EmbeddedStore, create_engine, migrate
from backend.edge import install_edge, load_security_headers
from backend.errors import install_error_handlers
from backend.frontend import mount_frontend

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, embedder: EmbeddingClient | None = None) -> FastAPI:
    """Build the API (and the web app when it is built). Nothing connects until the lifespan starts.

    Without ``settings`` (``uvicorn --factory``), they are read from the environment and ``.env``
    (``Settings.from_environment()``); given settings are used as they are.
    """
    cfg = settings or Settings.from_environment()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logging.basicConfig(level=cfg.log_level)
        # The HTTP clients under the LLM and embedding clients log every request's URL at INFO,
        # with any user:password@ written in LLM_BASE_URL or OLLAMA_URL: from WARNING only.
        for name in ("httpx", "httpx2"):
            logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
        embedded: EmbeddedStore | None = None
        if cfg.database.database_url is not None:
            url = cfg.database.database_url.get_secret_value()
        else:
            embedded = EmbeddedStore(cfg.data_dir, resolve_store_password(cfg.data_dir))
            url = await asyncio.to_thread(embedded.start)
            logger.info("using the embedded store under %s", embedded.pgdata)
        try:
            if cfg.database.migrate_on_start:
                await asyncio.to_thread(migrate, url)
            context = build_context(cfg, create_engine(url, cfg.database.pool_size), embedder)
            await context.embedder.health()
            await context.runner.start()
            await context.evaluation_runner.start()
            app.state.context = context
            mcp = McpEndpoint(context)
            try:
                async with mcp.running():
                    app.state.mcp = mcp
                    yield
            finally:
                app.state.mcp = None
                await context.aclose()
        finally:
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)

    # No /docs or /redoc: those pages load Swagger UI and ReDoc from a CDN, which the CSP
    # blocks and an appliance that never talks to a cloud must not reach. /openapi.json stays.
    app = FastAPI(title="Sextant", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_error_handlers(app)

    @app.middleware("http")
    async def measure(request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        context = getattr(request.app.state, "context", None)
        if context is not None:
            context.metrics.observe_response(request.method, route_template(request), response, started)
        return response

    # Outside the middleware above, so every response, errors included, gets the headers.
    install_edge(app, cfg.proxy, load_security_headers())

    if cfg.security.metrics_enabled:

        @app.get("/metrics", include_in_schema=False)
        async def metrics(request: Request) -> Response:
            context = request.app.state.context
            await context.metrics.probe("embedding", context.embedder.health)
            await context.metrics.read_queue(context.runner.queue_state)
            body = context.metrics.render()
            return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    api = APIRouter(prefix="/api")
    api.include_router(auth.router)
    api.include_router(connections.router)
    api.include_router(evaluations.router)
    api.include_router(examples.router)
    api.include_router(notes.router)
    api.include_router(query.router)
    api.include_router(history.router)
    api.include_router(settings_routes.router)
    api.include_router(admin.router)
    api.include_router(tokens.router)
    app.include_router(api)
    app.include_router(health.router)
    # Streamable HTTP, stateless: POST (GET is 405, DELETE answered by the SDK), authenticated by API tokens.
    app.router.routes.append(Route("/mcp", endpoint=McpRoute(), include_in_schema=False))
    if (cfg.frontend_dir / "index.html").is_file():
        mount_frontend(app, cfg.frontend_dir)
    return app
