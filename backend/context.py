"""Long-lived clients of one backend process, built in ``lifespan`` and reached through ``deps``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from backend.components.embedding_client import EmbeddingClient, HttpEmbeddingClient
from backend.components.security import TokenIssuer
from backend.components.url_cipher import UrlCipher
from backend.components.vector_store import PgVectorStore
from backend.config import Settings, resolve_secrets
from backend.services.auth_service import AuthService
from backend.services.connection_service import ConnectionService
from backend.services.indexing_service import IndexingService, introspect_options
from backend.services.job_runner import JobRunner
from backend.services.search_service import SearchService


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    embedder: EmbeddingClient
    runner: JobRunner
    auth: AuthService
    connections: ConnectionService
    indexing: IndexingService
    search: SearchService

    async def aclose(self) -> None:
        await self.runner.stop()
        await self.embedder.aclose()
        await self.engine.dispose()


def build_context(settings: Settings, engine: AsyncEngine, embedder: EmbeddingClient | None = None) -> AppContext:
    """Wire services to components; ``embedder`` may be replaced by tests that need a failing one."""
    secrets = resolve_secrets(settings)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    cipher = UrlCipher(secrets.encryption_key.get_secret_value())
    emb = settings.embedding
    embedding_client = embedder or HttpEmbeddingClient(
        emb.embedding_url, emb.embedding_batch_size, emb.embedding_timeout_s, emb.embedding_dimension
    )
    store = PgVectorStore(engine)
    tokens = TokenIssuer(
        secrets.jwt_secret.get_secret_value(),
        settings.auth.jwt_algorithm,
        timedelta(minutes=settings.auth.token_ttl_minutes),
    )
    indexing = IndexingService(engine, sessions, cipher, embedding_client, store, settings.indexing)
    runner = JobRunner(indexing, settings.indexing.job_sweep_interval_s)
    connections = ConnectionService(sessions, cipher, introspect_options(settings.indexing), indexing, runner)
    return AppContext(
        settings=settings,
        engine=engine,
        embedder=embedding_client,
        runner=runner,
        auth=AuthService(sessions, tokens, settings.auth),
        connections=connections,
        indexing=indexing,
        search=SearchService(connections, embedding_client, store, settings.search),
    )
