"""Adversarial checks of the indexing queue (issue 17 item 1 review): a worker that gets back a
job it still runs, a busy worker's liveness, a store connection lost mid-run, scheduled checks
racing across replicas, a ``full`` request racing a claim. A store of this module's own, so that
no other test's worker claims these jobs."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.config import IndexingSettings
from backend.db.models import Connection, User
from backend.db.store import create_engine
from backend.errors import NotFoundError
from backend.services.index_worker import IndexWorker
from backend.services.job_queue import CLAIM_SQL, JobQueue, Lease
from backend.services.job_runner import JobRunner
from tests.conftest import migrated_store
from tests.tcp_forwarder import Forwarder, store_socket


@pytest.fixture(scope="module")
def race_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``(sqlalchemy_url, libpq_dsn)`` of a migrated store for this module alone."""
    server, url, dsn = migrated_store(tmp_path_factory.mktemp("races"), "sextant_races")
    yield url, dsn
    del server  # kept alive until here: the store goes with it


@pytest.fixture(autouse=True)
def _no_active_jobs_left(race_store: tuple[str, str]) -> Iterator[None]:
    """Each test starts with an empty queue: the claim in one must not take another's job."""
    yield
    with psycopg.connect(race_store[1], autocommit=True) as conn:
        conn.execute("UPDATE index_jobs SET status = 'failed' WHERE status IN ('pending', 'running')")


@pytest.fixture
async def engine(race_store: tuple[str, str]) -> Any:
    made = create_engine(race_store[0], 4)
    yield made
    await made.dispose()


def _queue(engine: AsyncEngine, **settings: Any) -> JobQueue:
    values = {"job_max_attempts": 3, "job_retry_backoff_s": 0, "job_stale_after_s": 60, **settings}
    return JobQueue(async_sessionmaker(engine, expire_on_commit=False), IndexingSettings(**values))


async def _connection(engine: AsyncEngine, **values: Any) -> uuid.UUID:
    """A connection row (its URL is never read here)."""
    sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        user = User(id=uuid.uuid4(), email=f"race-{uuid.uuid4().hex[:8]}@example.com", password_hash="x")
        session.add(user)
        await session.flush()
        connection = Connection(
            id=uuid.uuid4(), owner_id=user.id, name="race", kind="postgres", url_encrypted=b"x",
            url_redacted="postgresql://race", options={}, **values,
        )  # fmt: skip
        session.add(connection)
    return connection.id


def _job(dsn: str, job_id: uuid.UUID) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        cur = conn.execute("SELECT status, worker, attempts, mode, error FROM index_jobs WHERE id = %s", (job_id,))
        row = cur.fetchone()
        assert row is not None
        return dict(zip([c.name for c in cur.description or []], row, strict=True))


async def _until(predicate: Callable[[], bool], within: float = 5) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


class Blocking:
    """A job run that waits until released: the leases it was given, and which were cancelled."""

    def __init__(self) -> None:
        self.leases: list[Lease] = []
        self.cancelled: list[Lease] = []
        self.cancelled_at: list[float] = []  # time.monotonic()
        self.release = asyncio.Event()

    async def run(self, lease: Lease) -> None:
        self.leases.append(lease)
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.append(lease)
            self.cancelled_at.append(time.monotonic())
            raise


async def test_a_worker_that_claims_again_a_job_it_still_runs_starts_the_new_attempt(
    engine: AsyncEngine, race_store: tuple[str, str]
) -> None:
    """A worker cut off from the store keeps its run going (its beats fail, not lost); meanwhile a
    reaper elsewhere takes the job back, and when the store answers again this same worker's poll
    claims it again. The new attempt must run (and the stale one stop); it must not be left
    'running' with nobody running it until the lease runs out, burning an attempt."""
    queue = _queue(engine)
    job_id, _ = await queue.enqueue(await _connection(engine))
    jobs = Blocking()
    # Beats every 15 s: none during this test, as for a worker whose store was unreachable.
    worker = IndexWorker(queue, jobs, "flaky", concurrency=2, poll_interval_s=0.05, lease_s=60)
    await worker.start()
    try:
        await _until(lambda: len(jobs.leases) == 1)
        with psycopg.connect(race_store[1], autocommit=True) as conn:
            conn.execute("UPDATE index_jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = %s", (job_id,))
        assert await queue.reap() == (1, 0)
        await _until(lambda: _job(race_store[1], job_id)["attempts"] == 2)
        assert _job(race_store[1], job_id)["worker"] == "flaky"
        # The second attempt is this worker's: it must actually run it.
        await _until(lambda: [lease.attempt for lease in jobs.leases] == [1, 2], within=1)
        assert [lease.attempt for lease in jobs.cancelled] == [1]
    finally:
        await worker.stop()
    # Given back at stop: the attempt this worker held, not lost with the stale one's bookkeeping.
    assert _job(race_store[1], job_id)["status"] == "pending"


async def test_a_worker_busy_with_long_jobs_still_reports_itself_alive(
    engine: AsyncEngine, race_store: tuple[str, str]
) -> None:
    """``last_poll_ok`` feeds the worker container's healthcheck (backend/worker.py). A worker
    whose every slot runs a long index is healthy; it must not look dead because it has no
    slot free to claim with (an orchestrator would kill it mid-index, over and over)."""
    queue = _queue(engine)
    job_id, _ = await queue.enqueue(await _connection(engine))
    jobs = Blocking()
    worker = IndexWorker(queue, jobs, "busy", concurrency=1, poll_interval_s=0.05, lease_s=60)
    await worker.start()
    try:
        await _until(lambda: len(jobs.leases) == 1)
        await asyncio.sleep(0.5)  # ten poll intervals with no free slot
        assert time.monotonic() - worker.last_poll_ok < 0.3
    finally:
        jobs.release.set()
        await worker.stop()
    assert _job(race_store[1], job_id)["status"] == "running"  # Blocking ends without a state


async def test_scheduled_checks_of_two_replicas_queue_one_check(
    engine: AsyncEngine, race_store: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both sweepers read the due list; replica A's check is queued and ends before replica B
    queues from the list it read: B must not start a second check of the same schedule slot."""
    cid = await _connection(engine, reindex_interval_minutes=5)
    with psycopg.connect(race_store[1], autocommit=True) as conn:
        conn.execute("UPDATE connections SET created_at = now() - interval '10 minutes' WHERE id = %s", (cid,))
    queue_a, queue_b = _queue(engine), _queue(engine)
    read_by_b = await queue_b.due_checks()
    assert cid in read_by_b
    assert await JobRunner(queue_a, None, 3600).start_due_checks() >= 1
    with psycopg.connect(race_store[1], autocommit=True) as conn:  # a quick check: done already
        conn.execute("UPDATE index_jobs SET status = 'succeeded', finished_at = now() WHERE connection_id = %s", (cid,))

    async def stale() -> list[uuid.UUID]:  # B's sweep goes on with what it read before
        return [c for c in read_by_b if c == cid]

    monkeypatch.setattr(queue_b, "due_checks", stale)
    assert await JobRunner(queue_b, None, 3600).start_due_checks() == 0
    with psycopg.connect(race_store[1]) as conn:
        count = conn.execute("SELECT count(*) FROM index_jobs WHERE connection_id = %s", (cid,)).fetchone()
    assert count == (1,)


async def test_a_sync_request_for_a_connection_deleted_meanwhile_is_not_found(engine: AsyncEngine) -> None:
    """The API looked the connection up, then it was deleted before the job was queued."""
    with pytest.raises(NotFoundError):
        await _queue(engine).enqueue(uuid.uuid4())


async def test_a_full_request_does_not_relabel_a_check_that_a_worker_is_claiming(
    engine: AsyncEngine, race_store: tuple[str, str]
) -> None:
    """A pending ``check`` is being claimed (the worker's UPDATE is not committed yet) when a
    ``full`` sync request arrives: the run reads ``check``; the row must not say ``full``."""
    queue = _queue(engine)
    cid = await _connection(engine)
    job_id, _ = await queue.enqueue(cid, "check")
    with psycopg.connect(race_store[1]) as claimer:
        claimed = claimer.execute(CLAIM_SQL.replace(":worker", "%(worker)s"), {"worker": "w"}).fetchone()
        assert claimed is not None and claimed[0] == job_id
        request = asyncio.create_task(queue.enqueue(cid, "full"))
        await asyncio.sleep(0.3)  # the request has read 'pending' and waits for the claim's row lock
        claimer.commit()
    assert await request == (job_id, False)
    assert _job(race_store[1], job_id)["mode"] == "check"


async def test_a_worker_cut_off_from_the_store_stops_its_run_before_another_can_claim_the_job(
    engine: AsyncEngine, race_store: tuple[str, str]
) -> None:
    """Worker A loses the store (a partition: its renewals hang and fail) while the rest of the
    cluster still reaches it. Once A has not renewed for a lease's time, a reaper may take the
    job back and worker B run it: A's run must have stopped by then, not introspect the user's
    database beside B's until A's store comes back or its swap is refused."""
    forwarder = Forwarder(store_socket(race_store[1]))
    # Short libpq timeouts: A's hung renewals fail within a second, as they would in 30 s.
    engine_a = create_engine(
        f"postgresql://postgres@127.0.0.1:{forwarder.port}/sextant_races?connect_timeout=1&tcp_user_timeout=1000", 2
    )
    lease_s = 5  # the least JOB_STALE_AFTER_S allows
    queue_a, queue_b = _queue(engine_a, job_stale_after_s=lease_s), _queue(engine, job_stale_after_s=lease_s)
    job_id, _ = await queue_b.enqueue(await _connection(engine))
    jobs_a = Blocking()
    worker_a = IndexWorker(queue_a, jobs_a, "cut-off", concurrency=1, poll_interval_s=0.1, lease_s=lease_s)
    await worker_a.start()
    try:
        await _until(lambda: len(jobs_a.leases) == 1)
        forwarder.flowing.clear()
        for _ in range(300):  # B's side: wait until the lease ran out and is taken back
            if await queue_b.reap() == (1, 0):
                break
            await asyncio.sleep(0.05)
        lease_b = await queue_b.claim("b")
        b_started = time.monotonic()
        assert lease_b is not None and lease_b.job_id == job_id and lease_b.attempt == 2
        assert jobs_a.cancelled_at and jobs_a.cancelled_at[0] <= b_started, "A still ran the job when B claimed it"
    finally:
        forwarder.flowing.set()
        await worker_a.stop()
        forwarder.close()
        await engine_a.dispose()
