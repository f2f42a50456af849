"""``python -m backend.worker``: a process that only runs indexing jobs from the store's queue.

Beside backends with ``WORKER_ENABLED=false`` (they queue jobs and answer questions) it takes
indexing off the machines that serve users. It reads the backend's settings (environment and
``.env``), needs the shared store (``DATABASE_URL``) and the backends' ``ENCRYPTION_KEY`` (or
their ``secrets.json`` in ``SEXTANT_DATA_DIR``) to read connection URLs, and reaches the
embedding service at ``EMBEDDING_URL``. On SIGTERM or SIGINT it gives its jobs back to the queue.

Liveness: while its claims reach the queue, it touches ``ALIVE_FILE`` every few seconds; the
container's healthcheck fails when the file is older than a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from backend.components.connection_policy import build_policy
from backend.components.metrics import Metrics
from backend.components.url_cipher import KeyMismatchError, UrlCipher
from backend.components.url_redaction import hide_password, redact_url
from backend.components.vector_store import PgVectorStore
from backend.config import Settings, resolve_secrets
from backend.context import build_embedding_client, build_indexing
from backend.db.store import create_engine

logger = logging.getLogger("backend.worker")
NEWEST_URL_SQL = "SELECT url_encrypted FROM connections ORDER BY created_at DESC LIMIT 1"
ALIVE_FILE = Path(tempfile.gettempdir()) / "sextant-worker-alive"
ALIVE_EVERY_S = 5.0


class WorkerConfigError(SystemExit):
    """The settings cannot make a worker; the message says which one to set."""


def check(settings: Settings) -> str:
    """The store's URL, or ``WorkerConfigError`` naming what is missing."""
    if settings.database.database_url is None:
        raise WorkerConfigError(
            "DATABASE_URL is not set: a worker runs the jobs of a shared store; the embedded store"
            " belongs to the one backend that starts it (`make run` indexes in that backend)"
        )
    if not settings.indexing.worker_enabled:
        raise WorkerConfigError("WORKER_ENABLED is false: this process would do nothing")
    if settings.crypto.encryption_key is None and not (settings.data_dir / "secrets.json").exists():
        raise WorkerConfigError(
            "ENCRYPTION_KEY is not set and SEXTANT_DATA_DIR has no secrets.json: set the backends' key,"
            " or the worker cannot read any connection URL"
        )
    return settings.database.database_url.get_secret_value()


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run the worker and the sweep until ``stop`` is set, then give back what still runs."""
    url = check(settings)
    engine = create_engine(url, settings.database.pool_size)
    metrics = Metrics()
    embedder = build_embedding_client(settings.embedding, metrics)
    # Only read from secrets.json when not given: resolving would write a new JWT secret there.
    key = settings.crypto.encryption_key or resolve_secrets(settings).encryption_key
    cipher = UrlCipher(key.get_secret_value())
    policy = build_policy(settings, engine.url.render_as_string(hide_password=True))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    indexing = build_indexing(settings, engine, sessions, cipher, embedder, PgVectorStore(engine), policy, metrics)
    runner, worker = indexing.runner, indexing.worker
    alive: asyncio.Task[None] | None = None
    try:
        await preflight(engine, url, cipher)
        if not await embedder.health():
            logger.warning(
                "the embedding service at %s does not answer (EMBEDDING_URL); jobs will be retried until it does",
                redact_url(settings.embedding.embedding_url),
            )
        await runner.start()
        assert worker is not None  # check() refused WORKER_ENABLED=false
        logger.info("worker %s is running", worker.name)
        stale_after = max(30.0, 3 * settings.indexing.job_poll_interval_s)
        alive = asyncio.create_task(_touch_while_polling(lambda: time.monotonic() - worker.last_poll_ok < stale_after))
        await stop.wait()
    finally:
        if alive is not None:
            alive.cancel()
            await asyncio.gather(alive, return_exceptions=True)
        await runner.stop()
        await embedder.aclose()
        await engine.dispose()


async def preflight(engine: AsyncEngine, url: str, cipher: UrlCipher) -> None:
    """``WorkerConfigError`` unless the store answers and this key opens its newest connection:
    a worker with another key than the backends' would take jobs only to fail them."""
    try:
        async with engine.connect() as conn:
            token = (await conn.execute(text(NEWEST_URL_SQL))).scalar()
    except Exception as exc:  # the driver's text, the password scrubbed: the reason to show
        reason = hide_password(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, url)
        raise WorkerConfigError(f"the store at DATABASE_URL does not answer: {reason}") from None
    if token is None:
        return
    try:
        cipher.decrypt(token)
    except KeyMismatchError:
        raise WorkerConfigError(
            "ENCRYPTION_KEY does not decrypt the connections in this store: set the backends' key"
            " (without ENCRYPTION_KEY the worker reads SEXTANT_DATA_DIR/secrets.json, this machine's own)"
        ) from None


async def _touch_while_polling(polling: Callable[[], bool]) -> None:
    while True:
        if polling():
            with contextlib.suppress(OSError):
                ALIVE_FILE.touch()
        await asyncio.sleep(ALIVE_EVERY_S)


async def main(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)


if __name__ == "__main__":
    configured = Settings.from_environment()
    logging.basicConfig(level=configured.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main(configured))
