"""Shared rate limits: token buckets in the database, the same for every worker."""

from __future__ import annotations

import asyncio

from backend.services import ratelimits
from backend.services.ratelimits import Limit


async def test_bucket_allows_the_burst_then_refuses_then_refills(db: str) -> None:
    limit = Limit("t", per_minute=60, burst=3)
    assert [await ratelimits.take(limit, "a", now=1000.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = await ratelimits.take(limit, "a", now=1000.0)
    assert 0.9 < wait <= 1.0  # one token a second
    assert await ratelimits.take(limit, "b", now=1000.0) == 0.0  # another subject has its own bucket
    assert await ratelimits.take(limit, "a", now=1001.5) == 0.0
    assert await ratelimits.take(limit, "a", now=1001.5) > 0


async def test_concurrent_takes_never_exceed_the_burst(db: str) -> None:
    """Many callers at once (as many workers would be) share one bucket: exactly burst pass."""
    limit = Limit("c", per_minute=1, burst=20)
    waits = await asyncio.gather(*(ratelimits.take(limit, "x", now=5000.0) for _ in range(100)))
    assert sum(1 for w in waits if w == 0.0) == 20


async def test_purge_forgets_idle_buckets(db: str) -> None:
    limit = Limit("p", per_minute=60, burst=1)
    await ratelimits.take(limit, "old", now=0.0)
    await ratelimits.take(limit, "new", now=100_000.0)
    assert await ratelimits.purge(now=100_000.0) == 1
