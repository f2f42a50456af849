"""A worker of the indexing queue: claims due jobs up to its concurrency, runs each under a lease
it renews, and gives its jobs back when it stops. Any number of workers, in backends or in
``python -m backend.worker`` processes, share one queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Protocol

from backend.services.background_tasks import BackgroundTasks, QuietFailures, await_uncancelled
from backend.services.job_queue import JobQueue, Lease

logger = logging.getLogger(__name__)


class JobRun(Protocol):
    async def run(self, lease: Lease) -> None:
        """Run the leased job to an end state; never raises for a job-level failure."""


class IndexWorker:
    def __init__(
        self,
        queue: JobQueue,
        jobs: JobRun,
        name: str,
        concurrency: int,
        poll_interval_s: float,
        lease_s: float,
    ):
        self.name = name
        self._queue = queue
        self._jobs = jobs
        self._concurrency = concurrency
        self._poll_interval_s = poll_interval_s
        self._lease_s = lease_s
        # Renewed four times per lease: three beats may be lost to a slow store before it expires.
        self._beat_every_s = lease_s / 4
        self._tasks = BackgroundTasks(f"worker-{name}")
        self._claim_failures = QuietFailures(logger, f"worker {name}: claiming a job")
        self._leases: dict[uuid.UUID, Lease] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._claiming: asyncio.Future[Lease | None] | None = None
        # When the claim loop last reached the queue (``time.monotonic``): a claim, or a probe
        # while every slot is busy. What a liveness check reads.
        self.last_poll_ok = time.monotonic()

    async def start(self) -> None:
        """Queue again what a dead process of this name held, then start claiming."""
        recovered = await self._queue.recover(self.name)
        if recovered:
            logger.warning("worker %s queued %d job(s) of its previous run again", self.name, recovered)
        self._loop = asyncio.create_task(self._claim_forever(), name=f"worker-{self.name}")

    def wake(self) -> None:
        """Look for work now (a job was queued here), instead of at the next poll."""
        self._wake.set()

    async def _claim_forever(self) -> None:
        while True:
            self._wake.clear()
            await self._claim_while_free()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)

    async def _claim_while_free(self) -> None:
        if len(self._tasks) >= self._concurrency:
            # Busy with long jobs is alive: no claim to make, so prove the queue answers.
            try:
                await self._queue.ping()
            except Exception as exc:  # the worker must outlive a passing store outage
                self._claim_failures.failed(exc)
                return
            self._claim_failures.succeeded()
            self.last_poll_ok = time.monotonic()
            return
        while len(self._tasks) < self._concurrency:
            sent = time.monotonic()
            # Shielded: a stop while the claim commits must still learn the lease, to give it back.
            self._claiming = asyncio.ensure_future(self._queue.claim(self.name))
            try:
                lease = await asyncio.shield(self._claiming)
            except Exception as exc:  # the worker must outlive a passing store outage
                self._claiming = None
                self._claim_failures.failed(exc)
                return
            self._claiming = None  # from here the lease is in self._leases
            self._claim_failures.succeeded()
            self.last_poll_ok = time.monotonic()
            if lease is None:
                return
            if lease.job_id in self._leases:
                # An older attempt of this job still runs here: its lease was taken back while
                # the store was out of reach, so it can write nothing. Stop it, run this one.
                logger.warning("worker %s claimed job %s again; stopping its stale run", self.name, lease.job_id)
                await self._tasks.cancel(lease.job_id)
            self._leases[lease.job_id] = lease
            held_until = sent + self._lease_s
            self._tasks.submit(lease.job_id, lambda lease=lease, until=held_until: self._run(lease, until))  # type: ignore[misc]

    async def _run(self, lease: Lease, held_until: float) -> None:
        """Run the leased job and renew the lease. ``held_until`` (``time.monotonic``): the store
        cannot take the lease back before then, as it is counted from when the claim (or the last
        renewal the store answered) was sent. A run not renewed by then stops: from that moment
        a reaper may queue the job again and another worker run it."""
        run = asyncio.create_task(self._jobs.run(lease))
        try:
            while True:
                wait = min(self._beat_every_s, held_until - time.monotonic())
                done, _ = await asyncio.wait({run}, timeout=max(wait, 0.0))
                if done:
                    if not run.cancelled() and run.exception() is not None:
                        # The job's own end failed too (the store went away): the lease runs out
                        # and a reaper queues it again. The type only: the text may quote rows.
                        logger.error(
                            "worker %s: job %s ended without a state (%s)",
                            self.name, lease.job_id, type(run.exception()).__name__,
                        )  # fmt: skip
                    return
                if time.monotonic() >= held_until:
                    logger.warning(
                        "worker %s could not renew its lease on job %s in time; stopping that run",
                        self.name,
                        lease.job_id,
                    )
                    return  # the run is cancelled below
                sent = time.monotonic()
                renewed = await self._beat(lease, held_until - sent)
                if renewed is False:
                    logger.warning("worker %s lost its lease on job %s; stopping that run", self.name, lease.job_id)
                    return
                if renewed:
                    held_until = sent + self._lease_s
        finally:
            if not run.done():  # a lost lease, or this task was cancelled (shutdown): the run goes with it
                run.cancel()
                await asyncio.gather(run, return_exceptions=True)
            if self._leases.get(lease.job_id) == lease:  # not a newer attempt's, claimed since
                del self._leases[lease.job_id]
            self._wake.set()  # a slot is free

    async def _beat(self, lease: Lease, within: float) -> bool | None:
        """Renew the lease: True when renewed, False when it is gone, None when the store did not
        answer within ``within`` seconds (the run goes on until its lease may have run out)."""
        try:
            return await await_uncancelled(self._queue.beat(lease), within)
        except TimeoutError:
            logger.warning("worker %s: the store did not answer the renewal of job %s", self.name, lease.job_id)
        except Exception:  # an unreachable store
            logger.exception("worker %s could not renew its lease on job %s", self.name, lease.job_id)
        return None

    async def _claim_cut_off_by_stop(self) -> Lease | None:
        """The lease of a claim that was in flight when the loop was cancelled, once it ends."""
        claiming = self._claiming
        if claiming is None:
            return None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(claiming), self._lease_s)
        if claiming.done() and not claiming.cancelled() and claiming.exception() is None:
            return claiming.result()
        return None

    async def stop(self) -> None:
        """Stop claiming, cancel the running jobs and give them back to the queue."""
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
        leases = dict(self._leases)
        running = await self._tasks.stop()
        given_back = [leases[key] for key in running if key in leases]
        claimed = await self._claim_cut_off_by_stop()
        if claimed is not None and claimed.job_id not in leases:
            given_back.append(claimed)
        try:
            await self._queue.release(given_back)
        except Exception:  # the store is gone too: the leases run out and a reaper takes them back
            logger.exception("worker %s could not give back %d job(s)", self.name, len(given_back))
        else:
            logger.info("worker %s stopped; gave %d running job(s) back to the queue", self.name, len(given_back))
