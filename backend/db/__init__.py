"""Storage: Tortoise ORM on SQLite (default) or PostgreSQL, schema by migrations."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.connection import get_connection
from tortoise.migrations.api import migrate as _migrate
from tortoise.migrations.executor import MigrationExecutor

MODELS = "backend.db.models"
MIGRATIONS = "backend.db.migrations"
# pg_advisory_lock key for schema migrations: any constant; this is crc32("motcua-migrate").
MIGRATION_LOCK_KEY = 0x4D4F5443


def tortoise_config(db_url: str) -> dict[str, Any]:
    """The Tortoise configuration for one database URL (sqlite://… or postgres://…)."""
    path = _sqlite_path(db_url)
    if path is not None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return {
        "connections": {"default": db_url},
        "apps": {"models": {"models": [MODELS], "default_connection": "default", "migrations": MIGRATIONS}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def migrate(db_url: str) -> None:
    """Bring the schema up to the latest migration, one process at a time (others wait, then find it current)."""
    async with _migration_lock(db_url):
        try:
            await _migrate(config=tortoise_config(db_url))
        finally:
            await close_db()


async def pending_migrations(db_url: str) -> list[str]:
    """The migrations not yet applied to this database ("app.name"), without applying any."""
    config = tortoise_config(db_url)
    try:
        await Tortoise.init(config=config, init_connections=False)
        executor = MigrationExecutor(get_connection("default"), config["apps"])
        return [f"{s.migration.app_label}.{s.migration.name}" for s in await executor.plan() if not s.backward]
    finally:
        await close_db()


@contextlib.asynccontextmanager
async def _migration_lock(db_url: str) -> AsyncIterator[None]:
    """PostgreSQL: a session advisory lock on its own connection; SQLite: an fcntl lock beside the file."""
    if db_url.startswith(("postgres://", "postgresql://", "asyncpg://", "psycopg://")):
        import asyncpg

        scheme, netloc, path, _, _ = urlsplit(db_url)
        conn = await asyncpg.connect(urlunsplit(("postgresql", netloc, path, "", "")))
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        finally:
            await conn.close()  # ends the session, so the lock is released even if unlock failed
        return
    path = _sqlite_path(db_url)
    if path is None:  # in-memory: one process by definition
        yield
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".migrate-lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)  # a thread: waiting must not block the loop
        yield
    finally:
        os.close(fd)  # closing releases the lock


async def open_db(db_url: str, *, run_migrations: bool = True) -> None:
    """Migrate if asked, then initialise Tortoise for the app's lifetime."""
    if run_migrations:
        await migrate(db_url)
    await Tortoise.init(config=tortoise_config(db_url))
    _private_sqlite(db_url)


def _sqlite_path(db_url: str) -> Path | None:
    if db_url.startswith("sqlite://") and db_url not in ("sqlite://:memory:",):
        return Path(db_url.removeprefix("sqlite://"))
    return None


def _private_sqlite(db_url: str) -> None:
    """The database and its journals owner-only (SQLite gives new journals the database's mode)."""
    path = _sqlite_path(db_url)
    if path is None:
        return
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        if p.exists():
            p.chmod(0o600)


async def close_db() -> None:
    """Close connections and forget the models' binding, so a later init may use another
    database (Tortoise caches per-dialect queries on the model classes)."""
    await Tortoise.close_connections()
    await Tortoise._reset_apps()
    # Insert statements are cached per connection *name*, not per dialect: a process that
    # opens SQLite and then PostgreSQL under "default" would reuse SQLite's "?" placeholders.
    EXECUTOR_CACHE.clear()
