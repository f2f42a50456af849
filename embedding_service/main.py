"""The embedding service: ``POST /embed`` and ``GET /health`` around one local model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from embedding_service.config import EmbeddingServiceSettings
from embedding_service.embedder import Embedder


class EmbedRequest(BaseModel):
    texts: list[str]


class EmbedResponse(BaseModel):
    model: str
    dimension: int
    embeddings: list[list[float]]


class HealthResponse(BaseModel):
    status: str
    model: str
    dimension: int
    precision: str = Field(description="float32 or bfloat16: what the model computes in on this machine")
    max_batch: int = Field(description="Texts per request, at most")
    max_text_chars: int


class LimitError(Exception):
    def __init__(self, detail: str, status_code: int):
        self.detail = detail
        self.status_code = status_code


def get_embedder(request: Request) -> Embedder:
    embedder: Embedder = request.app.state.embedder
    return embedder


def get_settings(request: Request) -> EmbeddingServiceSettings:
    settings: EmbeddingServiceSettings = request.app.state.settings
    return settings


EmbedderDep = Annotated[Embedder, Depends(get_embedder)]
SettingsDep = Annotated[EmbeddingServiceSettings, Depends(get_settings)]


def create_app(settings: EmbeddingServiceSettings | None = None, embedder: Embedder | None = None) -> FastAPI:
    """Build the service; ``embedder`` lets tests share one loaded model between apps."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or EmbeddingServiceSettings.from_environment()
        app.state.embedder = embedder or await run_in_threadpool(Embedder.from_settings, app.state.settings)
        yield

    app = FastAPI(title="Sextant embedding service", lifespan=lifespan)

    @app.exception_handler(LimitError)
    async def _limit(_: Request, exc: LimitError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": 'body must be {"texts": [string, ...]}'}, status_code=422)

    @app.get("/health", response_model=HealthResponse)
    async def health(model: EmbedderDep, cfg: SettingsDep) -> HealthResponse:
        return HealthResponse(
            status="ok",
            model=model.name,
            dimension=model.dimension,
            precision=model.precision,
            max_batch=cfg.embedding_max_batch,
            max_text_chars=cfg.embedding_max_text_chars,
        )

    @app.post("/embed", response_model=EmbedResponse)
    async def embed(body: EmbedRequest, model: EmbedderDep, cfg: SettingsDep) -> EmbedResponse:
        if len(body.texts) > cfg.embedding_max_batch:
            raise LimitError(f"at most {cfg.embedding_max_batch} texts per request", 413)
        for i, text in enumerate(body.texts):
            if len(text) > cfg.embedding_max_text_chars:
                raise LimitError(f"text {i} is longer than {cfg.embedding_max_text_chars} characters", 413)
        vectors = await run_in_threadpool(model.embed, body.texts)
        return EmbedResponse(model=model.name, dimension=model.dimension, embeddings=vectors)

    return app
