"""The background work of one backend process: tasks keyed by the job (or run) they carry out,
and one periodic sweep beside them. Indexing jobs and evaluation runs both live in the store;
this only holds the process's own handles so that shutdown can cancel them and say which."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")


async def await_uncancelled(work: Awaitable[T], seconds: float) -> T:
    """``await work`` for at most ``seconds`` (then ``TimeoutError``) without cancelling it:
    cancelling a query on a dead connection holds the driver for its cancel request, seconds
    more. The work ends on its own (the engine's network timeouts end it); a late failure is
    read, so that it is not logged as never retrieved."""
    task = asyncio.ensure_future(work)
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
    return await asyncio.wait_for(asyncio.shield(task), max(seconds, 0.0))


class QuietFailures:
    """Logs a failure that repeats (a store outage, at every poll) with its traceback the first
    time, then one line at most every ``every_s``, and says when it stops failing."""

    def __init__(
        self, log: logging.Logger, what: str, every_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ):
        self._clock = clock
        self._log = log
        self._what = what
        self._every_s = every_s
        self._since: float | None = None
        self._last = 0.0
        self._count = 0

    def failed(self, exc: BaseException) -> None:
        now = self._clock()
        self._count += 1
        if self._since is None:
            self._since, self._last = now, now
            self._log.error("%s failed", self._what, exc_info=exc)
        elif now - self._last >= self._every_s:
            self._last = now
            self._log.error(
                "%s still failing (%d times in %.0f s): %s", self._what, self._count, now - self._since, exc
            )

    def succeeded(self) -> None:
        if self._since is not None:
            self._log.warning("%s works again after %d failure(s)", self._what, self._count)
        self._since, self._count = None, 0


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

        failures = QuietFailures(logger, f"{self._name} sweep")

        async def forever() -> None:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    await sweep()
                except Exception as exc:  # the sweeper must outlive a passing store outage
                    failures.failed(exc)
                else:
                    failures.succeeded()

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
