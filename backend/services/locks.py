"""Database-wide locks for work only one worker may do at a time (e.g. spending a refresh token).

PostgreSQL: a transaction-scoped advisory lock, held while ``work`` runs inside that
transaction. SQLite serves one process, so a process-wide asyncio lock is the whole story.
"""

from __future__ import annotations

import asyncio
import weakref
import zlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tortoise import Tortoise
from tortoise.transactions import in_transaction

T = TypeVar("T")

ZALO_TOKEN = "zalo.token_refresh"

_local: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


def lock_id(name: str) -> int:
    """A stable 32-bit advisory lock key for ``name`` (the same in every worker)."""
    return zlib.crc32(name.encode())


async def exclusively(name: str, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` while no other worker runs work under the same ``name``."""
    if Tortoise.get_connection("default").capabilities.dialect != "postgres":
        async with _local.setdefault(asyncio.get_running_loop(), {}).setdefault(name, asyncio.Lock()):
            return await work()
    async with in_transaction() as conn:  # the lock goes with the transaction, even on a crash
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [lock_id(name)])
        return await work()
