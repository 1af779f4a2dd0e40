"""Shared fixtures: a real database per test, on SQLite and on the local PostgreSQL server."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest
from tortoise import Tortoise

from backend.db import close_db, migrate, tortoise_config
from backend.domain.calendar import VN_TZ
from backend.services.catalogue import Catalogue
from backend.services.clock import SetClock
from backend.services.context import ServiceContext

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")
# PTB 22 warns (an error under filterwarnings=error) unless durations are timedeltas.
os.environ.setdefault("PTB_TIMEDELTA", "true")

PG_ADMIN = os.environ.get("MOTCUA_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")
_TABLES = (
    "history_entry",
    "outbox_message",
    "attachment",
    "dossier",
    "code_counter",
    "one_time_token",
    "console_session",
    "auth_throttle",
    "rate_bucket",
    "webchat_session",
    "inbound_update",
    "idempotency_record",
    "officer_channel_link",
    "channel_identity",
    "citizen",
    "officer",
    "department",
    "agency",
    "conversation_state",
    "key_value",
    "webchat_message",
)


def run_apart(coro_fn, *args):  # noqa: ANN001, ANN201
    """Run a coroutine to completion on its own loop in a thread (fixtures requested lazily
    from inside a running test loop cannot call asyncio.run there)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro_fn(*args))).result()


@contextlib.asynccontextmanager
async def empty_pg_database(prefix: str) -> AsyncIterator[str]:
    """A PostgreSQL database with no schema, of this test's own; dropped (forcibly) after."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = PG_ADMIN.replace("postgres://", "postgresql://")
    for sql in (f'CREATE DATABASE "{name}"', None):
        if sql is None:
            yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
            sql = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    run_apart(migrate, f"sqlite://{path}")
    return path


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A database of our own on the local server, migrated, dropped at the end."""
    name = f"motcua_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    base = PG_ADMIN.rsplit("/", 1)[0]

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN.replace("postgres://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        run_apart(admin, f'CREATE DATABASE "{name}"')
    except OSError as exc:
        pytest.fail(f"PostgreSQL at {PG_ADMIN} does not answer ({exc}); ./dev test starts it")
    url = f"{base}/{name}"
    run_apart(migrate, url)
    yield url
    run_apart(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An initialised, empty database: yields its URL."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "motcua.sqlite3"
        shutil.copy(template, path)
        url = f"sqlite://{path}"
        await Tortoise.init(config=tortoise_config(url))
    else:
        url = request.getfixturevalue("pg_url")
        await Tortoise.init(config=tortoise_config(url))
        conn = Tortoise.get_connection("default")
        await conn.execute_script(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY CASCADE")
    yield url
    await close_db()


@pytest.fixture
def clock() -> SetClock:
    return SetClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))  # a Monday morning


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue()


@pytest.fixture
def ctx(catalogue: Catalogue, clock: SetClock, tmp_path: Path) -> ServiceContext:
    return ServiceContext(catalogue=catalogue, clock=clock, files_dir=tmp_path / "files")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def fresh_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database URL that the code under test opens itself (create_app)."""
    if request.param == "sqlite":
        path = tmp_path / "app.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite://{path}"
        return
    url = request.getfixturevalue("pg_url")
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        await conn.execute(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    yield url
