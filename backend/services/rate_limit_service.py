"""Sliding-window rate limits kept in the store, so that every backend replica counts the same events.

An attempt is *charged* before the work it limits starts: in one transaction, under an
advisory lock per bucket, the window is counted and the event recorded. Concurrent attempts
therefore queue on the lock instead of all reading the same count, and at most ``limit``
attempts per window ever reach the expensive part (bcrypt, an LLM call, a connection test).

Logins only count when they fail, so their charge is *provisional*: a pending event that the
caller settles (a failure, it stays) or refunds (a success, it goes). A bucket that is full
only because of pending events is not a refusal yet: the charge waits for them to settle, so
eight colleagues behind one office address logging in at once all get in, while forty wrong
passwords still reach bcrypt ``limit`` times.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg.errors import LockNotAvailable
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.errors import TooManyRequestsError

# Events older than this are of no window's concern and are cleaned up as new ones arrive.
KEEP_S = 2 * 3600
# A pending event older than this belongs to an attempt whose process died: it counts as settled.
PENDING_TTL_S = 30
# How long a charge waits for pending events of a full bucket to settle before it gives up.
PENDING_WAIT_S = 5.0
# A bucket lock held longer than this (a stuck replica, a slow store) refuses, not queues.
LOCK_TIMEOUT = "2s"

# Both bounds in one round trip (set_config(..., true) is SET LOCAL).
_BOUNDS = text(
    f"SELECT set_config('lock_timeout', '{LOCK_TIMEOUT}', true), set_config('statement_timeout', '5s', true)"
)
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:bucket, 7201))")
_IN_WINDOW = "bucket = :bucket AND at > clock_timestamp() - make_interval(secs => :window)"
# Events in the window, and how many of them are still pending (and young enough to settle).
_COUNT = text(
    "SELECT count(*), count(*) FILTER (WHERE NOT settled "
    "AND at > clock_timestamp() - make_interval(secs => :pending_ttl)) "
    f"FROM rate_events WHERE {_IN_WINDOW}"
)
# How long until the bucket holds fewer than ``limit`` events: the limit-th newest one leaves the window.
_WAIT = text(
    "SELECT extract(epoch FROM at + make_interval(secs => :window) - clock_timestamp()) "
    f"FROM rate_events WHERE {_IN_WINDOW} ORDER BY at DESC OFFSET :skip LIMIT 1"
)
_RECORD = text(
    "INSERT INTO rate_events (bucket, at, settled) VALUES (:bucket, clock_timestamp(), :settled) RETURNING id"
)
_FORGET = text("DELETE FROM rate_events WHERE at < clock_timestamp() - make_interval(secs => :keep)")


def address_bucket(client_ip: str) -> str:
    """The part of a bucket name that stands for a client address: an IPv6 client is its /64,
    since one subscriber holds a whole /64 and could otherwise rotate through it."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(frozen=True)
class Charge:
    """The events one granted attempt recorded; ``settle`` or ``refund`` ends a provisional one."""

    event_ids: tuple[int, ...]


class _Full(Exception):
    def __init__(self, pending: bool, wait_s: float):
        self.pending = pending
        self.wait_s = wait_s


class RateLimitService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], concurrency: int):
        """``concurrency``: charges in flight at once in this process, kept below the store pool
        so that a flood of attempts cannot take every connection other requests need."""
        self._sessions = sessions
        self._slots = asyncio.Semaphore(concurrency)

    async def charge(
        self, buckets: Sequence[str], limit: int, window_s: int, refusal: str, *, provisional: bool = False
    ) -> Charge:
        """Record one attempt in every bucket, or none when any bucket already holds ``limit`` events.

        Raises ``TooManyRequestsError(refusal)`` with the seconds until every bucket has room.
        Atomic across concurrent callers and replicas: the buckets are locked (in a fixed order,
        so two charges over the same buckets cannot deadlock) for the count and the insert.
        ``provisional`` records pending events that the caller must ``settle`` or ``refund``.
        """
        ordered = sorted(set(buckets))
        deadline = time.monotonic() + PENDING_WAIT_S
        pause = 0.05
        while True:
            try:
                return await self._try_charge(ordered, limit, window_s, provisional)
            except _Full as full:
                if not full.pending or time.monotonic() + pause > deadline:
                    raise TooManyRequestsError(refusal, max(1, math.ceil(full.wait_s))) from None
            except OperationalError as exc:
                if not isinstance(exc.orig, LockNotAvailable):
                    raise
                raise TooManyRequestsError(refusal, 1) from None
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)

    async def _try_charge(self, ordered: list[str], limit: int, window_s: int, provisional: bool) -> Charge:
        async with self._slots, self._sessions() as session, session.begin():
            await session.execute(_BOUNDS)
            for bucket in ordered:
                await session.execute(_LOCK, {"bucket": bucket})
            window = {"window": window_s, "pending_ttl": PENDING_TTL_S}
            for bucket in ordered:
                count, pending = (await session.execute(_COUNT, {"bucket": bucket, **window})).one()
                if count >= limit:
                    if pending:
                        raise _Full(pending=True, wait_s=1)
                    wait = await session.scalar(_WAIT, {"bucket": bucket, **window, "skip": limit - 1})
                    raise _Full(pending=False, wait_s=float(wait or 1))
            ids = [
                (await session.execute(_RECORD, {"bucket": bucket, "settled": not provisional})).scalar_one()
                for bucket in ordered
            ]
            await session.execute(_FORGET, {"keep": KEEP_S})
        return Charge(tuple(ids))

    async def settle(self, charge: Charge) -> None:
        """The provisional attempt of ``charge`` counts (a failed login)."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                text("UPDATE rate_events SET settled = true WHERE id = ANY(:ids)"), {"ids": list(charge.event_ids)}
            )

    async def refund(self, charge: Charge) -> None:
        """Take back the events of ``charge`` (the attempt turned out not to count)."""
        async with self._sessions() as session, session.begin():
            await session.execute(text("DELETE FROM rate_events WHERE id = ANY(:ids)"), {"ids": list(charge.event_ids)})

    async def clear(self, bucket: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(text("DELETE FROM rate_events WHERE bucket = :bucket"), {"bucket": bucket})
