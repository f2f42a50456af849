"""Connections of one owner: test, create (then index), list, read, delete, sync status, schema.

Every way to a user database passes ``ConnectionPolicy`` first (test, create, and ``ask_target``
here; indexing in ``IndexingService``), and the driver is given the policy's pinned URL.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.components.connection_policy import ConnectionPolicy, PolicyRefusal
from backend.components.connection_targets import describe_failure
from backend.components.index_cache import IndexCache, Key, SearchIndex
from backend.components.join_graph import JoinGraph
from backend.components.lexical_index import LexicalIndex
from backend.components.schema_notes import NoteTarget, apply_notes, notes_stamp
from backend.components.url_cipher import UrlCipher
from backend.components.url_redaction import hide_password, redact_url
from backend.config import ConnectionPolicySettings
from backend.db.models import Connection, IndexJob
from backend.engines.base import ConnectorError, IntrospectOptions
from backend.engines.registry import build_connector
from backend.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    TargetNotAllowedError,
    UpstreamUnavailableError,
)
from backend.schemas.connections import (
    ConnectionIn,
    ConnectionOut,
    ConnectionTestOut,
    ConnectionUpdate,
    Progress,
    SchemaOut,
    SyncMode,
    SyncStatus,
)
from backend.schemas.schema_snapshot import SchemaSnapshot
from backend.services.ask_plan import AskTarget
from backend.services.audit_service import Actor, AuditService
from backend.services.job_runner import JobRunner
from backend.services.note_reader import load_notes
from backend.services.rate_limit_service import RateLimitService

# A due job not taken for this long is worth telling the user about: workers poll every few seconds.
WORKER_WAIT = timedelta(minutes=1)


def _job_out(job: IndexJob, url: str) -> SyncStatus:
    return SyncStatus(
        job_id=job.id,
        mode=job.mode,
        status=job.status,
        progress=Progress(done=job.done, total=job.total),
        counts=job.counts or {},
        # Scrubbed again: jobs stored before the redaction knew every spelling of a password.
        error=hide_password(job.error, url) if job.error else None,
        started_at=job.started_at,
        finished_at=job.finished_at,
        attempts=job.attempts,
        waiting_for_worker=job.status == "pending" and datetime.now(UTC) - job.run_after > WORKER_WAIT,
    )


class ConnectionService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cipher: UrlCipher,
        introspect: IntrospectOptions,
        runner: JobRunner,
        audit: AuditService,
        policy: ConnectionPolicy,
        rate_limits: RateLimitService,
        settings: ConnectionPolicySettings,
        cache: IndexCache,
    ):
        self._policy = policy
        self._rate_limits = rate_limits
        self._settings = settings
        self._sessions = sessions
        self._cipher = cipher
        self._introspect = introspect
        self._runner = runner
        self._audit = audit
        self._cache = cache

    async def _charge_test(self, user_id: uuid.UUID) -> None:
        """Count one connection attempt of ``user_id``; 429 with Retry-After past the per-minute limit."""
        await self._rate_limits.charge(
            [f"connection_tests:user:{user_id}"],
            self._settings.rate_connection_tests_per_minute,
            60,
            "Too many connection tests in the last minute",
        )

    async def test_for(self, user_id: uuid.UUID, kind: str, url: str) -> ConnectionTestOut:
        """``POST /connections/test``: ``test`` within the caller's per-minute limit (429 beyond it)."""
        await self._charge_test(user_id)
        return await self.test(kind, url)

    async def test(self, kind: str, url: str) -> ConnectionTestOut:
        """Never raises for a bad URL, a refused target or an unreachable database: the answer says why.

        A refused target (the store, metadata, the admin's lists) answers with the policy's sentence;
        a Unix-socket connection no server answered says the same whether the directory exists or not.
        The error never holds a password of ``url`` (it goes to the response and the audit trail):
        an ambiguous URL is refused with a sentence that does not quote it, and every message is
        scrubbed once more here.
        """
        try:
            build_connector(kind, url, self._introspect)  # a malformed URL keeps its own message
            target = await self._policy.check(kind, url)  # PolicyRefusal is a ConnectorError too
        except ConnectorError as exc:
            return ConnectionTestOut(ok=False, error=hide_password(str(exc), url))
        try:
            version = await build_connector(kind, target.url, self._introspect).test()
        except ConnectorError as exc:
            return ConnectionTestOut(ok=False, error=hide_password(describe_failure(target, str(exc)), url))
        return ConnectionTestOut(ok=True, server_version=version)

    async def create(self, actor: Actor, body: ConnectionIn) -> ConnectionOut:
        owner_id = actor.id
        await self._charge_test(owner_id)
        result = await self.test(body.kind, body.url)
        if not result.ok:
            await self._audit.record(
                actor,
                "connection_create",
                success=False,
                # No target: the name is the user's text and could spell another connection's id.
                details={"name": body.name, "kind": body.kind, "error": result.error},
            )
            raise BadRequestError(result.error)
        connection = Connection(
            id=uuid.uuid4(),
            owner_id=owner_id,
            name=body.name.strip(),
            kind=body.kind,
            url_encrypted=self._cipher.encrypt(body.url),
            url_redacted=redact_url(body.url),
            options=body.options.model_dump(),
            server_version=result.server_version,
            reindex_interval_minutes=body.reindex_interval_minutes,
        )
        async with self._sessions() as session:
            session.add(connection)
            try:
                await session.commit()
            except IntegrityError as exc:
                raise ConflictError(f"You already have a connection named '{connection.name}'") from exc
        await self._audit.record(
            actor,
            "connection_create",
            target=f"connection:{connection.id}",
            details={"name": connection.name, "kind": connection.kind, "url": connection.url_redacted},
        )
        await self.start_sync(actor, connection.id)
        return await self.get(owner_id, connection.id)

    async def _owned(self, session: AsyncSession, owner_id: uuid.UUID, connection_id: uuid.UUID) -> Connection:
        connection = await session.get(Connection, connection_id)
        # Another owner's connection is reported exactly like a missing one.
        if connection is None or connection.owner_id != owner_id:
            raise NotFoundError("Connection not found")
        return connection

    async def _latest_job(self, session: AsyncSession, connection_id: uuid.UUID) -> IndexJob | None:
        job: IndexJob | None = await session.scalar(
            select(IndexJob)
            .where(IndexJob.connection_id == connection_id)
            .order_by(IndexJob.created_at.desc(), IndexJob.id)
            .limit(1)
        )
        return job

    def _out(self, connection: Connection, job: IndexJob | None) -> ConnectionOut:
        return ConnectionOut(
            id=connection.id,
            name=connection.name,
            kind=connection.kind,
            # Redacted again: rows stored before the redaction knew every spelling of a password.
            url=redact_url(connection.url_redacted),
            options=connection.options or {},
            server_version=connection.server_version,
            indexed_at=connection.indexed_at,
            created_at=connection.created_at,
            status=job.status if job else None,
            object_count=connection.object_count,
            reindex_interval_minutes=connection.reindex_interval_minutes,
            checked_at=connection.checked_at,
            last_check=connection.last_check,
        )

    async def get(self, owner_id: uuid.UUID, connection_id: uuid.UUID) -> ConnectionOut:
        async with self._sessions() as session:
            connection = await self._owned(session, owner_id, connection_id)
            return self._out(connection, await self._latest_job(session, connection.id))

    async def list(self, owner_id: uuid.UUID) -> list[ConnectionOut]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Connection).where(Connection.owner_id == owner_id).order_by(Connection.created_at)
            )
            return [self._out(c, await self._latest_job(session, c.id)) for c in rows.all()]

    async def delete(self, actor: Actor, connection_id: uuid.UUID) -> None:
        async with self._sessions() as session, session.begin():
            connection = await self._owned(session, actor.id, connection_id)
            name = connection.name
            await session.delete(connection)
        await self._audit.record(
            actor, "connection_delete", target=f"connection:{connection_id}", details={"name": name}
        )

    async def update(self, actor: Actor, connection_id: uuid.UUID, body: ConnectionUpdate) -> ConnectionOut:
        """Change what the body names: the re-index schedule (the next check is due one interval
        after the latest job) and the answer-cache switch (``options.answer_cache``)."""
        changed = body.model_dump(include=body.model_fields_set)
        async with self._sessions() as session, session.begin():
            connection = await self._owned(session, actor.id, connection_id)
            if "reindex_interval_minutes" in changed:
                connection.reindex_interval_minutes = body.reindex_interval_minutes
            if body.answer_cache is not None:
                connection.options = {**(connection.options or {}), "answer_cache": body.answer_cache}
            else:
                changed.pop("answer_cache", None)
        await self._audit.record(actor, "connection_update", target=f"connection:{connection_id}", details=changed)
        return await self.get(actor.id, connection_id)

    async def start_sync(self, actor: Actor, connection_id: uuid.UUID, mode: SyncMode = "full") -> uuid.UUID:
        async with self._sessions() as session:
            await self._owned(session, actor.id, connection_id)
        job_id, created = await self._runner.start_job(connection_id, mode)
        await self._audit.record(
            actor,
            "connection_sync",
            target=f"connection:{connection_id}",
            details={"job_id": str(job_id), "new_job": created, "mode": mode},
        )
        return job_id

    async def sync_status(self, owner_id: uuid.UUID, connection_id: uuid.UUID) -> SyncStatus:
        async with self._sessions() as session:
            connection = await self._owned(session, owner_id, connection_id)
            job = await self._latest_job(session, connection_id)
        if job is None:
            raise NotFoundError("This connection has never been indexed")
        return _job_out(job, self._cipher.decrypt(connection.url_encrypted))

    async def schema(self, owner_id: uuid.UUID, connection_id: uuid.UUID) -> SchemaOut:
        async with self._sessions() as session:
            connection = await self._owned(session, owner_id, connection_id)
            await session.refresh(connection, ["schema_snapshot"])
            notes = await load_notes(session, connection.id)
        if connection.schema_snapshot is None:
            raise NotFoundError("This connection has not been indexed yet")
        snapshot = apply_notes(SchemaSnapshot.model_validate(connection.schema_snapshot), notes)
        return SchemaOut(
            connection_id=connection.id,
            kind=snapshot.kind,
            server_version=snapshot.server_version,
            indexed_at=connection.indexed_at,
            objects=snapshot.objects,
            note=snapshot.note,
        )

    async def search_index(self, owner_id: uuid.UUID, connection_id: uuid.UUID) -> SearchIndex:
        """The join graph and keyword index of an indexed connection; 409 while it has never been indexed.

        Cached per ``indexed_at``: a re-index changes the key, so a stale index is never served.
        """
        async with self._sessions() as session:
            connection = await self._indexed(session, owner_id, connection_id)
            return await self._search_index(session, connection)

    async def _indexed(self, session: AsyncSession, owner_id: uuid.UUID, connection_id: uuid.UUID) -> Connection:
        connection = await self._owned(session, owner_id, connection_id)
        if connection.indexed_at is None:
            raise ConflictError("This connection has not been indexed yet; wait for its sync to succeed")
        return connection

    async def _key(self, session: AsyncSession, connection: Connection) -> tuple[Key, Sequence[NoteTarget]]:
        """The cache key of a connection's index version and notes, and the notes themselves."""
        assert connection.indexed_at is not None  # _indexed() refused unindexed connections
        notes = await load_notes(session, connection.id)
        return (connection.id, connection.indexed_at, notes_stamp(notes)), notes

    async def _snapshot(
        self, session: AsyncSession, connection: Connection, keyed: tuple[Key, Sequence[NoteTarget]] | None = None
    ) -> SchemaSnapshot:
        """The indexed snapshot with the owner's notes on (``schema_notes.apply_notes``)."""
        key, notes = keyed or await self._key(session, connection)

        async def load() -> SchemaSnapshot:
            await session.refresh(connection, ["schema_snapshot"])
            data = connection.schema_snapshot or {"kind": connection.kind}
            return apply_notes(await asyncio.to_thread(SchemaSnapshot.model_validate, data), notes)

        return await self._cache.snapshot(key, load)

    async def _search_index(
        self, session: AsyncSession, connection: Connection, keyed: tuple[Key, Sequence[NoteTarget]] | None = None
    ) -> SearchIndex:
        keyed = keyed or await self._key(session, connection)

        async def load() -> SearchIndex:
            snapshot = await self._snapshot(session, connection, keyed)
            # Thousands of tables take a moment to index: off the event loop.
            return await asyncio.to_thread(
                lambda: SearchIndex(JoinGraph.from_snapshot(snapshot), LexicalIndex.from_snapshot(snapshot))
            )

        return await self._cache.search_index(keyed[0], load)

    def forget_cached(self, connection_id: uuid.UUID) -> None:
        """Drop the cached snapshot and keyword index of a connection whose notes changed."""
        self._cache.forget(connection_id)

    async def indexed_snapshot(self, owner_id: uuid.UUID, connection_id: uuid.UUID) -> tuple[datetime, SchemaSnapshot]:
        """``(indexed_at, schema)`` of an indexed connection of ``owner_id`` (404, 409 unindexed),
        from the cache; no policy check, as nothing connects to the database."""
        async with self._sessions() as session:
            connection = await self._indexed(session, owner_id, connection_id)
            snapshot = await self._snapshot(session, connection)
        assert connection.indexed_at is not None
        return connection.indexed_at, snapshot

    async def ask_target(self, owner_id: uuid.UUID, connection_id: uuid.UUID) -> AskTarget:
        """The URL to connect with, schema and join graph of an indexed connection of ``owner_id``.

        The URL is checked by the policy again and pinned to the addresses checked: a refused
        target is a 400 (``TargetNotAllowedError``), a host that no longer resolves a 503.
        """
        async with self._sessions() as session:
            connection = await self._indexed(session, owner_id, connection_id)
            keyed = await self._key(session, connection)  # the notes are read once for both
            index = await self._search_index(session, connection, keyed)
            snapshot = await self._snapshot(session, connection, keyed)
        (_, indexed_at, notes), _ = keyed
        url = self._cipher.decrypt(connection.url_encrypted)
        try:
            # Checked at every question: the policy or DNS may have changed since the connection was made.
            target = await self._policy.check(connection.kind, url)
        except PolicyRefusal as exc:
            raise TargetNotAllowedError(hide_password(str(exc), url)) from None
        except ConnectorError as exc:
            raise UpstreamUnavailableError(hide_password(str(exc), url)) from None
        return AskTarget(
            connection_id=connection.id,
            kind=connection.kind,
            url=target.url,
            snapshot=snapshot,
            index=index,
            # What the index and notes are now: a re-index or a changed note changes it.
            version=f"{indexed_at.isoformat()}|{connection.catalog_hash or ''}|{notes}",
            answer_cache=bool((connection.options or {}).get("answer_cache", True)),
        )
