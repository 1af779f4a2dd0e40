"""Storage: Tortoise ORM on SQLite (default) or PostgreSQL, schema by migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.migrations.api import migrate as _migrate

MODELS = "backend.db.models"
MIGRATIONS = "backend.db.migrations"


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
    """Bring the schema up to the latest migration."""
    try:
        await _migrate(config=tortoise_config(db_url))
    finally:
        await close_db()


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
