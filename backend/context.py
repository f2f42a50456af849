"""Long-lived clients of one backend process, built in ``lifespan`` and reached through ``deps``."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from secrets import token_hex

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.components.answer_cache import AnswerCache, build_answer_cache
from backend.components.connection_policy import ConnectionPolicy, build_policy
from backend.components.embedding_client import EmbeddingClient, HttpEmbeddingClient
from backend.components.index_cache import IndexCache
from backend.components.llm_client import LLMClient, OllamaLLMClient
from backend.components.metrics import Metrics
from backend.components.openai_llm_client import OpenAILLMClient
from backend.components.security import PasswordHasher, TokenIssuer
from backend.components.url_cipher import UrlCipher
from backend.components.vector_store import PgVectorStore
from backend.config import EmbeddingSettings, IndexingSettings, LLMSettings, Settings, resolve_secrets
from backend.engines.base import QueryDialect
from backend.engines.registry import ENGINES
from backend.services.admin_service import AdminService
from backend.services.api_token_service import ApiTokenService
from backend.services.ask_service import AskService
from backend.services.audit_service import AuditService
from backend.services.auth_service import AuthService
from backend.services.connection_service import ConnectionService
from backend.services.evaluation_runner import EvaluationRunner
from backend.services.evaluation_scoring import Scorer
from backend.services.evaluation_service import EvaluationService
from backend.services.example_retrieval import ExampleRetriever
from backend.services.example_service import ExampleService
from backend.services.export_service import ExportService
from backend.services.feedback_service import FeedbackService
from backend.services.history_service import HistoryService
from backend.services.index_inputs import introspect_options
from backend.services.index_worker import IndexWorker
from backend.services.indexing_service import IndexingService
from backend.services.job_queue import JobQueue
from backend.services.job_runner import JobRunner
from backend.services.model_service import ModelService
from backend.services.note_service import NoteService
from backend.services.query_run_service import QueryRunService
from backend.services.rate_limit_service import RateLimitService
from backend.services.search_service import SearchService
from backend.services.suggestion_service import SuggestionService
from backend.services.user_settings_service import UserSettingsService

logger = logging.getLogger(__name__)


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    embedder: EmbeddingClient
    llm: LLMClient
    runner: JobRunner
    auth: AuthService
    api_tokens: ApiTokenService
    connections: ConnectionService
    notes: NoteService
    indexing: IndexingService
    search: SearchService
    ask: AskService
    query_run: QueryRunService
    history: HistoryService
    feedback: FeedbackService
    examples: ExampleService
    suggestions: SuggestionService
    export: ExportService
    user_settings: UserSettingsService
    models: ModelService
    audit: AuditService
    admin: AdminService
    rate_limits: RateLimitService
    hasher: PasswordHasher
    metrics: Metrics
    evaluations: EvaluationService
    evaluation_runner: EvaluationRunner
    cache: AnswerCache

    async def aclose(self) -> None:
        await self.evaluation_runner.stop()
        await self.runner.stop()
        await self.embedder.aclose()
        await self.llm.aclose()
        await self.cache.aclose()
        await self.engine.dispose()
        self.hasher.close()


def build_llm_client(cfg: LLMSettings, metrics: Metrics | None) -> LLMClient:
    """The provider the settings name: Ollama's API, or an OpenAI-compatible server."""
    if cfg.llm_provider == "openai":
        key = cfg.llm_api_key.get_secret_value() if cfg.llm_api_key else None
        return OpenAILLMClient(
            cfg.llm_base_url or "",
            key,
            cfg.llm_timeout_s,
            cfg.llm_connect_timeout_s,
            cfg.llm_temperature,
            cfg.llm_json_mode,
            metrics,
        )
    return OllamaLLMClient(cfg.ollama_url, cfg.llm_timeout_s, cfg.llm_connect_timeout_s, cfg.llm_temperature, metrics)


def build_embedding_client(cfg: EmbeddingSettings, metrics: Metrics) -> HttpEmbeddingClient:
    return HttpEmbeddingClient(
        cfg.embedding_url, cfg.embedding_batch_size, cfg.embedding_timeout_s, cfg.embedding_dimension, metrics
    )


@dataclass
class Indexing:
    """Indexing as one process runs it: the service, the runner of the store's queue, and this
    process's worker (None with ``WORKER_ENABLED`` off)."""

    service: IndexingService
    runner: JobRunner
    worker: IndexWorker | None


def build_indexing(
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    cipher: UrlCipher,
    embedder: EmbeddingClient,
    store: PgVectorStore,
    policy: ConnectionPolicy,
    metrics: Metrics,
) -> Indexing:
    """The same wiring in a backend and in ``python -m backend.worker``."""
    queue = JobQueue(sessions, settings.indexing)
    service = IndexingService(engine, sessions, cipher, embedder, store, settings.indexing, policy, queue, metrics)
    worker = _build_worker(settings.indexing, queue, service)
    return Indexing(service, JobRunner(queue, worker, settings.indexing.job_sweep_interval_s), worker)


def _build_worker(cfg: IndexingSettings, queue: JobQueue, indexing: IndexingService) -> IndexWorker | None:
    """This process's worker of the indexing queue, or None with ``WORKER_ENABLED`` off."""
    if not cfg.worker_enabled:
        logger.info("WORKER_ENABLED is false: this backend queues indexing jobs for other workers")
        return None
    # Unnamed workers get a name no later process has, so only a named one recovers its jobs at start.
    name = cfg.worker_name or f"{socket.gethostname()}:{os.getpid()}:{token_hex(3)}"
    return IndexWorker(
        queue, indexing, name, cfg.worker_concurrency, cfg.job_poll_interval_s, float(cfg.job_stale_after_s)
    )


def build_context(
    settings: Settings,
    engine: AsyncEngine,
    embedder: EmbeddingClient | None = None,
) -> AppContext:
    """Wire services to components. Components are the real adapters unless given."""
    secrets = resolve_secrets(settings)
    metrics = Metrics()
    metrics.watch_store(engine.sync_engine.pool, settings.data_dir)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    cipher = UrlCipher(secrets.encryption_key.get_secret_value())
    emb = settings.embedding
    embedding_client = embedder or build_embedding_client(emb, metrics)
    store = PgVectorStore(engine)
    tokens = TokenIssuer(
        secrets.jwt_secret.get_secret_value(),
        settings.auth.jwt_algorithm,
        timedelta(minutes=settings.auth.token_ttl_minutes),
    )
    audit = AuditService(sessions)
    rate_limits = RateLimitService(sessions, max(1, settings.database.pool_size // 2))
    hasher = PasswordHasher(settings.security.password_hash_workers or os.cpu_count() or 1)
    # Where user connections may not go: the store (this engine's server), metadata, our own services.
    policy = build_policy(settings, engine.url.render_as_string(hide_password=True))
    indexing_parts = build_indexing(settings, engine, sessions, cipher, embedding_client, store, policy, metrics)
    indexing, runner = indexing_parts.service, indexing_parts.runner
    connections = ConnectionService(
        sessions,
        cipher,
        introspect_options(settings.indexing),
        runner,
        audit,
        policy,
        rate_limits,
        settings.connections,
        IndexCache(),
    )
    cache = build_answer_cache(settings.cache, metrics)  # NoCache without REDIS_URL
    search = SearchService(
        connections, embedding_client, store, settings.search, cache=cache, embedding_model=emb.embedding_model_name
    )
    llm = build_llm_client(settings.llm, metrics)
    history = HistoryService(sessions, settings.query.history_preview_rows, settings.query.history_preview_bytes)
    user_settings = UserSettingsService(sessions, settings.llm, settings.query)
    dialects: dict[str, QueryDialect] = {kind: engine.dialect() for kind, engine in ENGINES.items()}
    examples_retriever = ExampleRetriever(engine)
    ask = AskService(
        connections,
        search,
        llm,
        dialects,
        history,
        user_settings,
        settings.query,
        audit,
        rate_limits,
        settings.security,
        metrics,
        examples_retriever,
        cache,
    )
    notes = NoteService(sessions, connections, indexing, store, audit)
    export = ExportService(connections, history, dialects, settings.query, audit)
    query_run = QueryRunService(
        connections, dialects, history, user_settings, settings.query, audit, rate_limits, settings.security, metrics
    )
    evaluation_runner = EvaluationRunner(
        sessions,
        ask,
        Scorer(query_run, dialects, settings.query),
        settings.indexing.job_stale_after_s,
        settings.indexing.job_sweep_interval_s,
    )
    evaluations = EvaluationService(sessions, connections, user_settings, llm, dialects, evaluation_runner)
    examples = ExampleService(sessions, connections, query_run, history, embedding_client, audit)
    suggestions = SuggestionService(connections, examples, llm, user_settings)
    return AppContext(
        settings=settings,
        engine=engine,
        embedder=embedding_client,
        llm=llm,
        runner=runner,
        api_tokens=ApiTokenService(sessions, audit),
        auth=AuthService(sessions, tokens, settings.auth, settings.security, rate_limits, audit, hasher),
        connections=connections,
        notes=notes,
        indexing=indexing,
        search=search,
        ask=ask,
        query_run=query_run,
        history=history,
        feedback=FeedbackService(sessions, audit),
        examples=examples,
        suggestions=suggestions,
        export=export,
        user_settings=user_settings,
        models=ModelService(llm, settings.llm.default_model),
        audit=audit,
        admin=AdminService(sessions, settings.auth, audit),
        rate_limits=rate_limits,
        hasher=hasher,
        metrics=metrics,
        evaluations=evaluations,
        evaluation_runner=evaluation_runner,
        cache=cache,
    )
