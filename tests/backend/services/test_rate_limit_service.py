"""The store-backed limiter itself: counts, waits, refunds, and atomicity under concurrency."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from backend.db.store import create_engine
from backend.errors import TooManyRequestsError
from backend.services.rate_limit_service import RateLimitService, address_bucket


@pytest.fixture
async def limits(store_url: str) -> AsyncIterator[RateLimitService]:
    engine = create_engine(store_url, pool_size=20)
    yield RateLimitService(async_sessionmaker(engine, expire_on_commit=False), concurrency=10)
    await engine.dispose()


def _bucket() -> str:
    return f"test:{uuid.uuid4().hex}"


async def _granted(limits: RateLimitService, buckets: list[str], limit: int, window: int = 60) -> bool:
    try:
        await limits.charge(buckets, limit, window, "no")
    except TooManyRequestsError:
        return False
    return True


async def test_grants_the_limit_then_refuses_with_the_wait(limits: RateLimitService) -> None:
    bucket = _bucket()
    assert [await _granted(limits, [bucket], 3) for _ in range(4)] == [True, True, True, False]
    with pytest.raises(TooManyRequestsError) as refused:
        await limits.charge([bucket], 3, 60, "slow down")
    assert 58 <= refused.value.retry_after_s <= 60
    assert refused.value.detail == f"slow down; try again in {refused.value.retry_after_s} seconds"


async def test_a_refund_gives_the_attempt_back(limits: RateLimitService) -> None:
    bucket = _bucket()
    first = await limits.charge([bucket], 2, 60, "no")
    await limits.charge([bucket], 2, 60, "no")
    assert not await _granted(limits, [bucket], 2)
    await limits.refund(first)
    assert await _granted(limits, [bucket], 2)


async def test_every_bucket_or_none(limits: RateLimitService) -> None:
    """A charge over two buckets that one of them refuses records nothing in the other."""
    full, free = _bucket(), _bucket()
    await limits.charge([full], 1, 60, "no")
    assert not await _granted(limits, [free, full], 1)
    assert await _granted(limits, [free], 1)


async def test_events_leave_the_window(limits: RateLimitService) -> None:
    bucket = _bucket()
    await limits.charge([bucket], 1, 1, "no")
    assert not await _granted(limits, [bucket], 1, window=1)
    await asyncio.sleep(1.1)
    assert await _granted(limits, [bucket], 1, window=1)


async def test_concurrent_charges_grant_exactly_the_limit(limits: RateLimitService) -> None:
    """40 at once over overlapping bucket pairs: no count is read before the previous insert."""
    account, addresses = _bucket(), [_bucket() for _ in range(4)]
    results = await asyncio.gather(*(_granted(limits, [account, addresses[i % 4]], 5) for i in range(40)))
    assert sum(results) == 5
    alone = await asyncio.gather(*(_granted(limits, [addresses[0]], 12) for _ in range(30)))
    assert sum(alone) == 12 - sum(results[0::4])


async def test_pending_attempts_are_waited_for_not_refused(limits: RateLimitService) -> None:
    """A bucket full of provisional attempts lets the next one in once they are refunded..."""
    bucket = _bucket()
    held = [await limits.charge([bucket], 2, 60, "no", provisional=True) for _ in range(2)]
    waiting = asyncio.create_task(limits.charge([bucket], 2, 60, "no", provisional=True))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await limits.refund(held[0])
    await asyncio.wait_for(waiting, 3)


async def test_settled_attempts_refuse(limits: RateLimitService) -> None:
    """...and refuses once they settle as failures, with the wait of the settled window."""
    bucket = _bucket()
    held = [await limits.charge([bucket], 2, 60, "no", provisional=True) for _ in range(2)]
    waiting = asyncio.create_task(_granted(limits, [bucket], 2))
    await asyncio.sleep(0.2)
    for charge in held:
        await limits.settle(charge)
    assert await asyncio.wait_for(waiting, 3) is False


async def test_a_held_bucket_lock_refuses_instead_of_queueing(limits: RateLimitService, store_dsn: str) -> None:
    """A replica stuck inside a charge must not tie up this one's connections for long."""
    bucket = _bucket()
    async with await psycopg.AsyncConnection.connect(store_dsn) as stuck:
        await stuck.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7201))", (bucket,))
        with pytest.raises(TooManyRequestsError) as refused:
            await asyncio.wait_for(limits.charge([bucket], 5, 60, "busy"), 10)
        assert refused.value.retry_after_s == 1
    assert await _granted(limits, [bucket], 5)


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("unknown", "unknown"),
    ],
)
def test_an_ipv6_client_is_its_64(address: str, bucket: str) -> None:
    assert address_bucket(address) == bucket
