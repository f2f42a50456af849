"""Indexing jobs: hash the catalog -> introspect -> chunk -> embed what changed -> swap the index
in one transaction. A ``check`` job stops after the hash when it equals the indexed one.

A run holds a lease from the queue (``JobQueue``); every write to its job is fenced by it, and
the swap commits only while the lease holds, so a run cut off by a reaper changes nothing."""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from backend.components.chunker import chunk_object, chunk_snapshot
from backend.components.connection_policy import ConnectionPolicy
from backend.components.connection_targets import describe_failure
from backend.components.embedding_client import EmbeddingClient
from backend.components.errors import ComponentError, UnavailableError
from backend.components.metrics import Metrics
from backend.components.pii import tag_and_mask
from backend.components.schema_notes import NoteTarget, apply_notes, notes_stamp
from backend.components.url_cipher import KeyMismatchError, UrlCipher
from backend.components.url_redaction import hide_password
from backend.components.vector_store import StoredChunk, VectorStore
from backend.config import IndexingSettings
from backend.db.models import Connection, IndexJob
from backend.engines.base import ConnectorError, ProgressCallback
from backend.engines.registry import engine_for
from backend.errors import AppError
from backend.schemas.schema_snapshot import ObjectInfo, SchemaSnapshot
from backend.services.index_inputs import JobTarget, index_hash, introspect_options
from backend.services.job_queue import JobQueue, Lease, LeaseLost
from backend.services.note_reader import load_notes

logger = logging.getLogger(__name__)

WRONG_KEY = (
    "The worker that ran this job cannot decrypt the connection's URL: its ENCRYPTION_KEY differs"
    " from the one the connection was saved with"
)
# Texts per embedding call during indexing; also how often progress moves.
EMBED_BATCH = 64
# Errors of the store itself (only the store is reached through SQLAlchemy; the user's database
# errors arrive as ``ConnectorError`` or ``_Crash``): a passing outage, retried like one.
STORE_FAULTS = (OperationalError, InterfaceError, PoolTimeoutError)


class _Crash(Exception):
    """An unexpected error while the job held the connection URL; ``text`` is its traceback, password hidden."""

    def __init__(self, kind: str, text: str):
        super().__init__(kind)
        self.kind = kind
        self.text = text


class IndexingService:
    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        cipher: UrlCipher,
        embedder: EmbeddingClient,
        store: VectorStore,
        settings: IndexingSettings,
        policy: ConnectionPolicy,
        queue: JobQueue,
        metrics: Metrics | None = None,
    ):
        self._queue = queue
        self._metrics = metrics
        self._policy = policy
        self._engine = engine
        self._sessions = sessions
        self._cipher = cipher
        self._embedder = embedder
        self._store = store
        self._settings = settings

    async def run(self, lease: Lease) -> None:
        """Run one leased job to an end: ``succeeded``, ``failed``, or queued again when a service
        it needs is unavailable and attempts remain. Never raises for a job-level failure; a
        cancelled run (lost lease, shutdown) leaves the job to whoever cancelled it."""
        started = time.monotonic()
        outcome = "interrupted"
        try:
            counts = await self._index(lease)
            outcome = "succeeded"
        except LeaseLost:
            logger.warning("indexing job %s: the lease was taken back; this run's work is dropped", lease.job_id)
        except UnavailableError as exc:  # the embedding service may come back: retried after a backoff
            outcome = await self._retry(lease, str(exc))
        except KeyMismatchError:  # this worker's fault, not the job's: another worker may hold the key
            logger.error("indexing job %s: %s", lease.job_id, WRONG_KEY)
            outcome = await self._retry(lease, WRONG_KEY)
        except STORE_FAULTS as exc:  # the store dropped a connection (a failover, a restart): it comes back
            # The type only: the driver's text quotes the statement and its rows.
            logger.warning("indexing job %s lost the store (%s); queued again", lease.job_id, type(exc).__name__)
            outcome = await self._retry(lease, f"The store was unreachable ({type(exc).__name__})")
        except (ConnectorError, ComponentError, AppError) as exc:
            outcome = await self._fail(lease, str(exc))
        except _Crash as exc:
            logger.error("indexing job %s crashed:\n%s", lease.job_id, exc.text)
            outcome = await self._fail(lease, f"Internal error: {exc.kind}")
        except Exception as exc:  # a job must end in a state, whatever broke
            logger.exception("indexing job %s crashed", lease.job_id)
            outcome = await self._fail(lease, f"Internal error: {type(exc).__name__}")
        else:
            logger.info("indexing job %s succeeded: %s", lease.job_id, counts)
        finally:
            if self._metrics:
                self._metrics.index_jobs.labels(outcome).inc()
                self._metrics.index_job_seconds.observe(time.monotonic() - started)

    async def _retry(self, lease: Lease, reason: str) -> str:
        """The run's outcome for the metrics: queued again, failed for good, or (the lease
        already gone, the job another worker's now) interrupted."""
        status = await self._queue.retry_or_fail(lease, reason)
        return {"pending": "retried", "failed": "failed"}.get(status, "interrupted")

    async def _fail(self, lease: Lease, reason: str) -> str:
        await self._queue.fail(lease, reason)
        return "failed"

    async def _load(self, job_id: uuid.UUID) -> JobTarget:
        async with self._sessions() as session:
            job = await session.get(IndexJob, job_id)
            if job is None:
                raise AppError("job vanished")
            connection = await session.get(Connection, job.connection_id)
            if connection is None:
                raise AppError("The connection was deleted")
            return JobTarget(
                connection_id=connection.id,
                kind=connection.kind,
                url_token=connection.url_encrypted,
                mask_pii=bool((connection.options or {}).get("mask_pii", True)),
                mode="check" if job.mode == "check" else "full",
                catalog_hash=connection.catalog_hash if connection.indexed_at else None,
                object_count=connection.object_count or 0,
            )

    async def _read(self, job: JobTarget, url: str, report: ProgressCallback) -> tuple[str, SchemaSnapshot | None]:
        """The catalog hash, and the snapshot unless a ``check`` found the hash unchanged."""
        try:
            # Checked again before every run: the policy or DNS may have changed since the connection was made.
            target = await self._policy.check(job.kind, url)
            connector = engine_for(job.kind).connector(target.url, introspect_options(self._settings))
            try:
                digest = index_hash(self._settings, self._embedder.model, await connector.catalog_hash(), job.mask_pii)
                if job.mode == "check" and digest == job.catalog_hash:
                    return digest, None
                return digest, await connector.introspect(report)
            except ConnectorError as exc:
                raise ConnectorError(describe_failure(target, str(exc))) from None
        except ConnectorError as exc:
            # Stored on the job and shown: the components hide the password already; this is the last seam.
            raise ConnectorError(hide_password(str(exc), url)) from None
        except (AppError, ComponentError):
            raise
        except Exception as exc:  # its text, or a frame of its traceback, may quote the URL
            raise _Crash(type(exc).__name__, hide_password("".join(traceback.format_exception(exc)), url)) from None

    async def _index(self, lease: Lease) -> dict[str, Any]:
        job = await self._load(lease.job_id)
        connection_id = job.connection_id
        last_beat = 0.0

        async def report(done: int, total: int, force: bool = False) -> None:
            nonlocal last_beat
            if force or time.monotonic() - last_beat >= 0.5:
                last_beat = time.monotonic()
                await self._queue.progress(lease, done, total)

        url = self._cipher.decrypt(job.url_token)
        clock = time.monotonic()
        if self._embedder.model == "unknown":
            # The model's name enters the index hash and every chunk hash: learn it before either.
            await self._embedder.health()
        digest, snapshot = await self._read(job, url, report)
        if snapshot is None:
            return await self._unchanged(lease, job, time.monotonic() - clock)
        # Before anything leaves this function: chunks, embeddings and the stored schema see masked samples.
        pii_columns = tag_and_mask(snapshot, mask=job.mask_pii)
        seconds = {"introspect": time.monotonic() - clock}
        objects = len(snapshot.objects)

        model = self._embedder.model
        # The owner's notes go into the chunks (read now, after the long introspection); the stored
        # snapshot stays as introspected and gets them again wherever it is read.
        async with self._sessions() as session:
            notes = await load_notes(session, connection_id)
        drafts = chunk_snapshot(
            apply_notes(snapshot, notes),
            self._settings.index_max_columns_per_chunk,
            engine_for(snapshot.kind).spelling,
        )
        known = await self._store.embeddings_by_hash(connection_id)
        hashes = [d.content_hash(model) for d in drafts]
        missing = sorted({h: d for h, d in zip(hashes, drafts, strict=True) if h not in known}.items())
        total = objects + len(missing)
        await report(objects, total, force=True)
        clock = time.monotonic()
        for start in range(0, len(missing), EMBED_BATCH):
            part = missing[start : start + EMBED_BATCH]
            vectors = await self._embedder.embed([d.embed_text for _, d in part])
            for (h, _), vec in zip(part, vectors, strict=True):
                known[h] = vec
            await report(objects + start + len(part), total)
        seconds["embed"] = time.monotonic() - clock
        chunks = [
            StoredChunk(d.object_name, d.object_kind, d.part, d.text, h, known[h])
            for d, h in zip(drafts, hashes, strict=True)
        ]
        kinds: dict[str, int] = {}
        for obj in snapshot.objects:
            kinds[obj.kind] = kinds.get(obj.kind, 0) + 1
        changed = None if job.catalog_hash is None else digest != job.catalog_hash
        counts: dict[str, Any] = {
            "objects": objects,
            **kinds,
            "chunks": len(chunks),
            "embedded": len(missing),
            "reused": len(chunks) - len(missing),
            "pii_columns": pii_columns,
            "catalog_changed": changed,
        }
        clock = time.monotonic()
        finished = datetime.now(UTC)
        async with self._engine.begin() as conn:
            await self._lock_connection(conn, connection_id)
            chunks = await self._with_notes_now(conn, connection_id, snapshot, notes, known, chunks)
            await self._store.replace(conn, connection_id, chunks)
            await conn.execute(
                update(Connection)
                .where(Connection.id == connection_id)
                .values(
                    schema_snapshot=snapshot.model_dump(mode="json"),
                    object_count=objects,
                    server_version=snapshot.server_version,
                    indexed_at=finished,
                    catalog_hash=digest,
                    checked_at=finished,
                    last_check=None if changed is None else ("changed" if changed else "unchanged"),
                )
            )
            seconds["store"] = time.monotonic() - clock
            counts["seconds"] = {step: round(value, 2) for step, value in seconds.items()}
            await self._succeed(conn, lease, total, counts, finished)
        # Fresh statistics so the planner sees the new rows.
        async with self._engine.connect() as conn:
            await conn.execute(text("ANALYZE chunks"))
            await conn.commit()
        return counts

    async def _with_notes_now(
        self,
        conn: AsyncConnection,
        connection_id: uuid.UUID,
        snapshot: SchemaSnapshot,
        read: list[NoteTarget],
        known: dict[str, list[float]],
        chunks: list[StoredChunk],
    ) -> list[StoredChunk]:
        """Under the connection's lock, in the swap: ``chunks`` as built, unless a note changed
        since the notes were ``read`` (its writer held this lock and re-chunked its object in the
        index this swap replaces); then chunks with the notes as they are now, embedding only
        new texts. Later note changes wait for the lock and re-chunk on top of this index."""
        latest = await load_notes(conn, connection_id)
        if notes_stamp(latest) == notes_stamp(read):
            return chunks
        model = self._embedder.model
        drafts = chunk_snapshot(
            apply_notes(snapshot, latest),
            self._settings.index_max_columns_per_chunk,
            engine_for(snapshot.kind).spelling,
        )
        hashes = [d.content_hash(model) for d in drafts]
        missing = {h: d for h, d in zip(hashes, drafts, strict=True) if h not in known}
        if missing:
            vectors = await self._embedder.embed([d.embed_text for d in missing.values()])
            known.update(zip(missing, vectors, strict=True))
        return [
            StoredChunk(d.object_name, d.object_kind, d.part, d.text, h, known[h])
            for d, h in zip(drafts, hashes, strict=True)
        ]

    async def object_chunks(self, connection_id: uuid.UUID, kind: str, obj: ObjectInfo) -> list[StoredChunk]:
        """The chunks of one object (its notes on), embedded: what a changed note swaps in for the
        object's old chunks. Embeddings of unchanged text are reused."""
        if self._embedder.model == "unknown":
            await self._embedder.health()
        model = self._embedder.model
        drafts = chunk_object(obj, self._settings.index_max_columns_per_chunk, engine_for(kind).spelling)
        known = await self._store.embeddings_by_hash(connection_id)
        hashes = [d.content_hash(model) for d in drafts]
        missing = [d for d, h in zip(drafts, hashes, strict=True) if h not in known]
        if missing:
            vectors = await self._embedder.embed([d.embed_text for d in missing])
            for draft, vector in zip(missing, vectors, strict=True):
                known[draft.content_hash(model)] = vector
        return [
            StoredChunk(d.object_name, d.object_kind, d.part, d.text, h, known[h])
            for d, h in zip(drafts, hashes, strict=True)
        ]

    async def _unchanged(self, lease: Lease, job: JobTarget, elapsed: float) -> dict[str, Any]:
        """A ``check`` that found the indexed catalog: the index stays, the connection says when it was checked."""
        counts: dict[str, Any] = {
            "objects": job.object_count,
            "catalog_changed": False,
            "seconds": {"check": round(elapsed, 2)},
        }
        finished = datetime.now(UTC)
        async with self._engine.begin() as conn:
            await self._lock_connection(conn, job.connection_id)
            await conn.execute(
                update(Connection)
                .where(Connection.id == job.connection_id)
                .values(checked_at=finished, last_check="unchanged")
            )
            await self._succeed(conn, lease, job.object_count, counts, finished)
        return counts

    @staticmethod
    async def _lock_connection(conn: AsyncConnection, connection_id: uuid.UUID) -> None:
        still_there = await conn.execute(
            text("SELECT 1 FROM connections WHERE id = :cid FOR UPDATE"), {"cid": connection_id}
        )
        if still_there.first() is None:
            raise AppError("The connection was deleted during indexing")

    async def _succeed(
        self, conn: AsyncConnection, lease: Lease, total: int, counts: dict[str, Any], finished: datetime
    ) -> None:
        """Inside the swap's transaction: ``LeaseLost`` (the swap rolls back) unless the lease holds."""
        await self._queue.hold(conn, lease)
        await conn.execute(
            update(IndexJob)
            .where(IndexJob.id == lease.job_id)
            .values(
                status="succeeded",
                done=total,
                total=total,
                counts=counts,
                finished_at=finished,
                heartbeat_at=finished,
                error=None,
            )
        )
