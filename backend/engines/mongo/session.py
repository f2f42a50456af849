"""How Sextant opens a client on a user's MongoDB: the one opener of the connector and the runner.

Time is bounded everywhere a server could stall: server selection and connecting by
``connect_timeout_s``, every socket read by the statement limit plus a margin (the server's
own ``maxTimeMS`` should end a command first), and no write is ever retried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pymongo import AsyncMongoClient

from backend.engines.base import QueryLimits

# How much longer than the statement limit a socket read may wait for the server's answer.
SOCKET_MARGIN_MS = 5_000


@asynccontextmanager
async def mongo_client(url: str, limits: QueryLimits, appname: str) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    """A client for ``url`` bounded by ``limits``, closed on exit.

    pymongo raises ``InvalidURI`` / ``ConfigurationError`` (whose text may quote the URL) for a
    URL it cannot use; callers hide the password before showing them.
    """
    timeout_ms = limits.connect_timeout_s * 1000
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        url,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms, limits.statement_timeout_ms + SOCKET_MARGIN_MS),
        appname=appname,
        retryWrites=False,
    )
    try:
        yield client
    finally:
        await client.close()
