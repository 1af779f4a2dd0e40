"""Dossier codes stay unique when many citizens submit at the same moment."""

from __future__ import annotations

import asyncio

import pytest

from backend.db.models import CodeCounter, Dossier
from backend.domain.codes import parse_code

from .conftest import World


@pytest.mark.parametrize("n", [200])
async def test_concurrent_submissions_get_distinct_codes(world: World, n: int) -> None:
    dossiers = await asyncio.gather(*(world.submit_birth() for _ in range(n)))
    codes = [d.code for d in dossiers]
    assert len(set(codes)) == n
    assert sorted(parse_code(c).sequence for c in codes) == list(range(1, n + 1))
    assert await Dossier.all().count() == n
    counter = await CodeCounter.get(agency_id=world.commune.id)
    assert counter.last_sequence == n


async def test_sequence_restarts_each_day_and_per_agency(world: World) -> None:
    from datetime import datetime

    from backend.domain.calendar import VN_TZ

    first = await world.submit_birth()
    world.ctx.clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=VN_TZ))  # type: ignore[attr-defined]
    second = await world.submit_birth()
    assert first.code.endswith("-261123-0001") and second.code.endswith("-261125-0001")
