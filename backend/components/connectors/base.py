"""The ``Connector`` seam: one adapter per kind of user database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from backend.schemas.schema_snapshot import SchemaSnapshot

ProgressCallback = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class IntrospectOptions:
    sample_rows: int = 3
    value_max_chars: int = 200
    distinct_limit: int = 20
    distinct_scan_rows: int = 10_000
    statement_timeout_ms: int = 15_000
    connect_timeout_s: int = 5
    mongo_sample_size: int = 100


class ConnectorError(Exception):
    """The user database refused or failed; ``str(exc)`` is safe to show (no secrets)."""


class Connector(Protocol):
    kind: str

    async def test(self) -> str:
        """Connect and return the server version; raise ``ConnectorError`` on any failure."""
        ...

    async def introspect(self, progress: ProgressCallback | None = None) -> SchemaSnapshot:
        """Read the structure and a few samples, read-only; raise ``ConnectorError`` on failure."""
        ...
