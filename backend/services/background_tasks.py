"""The background work of one backend process: tasks keyed by the job (or run) they carry out,
and one periodic sweep beside them. Indexing jobs and evaluation runs both live in the store;
this only holds the process's own handles so that shutdown can cancel them and say which."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class BackgroundTasks:
    def __init__(self, name: str):
        self._name = name
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        """How many tasks run now."""
        return len(self._tasks)

    def start_sweeper(self, sweep: Callable[[], Awaitable[object]], interval_s: float) -> None:
        """Run ``sweep`` every ``interval_s``; a failed sweep is logged and the next one still runs."""

        async def forever() -> None:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    await sweep()
                except Exception:  # the sweeper must outlive a passing store outage
                    logger.exception("%s sweep failed", self._name)

        self._sweeper = asyncio.create_task(forever(), name=f"{self._name}-sweeper")

    def submit(self, key: uuid.UUID, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start ``work()`` as the task of ``key``, unless one runs for it already."""
        if key in self._tasks:
            return
        task = asyncio.create_task(work(), name=f"{self._name}-{key}")
        self._tasks[key] = task
        # Only this task's entry: a task submitted for the same key after this one was cancelled stays.
        task.add_done_callback(lambda done: self._tasks.pop(key) if self._tasks.get(key) is done else None)

    async def cancel(self, key: uuid.UUID) -> None:
        """Cancel ``key``'s task, if this process runs it, and wait for it to end."""
        task = self._tasks.get(key)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if self._tasks.get(key) is task:  # gone, whatever order the done callbacks run in
                del self._tasks[key]

    async def stop(self) -> list[uuid.UUID]:
        """Cancel the sweeper and every task; the keys of the tasks that were still running."""
        if self._sweeper:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        running = list(self._tasks)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return running
