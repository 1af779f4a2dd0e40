"""Chaos, small enough for CI: citizens file birth registrations through nginx to two web
workers and officers accept them in the console, while a web or the background worker is
SIGKILLed at random moments and restarted; nothing a citizen sent is lost, no dossier, input,
history row or notice is doubled. The larger run is bench/chaos.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import empty_pg_database
from tests.e2e.cluster import run_chaos

pytestmark = [pytest.mark.deploy, pytest.mark.postgres]

CITIZENS = int(os.environ.get("MOTCUA_CHAOS_CITIZENS", "12"))
KILLS = int(os.environ.get("MOTCUA_CHAOS_KILLS", "10"))


@pytest.fixture
async def chaos_db() -> str:
    """A database of this test's own, dropped at the end (the workers hold their own pools)."""
    async with empty_pg_database("motcua_chaos") as url:
        yield url


@pytest.mark.timeout(300)
async def test_random_kills_lose_and_double_nothing(chaos_db: str, tmp_path: Path) -> None:
    report = await run_chaos(tmp_path, chaos_db, citizens=CITIZENS, max_kills=KILLS, gap=(0.5, 2.0),
                             pace=2.5)  # a citizen thinks 0–2.5 s: the run spans the kills
    print(report.table())
    assert sum(report.kills.values()) >= KILLS // 2, report.table()  # the run really was chaotic
    assert report.dossiers == CITIZENS and report.accepted == CITIZENS, report.table()
    assert not report.problems, report.table()
