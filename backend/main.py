"""The backend application factory: ``create_app(settings)``; run with ``uvicorn --factory``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.middleware.base import RequestResponseEndpoint

from backend.api.routes import admin, auth, connections, health, history, notes, query
from backend.api.routes import settings as settings_routes
from backend.components.embedding_client import EmbeddingClient
from backend.config import Settings, resolve_store_password
from backend.context import build_context
from backend.db.store import EmbeddedStore, create_engine, migrate
from backend.edge import install_edge, load_security_headers
from backend.errors import install_error_handlers
from backend.frontend import mount_frontend

logger = logging.getLogger(__name__)


def route_template(request: Request) -> str:
    """``/api/connections/{connection_id}``, not the path itself: ids must not explode the label set."""
    if request.scope.get("route") is None:
        return "unmatched"
    path = request.url.path
    for name, value in request.path_params.items():
        path = path.replace(str(value), "{" + name + "}", 1)
    return path


def create_app(settings: Settings | None = None, embedder: EmbeddingClient | None = None) -> FastAPI:
    """Build the API (and the web app when it is built). Nothing connects until the lifespan starts.

    Without ``settings`` (``uvicorn --factory``), they are read from the environment and ``.env``
    (``Settings.from_environment()``); given settings are used as they are.
    """
    cfg = settings or Settings.from_environment()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logging.basicConfig(level=cfg.log_level)
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
            app.state.context = context
            try:
                yield
            finally:
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
            route = route_template(request)
            context.metrics.requests.labels(request.method, route, str(response.status_code)).inc()
            context.metrics.request_seconds.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    # Outside the middleware above, so every response, errors included, gets the headers.
    install_edge(app, cfg.proxy, load_security_headers())

    if cfg.security.metrics_enabled:

        @app.get("/metrics", include_in_schema=False)
        async def metrics(request: Request) -> Response:
            body = request.app.state.context.metrics.render()
            return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    api = APIRouter(prefix="/api")
    api.include_router(auth.router)
    api.include_router(connections.router)
    api.include_router(notes.router)
    api.include_router(query.router)
    api.include_router(history.router)
    api.include_router(settings_routes.router)
    api.include_router(admin.router)
    app.include_router(api)
    app.include_router(health.router)
    if (cfg.frontend_dir / "index.html").is_file():
        mount_frontend(app, cfg.frontend_dir)
    return app
