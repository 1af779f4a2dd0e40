"""Several processes migrating one empty database at once: one migrates, the others wait and find it current."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import empty_pg_database

ROOT = Path(__file__).resolve().parents[2]
MIGRATE = "import asyncio, sys; from backend.db import migrate; asyncio.run(migrate(sys.argv[1]))"
N = 4


def _migration_files() -> set[str]:
    return {p.stem for p in (ROOT / "backend/db/migrations").glob("0*.py")}


async def _migrate_together(url: str) -> list[tuple[int, str]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    async def one() -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", MIGRATE, url, cwd=ROOT, env=env,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), 120)
        except TimeoutError:
            proc.kill()
            raise
        return proc.returncode or 0, out.decode(errors="replace")[-2000:]

    return await asyncio.gather(*(one() for _ in range(N)))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no schema at all (not the migrated fixtures)."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'empty.sqlite3'}"
        return
    async with empty_pg_database("motcua_mig") as url:
        yield url


async def _rows(url: str, sql: str) -> list[tuple]:
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as c:
            return [tuple(r) for r in c.execute(sql)]
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def test_concurrent_migrations_apply_once(empty_db_url: str) -> None:
    from backend.db import pending_migrations

    results = await _migrate_together(empty_db_url)
    assert [rc for rc, _ in results] == [0] * N, "\n---\n".join(out for rc, out in results if rc)
    applied = await _rows(empty_db_url, 'SELECT app, name FROM "tortoise_migrations"')
    assert sorted(name for _, name in applied) == sorted(_migration_files())  # each once, none missing
    assert await pending_migrations(empty_db_url) == []
    # The schema is there and usable: the latest migration's table exists.
    assert await _rows(empty_db_url, "SELECT count(*) FROM inbound_update") == [(0,)]


@pytest.mark.parametrize("role", ["web", "worker"])
async def test_web_and_worker_refuse_an_unmigrated_database(empty_db_url: str, tmp_path: Path, role: str) -> None:
    """Production processes never migrate on start: they name the command instead."""
    from aiohttp.test_utils import TestServer

    from backend.settings import Settings
    from backend.web.app import StartupRefused, create_app

    settings = Settings(database_url=empty_db_url, data_dir=tmp_path / "var", ocr_workers=0)
    server = TestServer(create_app(settings, role=role))
    with pytest.raises(StartupRefused, match="motcua migrate"):
        await server.start_server()
    await server.close()
    catalog = ("sqlite_master WHERE name" if empty_db_url.startswith("sqlite://")
               else "information_schema.tables WHERE table_name")
    assert await _rows(empty_db_url, f"SELECT count(*) FROM {catalog} = 'dossier'") == [(0,)]  # nothing migrated
