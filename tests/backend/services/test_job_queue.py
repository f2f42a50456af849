"""The indexing queue in the store: claims, leases, retries, workers on and off, a worker process
alone, and replicas that see each other's index at once. A store of this module's own, so that
no other test's worker claims these jobs."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import async_sessionmaker

from backend.components.url_cipher import UrlCipher
from backend.config import (
    CryptoSettings,
    DatabaseSettings,
    EmbeddingSettings,
    IndexingSettings,
    Settings,
    resolve_secrets,
)
from backend.db.store import create_engine
from backend.main import create_app
from backend.services.index_worker import IndexWorker
from backend.services.indexing_service import WRONG_KEY
from backend.services.job_queue import JobQueue, Lease, LeaseLost
from backend.worker import ALIVE_FILE, WorkerConfigError, check, preflight
from embedding_service.config import EmbeddingServiceSettings
from embedding_service.embedder import Embedder
from embedding_service.main import create_app as create_embedding_app
from tests.conftest import (
    ROOT,
    ServerThread,
    connect,
    create_connection,
    free_port,
    migrated_store,
    register_and_login,
    wait_for_sync,
)

SCHEMA = """
CREATE TABLE authors (author_id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE books (book_id int PRIMARY KEY, author_id int REFERENCES authors, title text);
"""


@pytest.fixture(scope="module")
def queue_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``(sqlalchemy_url, libpq_dsn)`` of a migrated store for this module alone."""
    server, url, dsn = migrated_store(tmp_path_factory.mktemp("queue"), "sextant_queue")
    yield url, dsn
    del server  # kept alive until here: the store goes with it


@pytest.fixture
def make_settings(settings_factory: Callable[..., Settings], queue_store: tuple[str, str]) -> Callable[..., Settings]:
    def make(**indexing: Any) -> Settings:
        values = {"job_sweep_interval_s": 3600, "job_max_attempts": 1, "job_poll_interval_s": 0.2, **indexing}
        return settings_factory(
            database=DatabaseSettings(database_url=SecretStr(queue_store[0])), indexing=IndexingSettings(**values)
        )

    return make


def _jobs(dsn: str, cid: str) -> list[dict[str, Any]]:
    with psycopg.connect(dsn) as conn:
        cur = conn.execute(
            "SELECT id, status, worker, attempts, error FROM index_jobs WHERE connection_id = %s ORDER BY created_at",
            (cid,),
        )
        names = [c.name for c in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _queued(make_settings: Callable[..., Settings], url: str, count: int = 1) -> list[str]:
    """``count`` connections to ``url`` made through a backend without a worker: their first
    jobs wait in the queue. Returns their ids."""
    with TestClient(create_app(make_settings(worker_enabled=False))) as front:
        headers = register_and_login(front, email=f"queued-{uuid.uuid4().hex[:6]}@example.com")
        return [create_connection(front, headers, url)["id"] for _ in range(count)]


def _samples(exposition: str) -> dict[str, float]:
    """The samples of a Prometheus text exposition, by series."""
    lines = [line.rsplit(" ", 1) for line in exposition.splitlines() if line and not line.startswith("#")]
    return {series: float(value) for series, value in lines}


def _until(predicate: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_backend_without_a_worker_only_queues_and_a_backend_with_one_runs_it(
    make_settings: Callable[..., Settings], scratch_db: Callable[[str], str], queue_store: tuple[str, str]
) -> None:
    url = scratch_db(SCHEMA)
    with TestClient(create_app(make_settings(worker_enabled=False))) as front:
        headers = register_and_login(front, email=f"front-{uuid.uuid4().hex[:6]}@example.com")
        cid = create_connection(front, headers, url)["id"]
        time.sleep(1.5)  # several poll intervals of a worker, had there been one
        waiting = front.get(f"/api/connections/{cid}/sync", headers=headers).json()
        assert (waiting["status"], waiting["attempts"], waiting["waiting_for_worker"]) == ("pending", 0, False)
        # Due for two minutes and still not taken: the status says no worker is taking it.
        with psycopg.connect(queue_store[1], autocommit=True) as conn:
            conn.execute(
                "UPDATE index_jobs SET run_after = now() - interval '2 minutes' WHERE connection_id = %s", (cid,)
            )
        assert front.get(f"/api/connections/{cid}/sync", headers=headers).json()["waiting_for_worker"] is True
        # The operator sees it too: the queue's gauges (SextantIndexQueueStuck fires past 10 minutes).
        scraped = _samples(front.get("/metrics").text)
        assert scraped['sextant_index_queue_jobs{status="pending"}'] == 1
        assert 120 <= scraped["sextant_index_queue_oldest_due_seconds"] < 180
        with TestClient(create_app(make_settings(worker_name="indexer"))):
            status = wait_for_sync(front, headers, cid)
    assert (status["status"], status["attempts"], status["waiting_for_worker"]) == ("succeeded", 1, False)
    assert [(j["worker"], j["attempts"]) for j in _jobs(queue_store[1], cid)] == [("indexer", 1)]


async def test_two_workers_never_claim_the_same_job(
    make_settings: Callable[..., Settings], scratch_db: Callable[[str], str], queue_store: tuple[str, str]
) -> None:
    created = set(_queued(make_settings, scratch_db(SCHEMA), 8))
    settings = IndexingSettings()
    engines = [create_engine(queue_store[0], 4) for _ in range(2)]
    queues = [JobQueue(async_sessionmaker(e, expire_on_commit=False), settings) for e in engines]
    try:
        # Eight workers on two engines (two "hosts"), each claiming until the queue is empty.
        async def drain(queue: JobQueue, name: str) -> list[uuid.UUID]:
            taken = []
            while (lease := await queue.claim(name)) is not None:
                taken.append(lease.job_id)
            return taken

        claims = await asyncio.gather(*(drain(queues[i % 2], f"w{i}") for i in range(8)))
    finally:
        for engine in engines:
            await engine.dispose()
    taken = [job for worker in claims for job in worker]
    assert len(taken) == len(set(taken))
    with psycopg.connect(queue_store[1]) as conn:
        rows = conn.execute(
            "SELECT connection_id::text, status, attempts FROM index_jobs WHERE id = ANY(%s)", (taken,)
        ).fetchall()
    assert {r[0] for r in rows} >= created and all(r[1:] == ("running", 1) for r in rows)
    with psycopg.connect(queue_store[1], autocommit=True) as conn:  # leave nothing running behind
        conn.execute("UPDATE index_jobs SET status = 'failed' WHERE id = ANY(%s)", (taken,))


async def test_an_expired_lease_is_taken_back_and_its_old_holder_can_no_longer_write(
    make_settings: Callable[..., Settings], scratch_db: Callable[[str], str], queue_store: tuple[str, str]
) -> None:
    [cid] = _queued(make_settings, scratch_db(SCHEMA))
    engine = create_engine(queue_store[0], 2)
    queue = JobQueue(
        async_sessionmaker(engine, expire_on_commit=False),
        IndexingSettings(job_stale_after_s=30, job_max_attempts=3, job_retry_backoff_s=0),
    )
    try:
        stalled = await queue.claim("stalled")
        assert stalled is not None and await queue.beat(stalled)
        assert await queue.reap() == (0, 0)  # a fresh lease stays
        with psycopg.connect(queue_store[1], autocommit=True) as conn:
            conn.execute(
                "UPDATE index_jobs SET heartbeat_at = now() - interval '1 minute' WHERE id = %s", (stalled.job_id,)
            )
        assert await queue.reap() == (1, 0)
        job = _jobs(queue_store[1], cid)[-1]
        assert job["status"] == "pending" and job["worker"] is None and "stopped (1 time(s))" in job["error"]
        fresh = await queue.claim("fresh")
        assert fresh is not None and fresh.job_id == stalled.job_id and fresh.attempt == 2
        # The stalled worker wakes up: none of its writes lands.
        assert not await queue.beat(stalled)
        with pytest.raises(LeaseLost):
            await queue.progress(stalled, 5, 10)
        await queue.fail(stalled, "stale failure")
        assert await queue.retry_or_fail(stalled, "stale retry") == "lost"
        job = _jobs(queue_store[1], cid)[-1]
        assert (job["status"], job["worker"], job["attempts"]) == ("running", "fresh", 2)
        await queue.fail(fresh, "done with it")
        assert _jobs(queue_store[1], cid)[-1]["status"] == "failed"
    finally:
        await engine.dispose()


def test_a_transient_failure_is_retried_until_the_embedding_service_returns(
    make_settings: Callable[..., Settings],
    scratch_db: Callable[[str], str],
    queue_store: tuple[str, str],
    embedder: Embedder,
) -> None:
    url = scratch_db(SCHEMA)
    port = free_port()  # nothing listens here until the service starts below
    settings = make_settings(job_max_attempts=6, job_retry_backoff_s=0.5).model_copy(
        update={"embedding": EmbeddingSettings(embedding_url=f"http://127.0.0.1:{port}")}
    )
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client, email=f"retry-{uuid.uuid4().hex[:6]}@example.com")
        cid = create_connection(client, headers, url)["id"]
        _until(lambda: _jobs(queue_store[1], cid)[0]["attempts"] >= 2)
        job = _jobs(queue_store[1], cid)[0]
        assert job["status"] in ("pending", "running") and "embedding service is unreachable" in job["error"]
        server = ServerThread(create_embedding_app(EmbeddingServiceSettings(), embedder), port).start()
        try:
            status = wait_for_sync(client, headers, cid)
        finally:
            server.stop()
    assert status["status"] == "succeeded" and status["error"] is None
    assert 2 <= _jobs(queue_store[1], cid)[0]["attempts"] <= 6


def test_a_job_fails_for_good_when_its_attempts_are_used_up(
    make_settings: Callable[..., Settings], scratch_db: Callable[[str], str], queue_store: tuple[str, str]
) -> None:
    url = scratch_db(SCHEMA)
    settings = make_settings(job_max_attempts=2, job_retry_backoff_s=0).model_copy(
        update={"embedding": EmbeddingSettings(embedding_url=f"http://127.0.0.1:{free_port()}")}
    )
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client, email=f"used-{uuid.uuid4().hex[:6]}@example.com")
        cid = create_connection(client, headers, url)["id"]
        status = wait_for_sync(client, headers, cid)
    assert status["status"] == "failed" and "embedding service is unreachable" in status["error"]
    assert not status["error"].startswith("Retrying")
    assert _jobs(queue_store[1], cid)[0]["attempts"] == 2


def test_a_worker_process_alone_runs_the_queue_and_stops_cleanly_on_sigterm(
    make_settings: Callable[..., Settings],
    scratch_db: Callable[[str], str],
    queue_store: tuple[str, str],
    embedding_server: ServerThread,
    tmp_path: Path,
) -> None:
    url = scratch_db(SCHEMA)
    settings = make_settings(worker_enabled=False)
    with TestClient(create_app(settings)) as front:
        headers = register_and_login(front, email=f"solo-{uuid.uuid4().hex[:6]}@example.com")
        cid = create_connection(front, headers, url)["id"]
        env = {
            **os.environ, "DATABASE_URL": queue_store[0], "EMBEDDING_URL": embedding_server.url,
            # The backend's secrets.json: the worker reads connection URLs with the same key.
            "SEXTANT_DATA_DIR": str(settings.data_dir), "WORKER_NAME": "solo", "JOB_POLL_INTERVAL_S": "0.2",
            "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path),  # where its liveness file goes
        }  # fmt: skip
        env.pop("WORKER_ENABLED", None)
        worker = subprocess.Popen([sys.executable, "-m", "backend.worker"], cwd=tmp_path, env=env)
        try:
            status = wait_for_sync(front, headers, cid, timeout=90)
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(timeout=30)
    assert status["status"] == "succeeded"
    assert [j["worker"] for j in _jobs(queue_store[1], cid)] == ["solo"]
    assert code == 0
    assert (tmp_path / ALIVE_FILE.name).is_file()  # touched while its claims reached the queue


def test_the_worker_refuses_settings_it_cannot_work_with(tmp_path: Path) -> None:
    with pytest.raises(WorkerConfigError, match="DATABASE_URL"):
        check(Settings(data_dir=tmp_path))
    with pytest.raises(WorkerConfigError, match="DATABASE_URL"):  # `DATABASE_URL=` in .env
        check(Settings(data_dir=tmp_path, database=DatabaseSettings.model_validate({"database_url": " "})))
    store = DatabaseSettings(database_url=SecretStr("postgresql://store/sextant"))
    with pytest.raises(WorkerConfigError, match="WORKER_ENABLED"):
        check(Settings(data_dir=tmp_path, database=store, indexing=IndexingSettings(worker_enabled=False)))
    with pytest.raises(WorkerConfigError, match="ENCRYPTION_KEY"):
        check(Settings(data_dir=tmp_path, database=store))


def test_a_reindex_through_one_replica_is_seen_by_another_at_once(
    make_settings: Callable[..., Settings], scratch_db: Callable[[str], str]
) -> None:
    url = scratch_db(SCHEMA)
    with (
        TestClient(create_app(make_settings(worker_name="replica-a"))) as a,
        TestClient(create_app(make_settings(worker_name="replica-b"))) as b,
    ):
        headers = register_and_login(a, email=f"replicas-{uuid.uuid4().hex[:6]}@example.com")
        cid = connect(a, headers, url)["id"]

        def search(client: TestClient) -> list[str]:
            found = client.post(f"/api/connections/{cid}/search", json={"query": "reviews of books"}, headers=headers)
            assert found.status_code == 200, found.text
            return [hit["object"] for hit in found.json()["results"]]

        assert "reviews" not in str(search(b))  # b's in-memory index of the first version is warm now
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE reviews (review_id int PRIMARY KEY, book_id int REFERENCES books, body text)")
        assert a.post(f"/api/connections/{cid}/sync", headers=headers).status_code == 202
        assert wait_for_sync(a, headers, cid)["status"] == "succeeded"
        assert any("reviews" in name for name in search(b))
        schema = b.get(f"/api/connections/{cid}/schema", headers=headers).json()
        assert "reviews" in str(schema)


async def test_a_worker_without_the_backends_key_or_store_does_not_start(
    make_settings: Callable[..., Settings], scratch_db: Callable[[str], str], queue_store: tuple[str, str]
) -> None:
    settings = make_settings()
    [cid] = _queued(make_settings, scratch_db(SCHEMA))
    right = UrlCipher(resolve_secrets(settings).encryption_key.get_secret_value())
    engine = create_engine(queue_store[0], 1)
    try:
        await preflight(engine, queue_store[0], right)
        with pytest.raises(WorkerConfigError, match="ENCRYPTION_KEY does not decrypt the connections"):
            await preflight(engine, queue_store[0], UrlCipher(Fernet.generate_key().decode()))
    finally:
        await engine.dispose()
    nowhere = f"postgresql://sextant:s3cret-pw@127.0.0.1:{free_port()}/sextant"
    engine = create_engine(nowhere, 1)
    try:
        with pytest.raises(WorkerConfigError, match="does not answer") as refused:
            await preflight(engine, nowhere, right)
    finally:
        await engine.dispose()
    assert "s3cret-pw" not in str(refused.value)
    with psycopg.connect(queue_store[1], autocommit=True) as conn:  # nobody is to run it
        conn.execute("UPDATE index_jobs SET status = 'failed' WHERE connection_id = %s", (cid,))


def test_a_worker_with_another_key_gives_the_job_back_saying_why(
    make_settings: Callable[..., Settings], scratch_db: Callable[[str], str], queue_store: tuple[str, str]
) -> None:
    [cid] = _queued(make_settings, scratch_db(SCHEMA))
    other_key = CryptoSettings(encryption_key=SecretStr(Fernet.generate_key().decode()))
    with TestClient(create_app(make_settings(job_max_attempts=2, job_retry_backoff_s=0).model_copy(
        update={"crypto": other_key}
    ))):  # fmt: skip
        _until(lambda: _jobs(queue_store[1], cid)[0]["status"] == "failed")
    job = _jobs(queue_store[1], cid)[0]
    assert job["attempts"] == 2 and job["error"] == WRONG_KEY


class _SlowClaims(JobQueue):
    """The real queue, whose claims take a second to come back after they commit."""

    claimed: Lease | None = None

    async def claim(self, worker: str) -> Lease | None:
        lease = await super().claim(worker)
        self.claimed = lease
        await asyncio.sleep(1)
        return lease


class _NoRuns:
    async def run(self, lease: Lease) -> None:
        raise AssertionError(f"job {lease.job_id} was run, not given back")


async def test_a_worker_stopped_while_its_claim_commits_gives_that_job_back(
    make_settings: Callable[..., Settings], scratch_db: Callable[[str], str], queue_store: tuple[str, str]
) -> None:
    _queued(make_settings, scratch_db(SCHEMA))
    engine = create_engine(queue_store[0], 2)
    queue = _SlowClaims(async_sessionmaker(engine, expire_on_commit=False), IndexingSettings(job_max_attempts=3))
    worker = IndexWorker(queue, _NoRuns(), "stopped-mid-claim", 1, poll_interval_s=10, lease_s=30)
    try:
        await worker.start()
        await asyncio.sleep(0.5)  # the claim has committed; its answer is still on the way
        assert queue.claimed is not None
        with psycopg.connect(queue_store[1]) as conn:
            held = conn.execute(
                "SELECT status, worker FROM index_jobs WHERE id = %s", (queue.claimed.job_id,)
            ).fetchone()
        assert held == ("running", "stopped-mid-claim")
        await worker.stop()
    finally:
        await engine.dispose()
    with psycopg.connect(queue_store[1], autocommit=True) as conn:
        back = conn.execute("SELECT status, worker FROM index_jobs WHERE id = %s", (queue.claimed.job_id,)).fetchone()
        conn.execute("UPDATE index_jobs SET status = 'failed' WHERE id = %s", (queue.claimed.job_id,))
    assert back == ("pending", None)


async def test_a_running_job_that_never_beat_is_taken_back_by_its_start(
    make_settings: Callable[..., Settings], scratch_db: Callable[[str], str], queue_store: tuple[str, str]
) -> None:
    [cid] = _queued(make_settings, scratch_db(SCHEMA))
    engine = create_engine(queue_store[0], 1)
    queue = JobQueue(async_sessionmaker(engine, expire_on_commit=False), IndexingSettings(job_stale_after_s=30))
    try:
        lease = await queue.claim("never-beat")
        assert lease is not None
        with psycopg.connect(queue_store[1], autocommit=True) as conn:
            conn.execute(
                "UPDATE index_jobs SET heartbeat_at = NULL, started_at = now() - interval '1 minute' WHERE id = %s",
                (lease.job_id,),
            )
        assert await queue.reap() == (1, 0)
    finally:
        await engine.dispose()
    job = _jobs(queue_store[1], cid)[0]
    assert (job["status"], job["worker"]) == ("pending", None)
    with psycopg.connect(queue_store[1], autocommit=True) as conn:  # nobody is to run it
        conn.execute("UPDATE index_jobs SET status = 'failed' WHERE connection_id = %s", (cid,))
