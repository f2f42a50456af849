"""Indexing jobs: hash the catalog -> introspect -> chunk -> embed what changed -> swap the index
in one transaction. A ``check`` job stops after the hash when it equals the indexed one."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import traceback
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from backend.components.chunker import chunk_object, chunk_snapshot
from backend.components.connection_policy import ConnectionPolicy
from backend.components.connection_targets import describe_failure
from backend.components.embedding_client import EmbeddingClient
from backend.components.errors import ComponentError
from backend.components.metrics import Metrics
from backend.components.pii import tag_and_mask
from backend.components.schema_notes import apply_notes
from backend.components.url_cipher import UrlCipher
from backend.components.url_redaction import hide_password
from backend.components.vector_store import StoredChunk, VectorStore
from backend.config import IndexingSettings
from backend.db.models import Connection, IndexJob
from backend.engines.base import INTROSPECT_SESSION, ConnectorError, IntrospectOptions, ProgressCallback
from backend.engines.registry import engine_for
from backend.errors import AppError
from backend.schemas.connections import SyncMode
from backend.schemas.schema_snapshot import ObjectInfo, SchemaSnapshot
from backend.services.note_reader import load_notes

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = ("pending", "running")
DUE_CHECKS_SQL = """
SELECT c.id FROM connections c
 WHERE c.reindex_interval_minutes IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM index_jobs j WHERE j.connection_id = c.id AND j.status IN ('pending', 'running'))
   AND greatest(c.created_at, (SELECT max(j.created_at) FROM index_jobs j WHERE j.connection_id = c.id))
       + make_interval(mins => c.reindex_interval_minutes) <= now()
 ORDER BY c.id
"""
# Texts per embedding call during indexing; also how often progress moves.
EMBED_BATCH = 64


def introspect_options(settings: IndexingSettings) -> IntrospectOptions:
    return IntrospectOptions(
        sample_rows=settings.index_sample_rows,
        value_max_chars=settings.index_value_max_chars,
        distinct_limit=settings.index_distinct_limit,
        distinct_scan_rows=settings.index_distinct_scan_rows,
        session=replace(
            INTROSPECT_SESSION,
            statement_timeout_ms=settings.index_statement_timeout_ms,
            connect_timeout_s=settings.index_connect_timeout_s,
        ),
    )


@dataclass(frozen=True)
class _JobTarget:
    """What a job needs of its connection, read once at its start."""

    connection_id: uuid.UUID
    kind: str
    url_token: bytes
    mask_pii: bool
    mode: SyncMode
    catalog_hash: str | None
    object_count: int


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
        metrics: Metrics | None = None,
    ):
        self._metrics = metrics
        self._policy = policy
        self._engine = engine
        self._sessions = sessions
        self._cipher = cipher
        self._embedder = embedder
        self._store = store
        self._settings = settings

    async def enqueue(self, connection_id: uuid.UUID, mode: SyncMode = "full") -> tuple[uuid.UUID, bool]:
        """Return ``(job_id, created)``: an active job of the connection is reused, not doubled;
        a ``full`` request upgrades a still-pending ``check``."""
        async with self._sessions() as session, session.begin():
            # Row lock on the connection serialises two concurrent sync requests.
            await session.execute(select(Connection.id).where(Connection.id == connection_id).with_for_update())
            active = await session.scalar(
                select(IndexJob).where(IndexJob.connection_id == connection_id, IndexJob.status.in_(ACTIVE_STATUSES))
            )
            if active:
                if mode == "full" and active.status == "pending":
                    active.mode = "full"
                return active.id, False
            job = IndexJob(id=uuid.uuid4(), connection_id=connection_id, status="pending", mode=mode, counts={})
            session.add(job)
            return job.id, True

    async def due_checks(self) -> list[uuid.UUID]:
        """Connections whose schedule is due: no active job, and the latest job (or the
        connection's creation) is at least one interval old, so a failing check is retried
        once per interval, not at every sweep."""
        async with self._sessions() as session:
            rows = await session.execute(text(DUE_CHECKS_SQL))
            return [row[0] for row in rows]

    async def _set_job(self, job_id: uuid.UUID, **values: Any) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(update(IndexJob).where(IndexJob.id == job_id).values(**values))

    async def run(self, job_id: uuid.UUID) -> None:
        """Run one job to ``succeeded`` or ``failed``; never raises for a job-level failure."""
        now = datetime.now(UTC)
        started = time.monotonic()
        await self._set_job(job_id, status="running", started_at=now, heartbeat_at=now)
        status = "failed"
        try:
            counts = await self._index(job_id)
            status = "succeeded"
        except (ConnectorError, ComponentError, AppError) as exc:
            await self._fail(job_id, str(exc))
        except _Crash as exc:
            logger.error("indexing job %s crashed:\n%s", job_id, exc.text)
            await self._fail(job_id, f"Internal error: {exc.kind}")
        except Exception as exc:  # a job must end in a state, whatever broke
            logger.exception("indexing job %s crashed", job_id)
            await self._fail(job_id, f"Internal error: {type(exc).__name__}")
        else:
            logger.info("indexing job %s succeeded: %s", job_id, counts)
        finally:
            if self._metrics:
                self._metrics.index_jobs.labels(status).inc()
                self._metrics.index_job_seconds.observe(time.monotonic() - started)

    async def _fail(self, job_id: uuid.UUID, reason: str) -> None:
        await self._set_job(job_id, status="failed", error=reason, finished_at=datetime.now(UTC))

    async def _load(self, job_id: uuid.UUID) -> _JobTarget:
        async with self._sessions() as session:
            job = await session.get(IndexJob, job_id)
            if job is None:
                raise AppError("job vanished")
            connection = await session.get(Connection, job.connection_id)
            if connection is None:
                raise AppError("The connection was deleted")
            return _JobTarget(
                connection_id=connection.id,
                kind=connection.kind,
                url_token=connection.url_encrypted,
                mask_pii=bool((connection.options or {}).get("mask_pii", True)),
                mode="check" if job.mode == "check" else "full",
                catalog_hash=connection.catalog_hash if connection.indexed_at else None,
                object_count=connection.object_count or 0,
            )

    async def _read(self, job: _JobTarget, url: str, report: ProgressCallback) -> tuple[str, SchemaSnapshot | None]:
        """The catalog hash, and the snapshot unless a ``check`` found the hash unchanged."""
        try:
            # Checked again before every run: the policy or DNS may have changed since the connection was made.
            target = await self._policy.check(job.kind, url)
            connector = engine_for(job.kind).connector(target.url, introspect_options(self._settings))
            try:
                digest = self._index_hash(await connector.catalog_hash(), job.mask_pii)
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

    def _index_hash(self, catalog: str, mask_pii: bool) -> str:
        """The catalog's hash bound to everything else an index depends on: the embedding model
        and the settings that shape chunks. Changing either makes a ``check`` re-index."""
        shaping = self._settings.model_dump(
            include={
                "index_sample_rows",
                "index_value_max_chars",
                "index_distinct_limit",
                "index_distinct_scan_rows",
                "index_max_columns_per_chunk",
            }
        )
        bound = json.dumps({"catalog": catalog, "model": self._embedder.model, "mask_pii": mask_pii, **shaping})
        return hashlib.sha256(bound.encode()).hexdigest()

    async def _index(self, job_id: uuid.UUID) -> dict[str, Any]:
        job = await self._load(job_id)
        connection_id = job.connection_id
        last_beat = 0.0

        async def report(done: int, total: int, force: bool = False) -> None:
            nonlocal last_beat
            if force or time.monotonic() - last_beat >= 0.5:
                last_beat = time.monotonic()
                await self._set_job(job_id, done=done, total=total, heartbeat_at=datetime.now(UTC))

        url = self._cipher.decrypt(job.url_token)
        clock = time.monotonic()
        if self._embedder.model == "unknown":
            # The model's name enters the index hash and every chunk hash: learn it before either.
            await self._embedder.health()
        digest, snapshot = await self._read(job, url, report)
        if snapshot is None:
            return await self._unchanged(job_id, job, time.monotonic() - clock)
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
            await self._succeed(conn, job_id, total, counts, finished)
        # Fresh statistics so the planner sees the new rows.
        async with self._engine.connect() as conn:
            await conn.execute(text("ANALYZE chunks"))
            await conn.commit()
        return counts

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

    async def _unchanged(self, job_id: uuid.UUID, job: _JobTarget, elapsed: float) -> dict[str, Any]:
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
            await self._succeed(conn, job_id, job.object_count, counts, finished)
        return counts

    @staticmethod
    async def _lock_connection(conn: AsyncConnection, connection_id: uuid.UUID) -> None:
        still_there = await conn.execute(
            text("SELECT 1 FROM connections WHERE id = :cid FOR UPDATE"), {"cid": connection_id}
        )
        if still_there.first() is None:
            raise AppError("The connection was deleted during indexing")

    @staticmethod
    async def _succeed(
        conn: AsyncConnection, job_id: uuid.UUID, total: int, counts: dict[str, Any], finished: datetime
    ) -> None:
        await conn.execute(
            update(IndexJob)
            .where(IndexJob.id == job_id)
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

    async def fail_stale_jobs(self) -> int:
        """Mark jobs whose runner stopped beating as failed; returns how many."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self._settings.job_stale_after_s)
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(IndexJob)
                .where(
                    IndexJob.status.in_(ACTIVE_STATUSES),
                    text("coalesce(heartbeat_at, created_at) < :cutoff").bindparams(cutoff=cutoff),
                )
                .values(
                    status="failed",
                    error="Interrupted: the backend stopped while indexing; start a new sync",
                    finished_at=datetime.now(UTC),
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def fail_jobs(self, job_ids: list[uuid.UUID], reason: str) -> None:
        if not job_ids:
            return
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(IndexJob)
                .where(IndexJob.id.in_(job_ids), IndexJob.status.in_(ACTIVE_STATUSES))
                .values(status="failed", error=reason, finished_at=datetime.now(UTC))
            )
