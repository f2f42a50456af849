"""Runs indexing jobs as background tasks of this process, sweeps jobs left by dead ones, and
starts the scheduled change checks that are due.

The jobs themselves live in Postgres, so any replica can report on them; a job whose
runner died stops beating and the sweeper of any replica marks it failed.
"""

from __future__ import annotations

import logging
import uuid

from backend.schemas.connections import SyncMode
from backend.services.background_tasks import BackgroundTasks
from backend.services.indexing_service import IndexingService

logger = logging.getLogger(__name__)


class JobRunner:
    def __init__(self, indexing: IndexingService, sweep_interval_s: float):
        self._indexing = indexing
        self._sweep_interval_s = sweep_interval_s
        self._background = BackgroundTasks("index")

    async def start(self) -> None:
        swept = await self._indexing.fail_stale_jobs()
        if swept:
            logger.warning("marked %d interrupted indexing job(s) as failed", swept)
        self._background.start_sweeper(self._sweep, self._sweep_interval_s)

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
        self._background.submit(job_id, lambda: self._indexing.run(job_id))

    async def _sweep(self) -> None:
        await self._indexing.fail_stale_jobs()
        await self.start_due_checks()

    async def start_due_checks(self) -> int:
        """Start a ``check`` job for every connection whose schedule is due; returns how many."""
        started = 0
        for connection_id in await self._indexing.due_checks():
            _, created = await self.start_job(connection_id, "check")
            started += created
        return started

    async def stop(self) -> None:
        running = await self._background.stop()
        await self._indexing.fail_jobs(running, "Interrupted: the backend shut down while indexing")
