"""The indexing queue, kept in the store so that any number of backends and workers share it.

A job is ``pending`` until a worker claims it (``FOR UPDATE SKIP LOCKED``: two workers never
take the same row), then ``running`` under a lease: the worker's name, the attempt number and
a heartbeat it renews. Every write a worker makes to its job is fenced by that lease
(``HELD``), so a worker that lost its lease (it stalled, a reaper took the job back, another
worker runs it now) cannot overwrite the job's state. Times come from the store's clock, the
one clock all hosts share.

At most one active (pending or running) job per connection: ``enqueue`` reuses it, and a
unique partial index (migration 0011) backs that up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from backend.config import IndexingSettings
from backend.db.models import Connection, IndexJob
from backend.errors import NotFoundError
from backend.schemas.connections import SyncMode

ACTIVE_STATUSES = ("pending", "running")
# A job's row as long as this lease holds it.
HELD = "id = :job_id AND worker = :worker AND attempts = :attempt AND status = 'running'"
LOST_REASON = "Interrupted: the worker running this job stopped ({n} time(s))"
SHUTDOWN_REASON = "Interrupted: the worker shut down while indexing"

# A connection ``c`` whose scheduled check is due.
DUE = """c.reindex_interval_minutes IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM index_jobs j WHERE j.connection_id = c.id AND j.status IN ('pending', 'running'))
   AND greatest(c.created_at, (SELECT max(j.created_at) FROM index_jobs j WHERE j.connection_id = c.id))
       + make_interval(mins => c.reindex_interval_minutes) <= now()"""
DUE_CHECKS_SQL = f"SELECT c.id FROM connections c WHERE {DUE} ORDER BY c.id"
IS_DUE_SQL = f"SELECT 1 FROM connections c WHERE c.id = :cid AND {DUE}"
CLAIM_SQL = """
UPDATE index_jobs
   SET status = 'running', worker = :worker, attempts = attempts + 1, started_at = now(),
       heartbeat_at = now(), done = 0, total = 0, finished_at = NULL
 WHERE id = (SELECT id FROM index_jobs
              WHERE status = 'pending' AND run_after <= now()
              ORDER BY run_after, created_at, id
              FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING id, attempts
"""
# Back to the queue while attempts remain (after ``:delay`` seconds, doubled at each attempt), else
# failed with ``:reason``, whose ``{n}`` becomes the number of attempts.
RETRY_SQL = """
UPDATE index_jobs
   SET status = CASE WHEN attempts < :max_attempts THEN 'pending' ELSE 'failed' END,
       worker = CASE WHEN attempts < :max_attempts THEN NULL ELSE worker END,
       run_after = now() + make_interval(secs => CASE WHEN :backoff THEN :delay * power(2, attempts - 1) ELSE 0 END),
       finished_at = CASE WHEN attempts < :max_attempts THEN NULL ELSE now() END,
       done = CASE WHEN attempts < :max_attempts THEN 0 ELSE done END,
       total = CASE WHEN attempts < :max_attempts THEN 0 ELSE total END,
       error = CASE WHEN attempts < :max_attempts THEN 'Retrying after: ' ELSE '' END
               || replace(:reason, '{{n}}', attempts::text)
 WHERE {where}
RETURNING id, status
"""
# A running row without a heartbeat (none is written so today) is judged by when it started.
STALE = (
    "status = 'running' AND coalesce(heartbeat_at, started_at, created_at) < now() - make_interval(secs => :lease_s)"
)
STATE_SQL = """
SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'running'),
       coalesce(extract(epoch FROM now() - min(run_after) FILTER (WHERE status = 'pending' AND run_after <= now())), 0)
  FROM index_jobs WHERE status IN ('pending', 'running')
"""


@dataclass(frozen=True)
class Lease:
    """One worker's hold on one run of a job."""

    job_id: uuid.UUID
    worker: str
    attempt: int

    def params(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "worker": self.worker, "attempt": self.attempt}


@dataclass(frozen=True)
class QueueState:
    """The queue at one moment: jobs waiting, jobs running, and how long the oldest due job has waited."""

    pending: int
    running: int
    oldest_due_s: float


class LeaseLost(Exception):
    """The job is no longer this lease's: a reaper took it back, or it was deleted."""


class JobQueue:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: IndexingSettings):
        self._sessions = sessions
        self._settings = settings

    async def enqueue(self, connection_id: uuid.UUID, mode: SyncMode = "full") -> tuple[uuid.UUID, bool]:
        """Return ``(job_id, created)``: an active job of the connection is reused, not doubled;
        a ``full`` request upgrades a still-pending ``check``. ``NotFoundError`` when the
        connection is gone."""
        async with self._sessions() as session, session.begin():
            # Row lock on the connection serialises two concurrent sync requests.
            locked = await session.scalar(select(Connection.id).where(Connection.id == connection_id).with_for_update())
            if locked is None:  # deleted since the caller looked it up: 404, not a foreign key's 500
                raise NotFoundError("Connection not found")
            active = await session.scalar(
                select(IndexJob).where(IndexJob.connection_id == connection_id, IndexJob.status.in_(ACTIVE_STATUSES))
            )
            if active:
                if mode == "full" and active.status == "pending":
                    # Only while still pending: a worker claiming it now runs the mode it read.
                    await session.execute(
                        update(IndexJob)
                        .where(IndexJob.id == active.id, IndexJob.status == "pending")
                        .values(mode="full")
                        .execution_options(synchronize_session=False)
                    )
                return active.id, False
            return _add(session, connection_id, mode), True

    async def enqueue_due_check(self, connection_id: uuid.UUID) -> uuid.UUID | None:
        """Queue the scheduled ``check`` of a connection that ``due_checks`` listed, unless it is
        no longer due once the connection is locked (another replica's sweep queued it since, and
        the check may have ended already); the new job's id, or None."""
        async with self._sessions() as session, session.begin():
            await session.execute(select(Connection.id).where(Connection.id == connection_id).with_for_update())
            if (await session.execute(text(IS_DUE_SQL), {"cid": connection_id})).first() is None:
                return None
            return _add(session, connection_id, "check")

    async def ping(self) -> None:
        """One round trip to the store (a busy worker's proof of life)."""
        async with self._sessions() as session:
            await session.execute(text("SELECT 1"))

    async def due_checks(self) -> list[uuid.UUID]:
        """Connections whose schedule is due: no active job, and the latest job (or the
        connection's creation) is at least one interval old, so a failing check is retried
        once per interval, not at every sweep."""
        async with self._sessions() as session:
            rows = await session.execute(text(DUE_CHECKS_SQL))
            return [row[0] for row in rows]

    async def claim(self, worker: str) -> Lease | None:
        """Take the oldest job that is due, or None. The claim counts an attempt and starts the
        job from a clean state (progress reset), whatever an earlier attempt left."""
        async with self._sessions() as session, session.begin():
            row = (await session.execute(text(CLAIM_SQL), {"worker": worker})).first()
        return None if row is None else Lease(row[0], worker, int(row[1]))

    async def beat(self, lease: Lease) -> bool:
        """Renew the lease; False when it is no longer held."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                text(f"UPDATE index_jobs SET heartbeat_at = now() WHERE {HELD}"), lease.params()
            )
        return _count(result) == 1

    async def progress(self, lease: Lease, done: int, total: int) -> None:
        """Record progress (and renew the lease); raises ``LeaseLost`` when it is no longer held."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                text(f"UPDATE index_jobs SET done = :done, total = :total, heartbeat_at = now() WHERE {HELD}"),
                {**lease.params(), "done": done, "total": total},
            )
        if _count(result) != 1:
            raise LeaseLost(str(lease.job_id))

    async def hold(self, conn: AsyncConnection, lease: Lease) -> None:
        """Inside ``conn``'s transaction: lock the job's row and check the lease, else ``LeaseLost``
        (which rolls the caller's transaction back)."""
        held = await conn.execute(text(f"SELECT 1 FROM index_jobs WHERE {HELD} FOR UPDATE"), lease.params())
        if held.first() is None:
            raise LeaseLost(str(lease.job_id))

    async def fail(self, lease: Lease, reason: str) -> None:
        """End the run as failed, for good (a wrong password does not get better by retrying)."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                text(f"UPDATE index_jobs SET status = 'failed', error = :reason, finished_at = now() WHERE {HELD}"),
                {**lease.params(), "reason": reason},
            )

    async def retry_or_fail(self, lease: Lease, reason: str, backoff: bool = True) -> str:
        """Queue the job again (after the backoff) while attempts remain, else fail it with
        ``reason``; returns the new status, or "lost" when the lease no longer held."""
        async with self._sessions() as session, session.begin():
            row = (
                await session.execute(
                    text(RETRY_SQL.format(where=HELD)), {**lease.params(), **self._retry_params(reason, backoff)}
                )
            ).first()
        return "lost" if row is None else str(row[1])

    async def release(self, leases: list[Lease]) -> None:
        """Give jobs back at shutdown: another worker may start them at once (the cut-off run
        still counts as an attempt, so a job that keeps killing its workers ends)."""
        for lease in leases:
            await self.retry_or_fail(lease, SHUTDOWN_REASON, backoff=False)

    async def reap(self) -> tuple[int, int]:
        """Take back every expired lease: the job is queued again after the backoff, or failed
        when its attempts are used up. Returns ``(requeued, failed)``."""
        async with self._sessions() as session, session.begin():
            rows = (
                await session.execute(
                    text(RETRY_SQL.format(where=STALE)),
                    {"lease_s": self._settings.job_stale_after_s, **self._retry_params(LOST_REASON, True)},
                )
            ).all()
        failed = sum(1 for row in rows if row[1] == "failed")
        return len(rows) - failed, failed

    async def recover(self, worker: str) -> int:
        """At a worker's start: jobs still held under its own name belong to a process of that
        name that is gone (names are unique among live workers), so they are queued again now
        instead of after the lease runs out. Returns how many."""
        async with self._sessions() as session, session.begin():
            rows = (
                await session.execute(
                    text(RETRY_SQL.format(where="status = 'running' AND worker = :worker")),
                    {"worker": worker, **self._retry_params(SHUTDOWN_REASON, False)},
                )
            ).all()
        return len(rows)

    async def state(self) -> QueueState:
        async with self._sessions() as session:
            row = (await session.execute(text(STATE_SQL))).one()
        return QueueState(int(row[0]), int(row[1]), float(row[2]))

    def _retry_params(self, reason: str, backoff: bool) -> dict[str, Any]:
        return {
            "max_attempts": self._settings.job_max_attempts,
            "backoff": backoff,
            "delay": self._settings.job_retry_backoff_s,
            "reason": reason,
        }


def _add(session: AsyncSession, connection_id: uuid.UUID, mode: SyncMode) -> uuid.UUID:
    job = IndexJob(id=uuid.uuid4(), connection_id=connection_id, status="pending", mode=mode, counts={})
    session.add(job)
    return job.id


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
