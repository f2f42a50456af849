"""Runs indexing jobs as background tasks of this process, sweeps jobs left by dead ones, and
starts the scheduled change checks that are due.

The jobs themselves live in Postgres, so any replica can report on them; a job whose
runner died stops beating and the sweeper of any replica marks it failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from backend.schemas.connections import SyncMode
from backend.services.indexing_service import IndexingService

logger = logging.getLogger(__name__)


class JobRunner:
    def __init__(self, indexing: IndexingService, sweep_interval_s: float):
        self._indexing = indexing
        self._sweep_interval_s = sweep_interval_s
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        swept = await self._indexing.fail_stale_jobs()
        if swept:
            logger.warning("marked %d interrupted indexing job(s) as failed", swept)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="job-sweeper")

    async def start_job(self, connection_id: uuid.UUID, mode: SyncMode = "full") -> tuple[uuid.UUID, bool]:
        """Queue an index run of the connection and run it here; ``(job_id, created)``.

        A connection with an active job keeps it (``created`` False) and nothing new starts;
        a ``full`` request turns a still-pending ``check`` into a full run.
        """
        job_id, created = await self._indexing.enqueue(connection_id, mode)
        if created:
            self._submit(job_id)
        return job_id, created

    def _submit(self, job_id: uuid.UUID) -> None:
        if job_id in self._tasks:
            return
        task = asyncio.create_task(self._indexing.run(job_id), name=f"index-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval_s)
            try:
                await self._indexing.fail_stale_jobs()
                await self.start_due_checks()
            except Exception:  # the sweeper must outlive a passing store outage
                logger.exception("job sweep failed")

    async def start_due_checks(self) -> int:
        """Start a ``check`` job for every connection whose schedule is due; returns how many."""
        started = 0
        for connection_id in await self._indexing.due_checks():
            _, created = await self.start_job(connection_id, "check")
            started += created
        return started

    async def stop(self) -> None:
        if self._sweeper:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        running = list(self._tasks)
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
        await self._indexing.fail_jobs(running, "Interrupted: the backend shut down while indexing")
