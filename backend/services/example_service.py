"""Verified examples: a question and the query that answers it, per connection.

A query is kept only after it passed the engine's guard and ran read-only without error, through
exactly what ``POST /api/query/run`` does (``QueryRunService.check_and_run``: the same guard in a
worker thread, the same name layer, the same runner and limits, the same audit events: a run is a
``query`` event, a refusal a ``query_refused`` one). A broken example is a 422 with the reason and
nothing is saved. ``question_norm`` (``normalise_question``) is unique per connection (409 on
create, "skipped" on import); ``embedding`` is the question embedded with the chunks' model, for
the ask flow's retrieval of examples.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio.to_thread
from sqlalchemy import Select, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.components.embedding_client import EmbeddingClient
from backend.components.question_text import normalise_question
from backend.db.models import VerifiedExample
from backend.engines.base import QueryRefusedError
from backend.errors import ConflictError, NotFoundError, UnprocessableError
from backend.schemas.examples import (
    ExampleCheckOut,
    ExampleFormat,
    ExampleImportIn,
    ExampleImportOut,
    ExampleIn,
    ExampleOut,
    ExampleSource,
    ExampleUpdate,
    RefusedLine,
)
from backend.schemas.query import QueryOut
from backend.services.ask_plan import AskTarget
from backend.services.audit_service import Actor, AuditService
from backend.services.connection_service import ConnectionService
from backend.services.example_io import export_text, parse_import
from backend.services.history_service import HistoryService
from backend.services.query_run_service import QueryRunService, unanswered

DUPLICATE = "A verified example with this question already exists on this connection"


@dataclass(frozen=True)
class _Verified:
    question: str
    question_norm: str
    query: str
    language: str
    used_objects: list[str]


def _out(row: VerifiedExample) -> ExampleOut:
    return ExampleOut(
        id=row.id,
        question=row.question,
        query=row.query,
        language="mongo" if row.language == "mongo" else "sql",
        used_objects=list(row.used_objects or []),
        source="feedback" if row.source == "feedback" else ("import" if row.source == "import" else "manual"),
        history_id=row.history_id,
        verified_by_email=row.verified_by_email,
        verified_at=row.verified_at,
    )


def _norm(question: str) -> str:
    norm = normalise_question(question)
    if not norm:
        raise UnprocessableError("The question is empty")
    return norm


class ExampleService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        connections: ConnectionService,
        runs: QueryRunService,
        history: HistoryService,
        embedder: EmbeddingClient,
        audit: AuditService,
    ):
        self._sessions = sessions
        self._connections = connections
        self._runs = runs
        self._history = history
        self._embedder = embedder
        self._audit = audit

    # ---- reading -------------------------------------------------------------------------

    def _of(self, connection_id: uuid.UUID) -> Select[VerifiedExample]:
        return (
            select(VerifiedExample)
            .where(VerifiedExample.connection_id == connection_id)
            .order_by(VerifiedExample.verified_at.desc(), VerifiedExample.id)
        )

    async def list_examples(self, owner_id: uuid.UUID, connection_id: uuid.UUID) -> list[ExampleOut]:
        """The connection's examples, newest first; 404 for anyone else's connection."""
        await self._connections.get(owner_id, connection_id)
        async with self._sessions() as session:
            rows = await session.scalars(self._of(connection_id))
            return [_out(r) for r in rows.all()]

    async def recent_questions(self, owner_id: uuid.UUID, connection_id: uuid.UUID, limit: int) -> list[str]:
        await self._connections.get(owner_id, connection_id)
        async with self._sessions() as session:
            rows = await session.scalars(self._of(connection_id).limit(limit))
            return [r.question for r in rows.all()]

    async def export(self, owner_id: uuid.UUID, connection_id: uuid.UUID, fmt: ExampleFormat) -> tuple[str, str]:
        """``(file name, content)`` of the connection's examples, oldest first; import reads it back."""
        connection = await self._connections.get(owner_id, connection_id)
        async with self._sessions() as session:
            rows = (await session.scalars(self._of(connection_id))).all()
        content = export_text(fmt, [(r.question, r.query, r.language) for r in reversed(rows)])
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in connection.name)[:60] or "connection"
        return f"{safe}-examples.{fmt}", content

    # ---- checking --------------------------------------------------------------------------

    async def _run(self, actor: Actor, target: AskTarget, query: str) -> tuple[QueryOut, list[str]]:
        """The query checked and run read-only (audited as any person's query); the used objects."""
        dialect = self._runs.dialect(target.kind)
        out = unanswered(query, dialect.language, uuid.uuid4(), "typed")
        # Verifying is running: the person asks for it explicitly, whatever their answers do.
        await self._runs.check_and_run(actor, target, dialect, out, execute=True)
        used: list[str] = []
        if out.executed and out.error is None and out.query:
            try:
                used = await anyio.to_thread.run_sync(dialect.used_objects, out.query, target.snapshot)
            except QueryRefusedError:
                used = []
        return out, used

    @staticmethod
    def _reason(out: QueryOut) -> str | None:
        if out.error is None and out.executed:
            return None
        if out.error_code == "unknown_names":
            return f"The query names what this database does not have: {out.error}"
        return out.error or "The query did not run"

    async def check(self, actor: Actor, connection_id: uuid.UUID, query: str) -> ExampleCheckOut:
        """Check and run a query read-only without saving it (refusals in ``error``, HTTP 200)."""
        target = await self._connections.ask_target(actor.id, connection_id)
        await self._runs.charge(actor)
        out, used = await self._run(actor, target, query)
        return ExampleCheckOut(
            query=out.query or query,
            language=out.language,
            executed=out.executed,
            columns=out.columns,
            rows=out.rows,
            row_count=out.row_count,
            truncated=out.truncated,
            used_objects=used,
            error=self._reason(out) if out.error else None,
            error_code=out.error_code,
        )

    async def _verify(self, actor: Actor, target: AskTarget, question: str, query: str) -> _Verified:
        out, used = await self._run(actor, target, query)
        reason = self._reason(out)
        if reason is not None:
            raise UnprocessableError(reason)
        assert out.query is not None
        return _Verified(question.strip(), _norm(question), out.query, out.language, used)

    async def _duplicate(self, connection_id: uuid.UUID, norm: str, other_than: uuid.UUID | None = None) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(VerifiedExample.id).where(
                    VerifiedExample.connection_id == connection_id, VerifiedExample.question_norm == norm
                )
            )
        return found is not None and found != other_than

    # ---- writing ---------------------------------------------------------------------------

    async def create(self, actor: Actor, connection_id: uuid.UUID, body: ExampleIn) -> ExampleOut:
        """Check, run and keep an example; 422 with the reason when the query is refused or fails,
        409 for a question the connection already has, 404/409 for a ``history_id`` that is not
        the caller's or is from another connection."""
        target = await self._connections.ask_target(actor.id, connection_id)
        source: ExampleSource = "manual"
        if body.history_id is not None:
            entry = await self._history.get(actor.id, body.history_id)
            if entry.connection_id != connection_id:
                raise ConflictError("The answer is from another connection")
            source = "feedback"
        if await self._duplicate(connection_id, _norm(body.question)):
            raise ConflictError(DUPLICATE)
        await self._runs.charge(actor)
        verified = await self._verify(actor, target, body.question, body.query)
        [vector] = await self._embedder.embed([verified.question])
        row = VerifiedExample(
            connection_id=connection_id,
            question=verified.question,
            question_norm=verified.question_norm,
            query=verified.query,
            language=verified.language,
            used_objects=verified.used_objects,
            source=source,
            history_id=body.history_id,
            verified_by=actor.id,
            verified_by_email=actor.email,
            embedding=vector,
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(row)
        except IntegrityError:
            raise ConflictError(DUPLICATE) from None
        await self._audit.record(
            actor,
            "example_create",
            target=f"connection:{connection_id}",
            details={"example_id": str(row.id), "source": source, "language": verified.language},
        )
        return _out(row)

    async def _owned(self, session: AsyncSession, connection_id: uuid.UUID, example_id: uuid.UUID) -> VerifiedExample:
        row = await session.get(VerifiedExample, example_id, with_for_update=True)
        if row is None or row.connection_id != connection_id:
            raise NotFoundError("Example not found")
        return row

    async def update(
        self, actor: Actor, connection_id: uuid.UUID, example_id: uuid.UUID, body: ExampleUpdate
    ) -> ExampleOut:
        """Change an example's question or query: checked, run and embedded again (422, 409 as on create)."""
        target = await self._connections.ask_target(actor.id, connection_id)
        async with self._sessions() as session:
            await self._owned(session, connection_id, example_id)
        if await self._duplicate(connection_id, _norm(body.question), other_than=example_id):
            raise ConflictError(DUPLICATE)
        await self._runs.charge(actor)
        verified = await self._verify(actor, target, body.question, body.query)
        [vector] = await self._embedder.embed([verified.question])
        try:
            async with self._sessions() as session, session.begin():
                row = await self._owned(session, connection_id, example_id)
                row.question, row.question_norm = verified.question, verified.question_norm
                row.query, row.language, row.used_objects = verified.query, verified.language, verified.used_objects
                row.verified_by, row.verified_by_email = actor.id, actor.email
                row.embedding = vector
                row.verified_at = datetime.now(UTC)
        except IntegrityError:
            raise ConflictError(DUPLICATE) from None
        await self._audit.record(
            actor, "example_update", target=f"connection:{connection_id}", details={"example_id": str(example_id)}
        )
        return _out(row)

    async def delete(self, actor: Actor, connection_id: uuid.UUID, example_id: uuid.UUID) -> None:
        await self._connections.get(actor.id, connection_id)
        async with self._sessions() as session, session.begin():
            gone = await session.execute(
                delete(VerifiedExample)
                .where(VerifiedExample.id == example_id, VerifiedExample.connection_id == connection_id)
                .returning(VerifiedExample.id)
            )
            if gone.first() is None:
                raise NotFoundError("Example not found")
        await self._audit.record(
            actor, "example_delete", target=f"connection:{connection_id}", details={"example_id": str(example_id)}
        )

    async def import_(self, actor: Actor, connection_id: uuid.UUID, body: ExampleImportIn) -> ExampleImportOut:
        """Each line checked and run like a create: imported, skipped as a duplicate, or refused
        with its line and reason. 413 past 2 MB, 422 past 1,000 lines."""
        target = await self._connections.ask_target(actor.id, connection_id)
        rows = parse_import(body.format, body.content)
        await self._runs.charge(actor)
        async with self._sessions() as session:
            seen = set(
                (
                    await session.scalars(
                        select(VerifiedExample.question_norm).where(VerifiedExample.connection_id == connection_id)
                    )
                ).all()
            )
        refused: list[RefusedLine] = []
        accepted: list[_Verified] = []
        skipped = 0
        for item in rows:
            if item.problem is not None:
                refused.append(RefusedLine(line=item.line, question=item.question, reason=item.problem))
                continue
            norm = normalise_question(item.question)
            if norm in seen:
                skipped += 1
                continue
            try:
                verified = await self._verify(actor, target, item.question, item.query)
            except UnprocessableError as exc:
                refused.append(RefusedLine(line=item.line, question=item.question, reason=exc.detail))
                continue
            seen.add(norm)
            accepted.append(verified)
        imported = await self._insert_imported(actor, connection_id, accepted) if accepted else 0
        skipped += len(accepted) - imported
        await self._audit.record(
            actor,
            "example_import",
            target=f"connection:{connection_id}",
            details={"format": body.format, "imported": imported, "skipped": skipped, "refused": len(refused)},
        )
        return ExampleImportOut(imported=imported, skipped=skipped, refused=refused)

    async def _insert_imported(self, actor: Actor, connection_id: uuid.UUID, accepted: list[_Verified]) -> int:
        vectors = await self._embedder.embed([v.question for v in accepted])
        values = [
            {
                "id": uuid.uuid4(),
                "connection_id": connection_id,
                "question": v.question,
                "question_norm": v.question_norm,
                "query": v.query,
                "language": v.language,
                "used_objects": v.used_objects,
                "source": "import",
                "verified_by": actor.id,
                "verified_by_email": actor.email,
                "embedding": vector,
            }
            for v, vector in zip(accepted, vectors, strict=True)
        ]
        statement = (
            insert(VerifiedExample)
            .values(values)
            .on_conflict_do_nothing(constraint="uq_verified_examples_question")
            .returning(VerifiedExample.id)
        )
        async with self._sessions() as session, session.begin():
            inserted = (await session.execute(statement)).all()
        return len(inserted)
