"""Queues indexing jobs, wakes this process's worker (when it has one), and runs the periodic
sweep: expired leases are taken back, and the scheduled change checks that are due start.

The queue lives in Postgres (``JobQueue``), so any replica can queue, any worker can run and
any sweeper can take back a job whose worker died; the sweep is safe to run everywhere at once.
"""

from __future__ import annotations

import logging
import uuid

from backend.schemas.connections import SyncMode
from backend.services.background_tasks import BackgroundTasks
from backend.services.index_worker import IndexWorker
from backend.services.job_queue import JobQueue, QueueState

logger = logging.getLogger(__name__)


class JobRunner:
    def __init__(self, queue: JobQueue, worker: IndexWorker | None, sweep_interval_s: float):
        self._queue = queue
        self._worker = worker
        self._sweep_interval_s = sweep_interval_s
        self._background = BackgroundTasks("index")

    async def start(self) -> None:
        await self.reap()
        if self._worker is not None:
            await self._worker.start()
        self._background.start_sweeper(self._sweep, self._sweep_interval_s)

    async def start_job(self, connection_id: uuid.UUID, mode: SyncMode = "full") -> tuple[uuid.UUID, bool]:
        """Queue an index run of the connection; ``(job_id, created)``. A worker takes it: this
        process's at once when it has one, else the next idle worker's poll.

        A connection with an active job keeps it (``created`` False) and nothing new starts;
        a ``full`` request turns a still-pending ``check`` into a full run.
        """
        job_id, created = await self._queue.enqueue(connection_id, mode)
        if created and self._worker is not None:
            self._worker.wake()
        return job_id, created

    async def reap(self) -> tuple[int, int]:
        """Take back the jobs whose lease expired; ``(requeued, failed)``."""
        requeued, failed = await self._queue.reap()
        if requeued or failed:
            logger.warning("took back %d indexing job(s) of stopped workers; %d failed for good", requeued, failed)
        if requeued and self._worker is not None:
            self._worker.wake()
        return requeued, failed

    async def _sweep(self) -> None:
        await self.reap()
        await self.start_due_checks()

    async def start_due_checks(self) -> int:
        """Queue a ``check`` job for every connection whose schedule is due; returns how many."""
        started = 0
        for connection_id in await self._queue.due_checks():
            # Checked again under the connection's lock: sweeps of several replicas race.
            if await self._queue.enqueue_due_check(connection_id) is not None:
                started += 1
                if self._worker is not None:
                    self._worker.wake()
        return started

    async def queue_state(self) -> QueueState:
        """The store's queue (all replicas' jobs), for the metrics."""
        return await self._queue.state()

    async def stop(self) -> None:
        await self._background.stop()
        if self._worker is not None:
            await self._worker.stop()
