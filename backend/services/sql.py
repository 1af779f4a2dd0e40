"""Hand-written SQL for the hot paths, the same text on SQLite and PostgreSQL.

``run_sql`` takes ``?`` placeholders (numbered for PostgreSQL). On SQLite the statements of
concurrent callers run together under one hold of the connection (see ``_SqliteBatch``).
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError, OperationalError


def dialect() -> str:
    """``sqlite`` or ``postgres``: the default connection's SQL dialect."""
    return connections.get("default").capabilities.dialect


async def run_sql(sql: str, values: list[Any]) -> list[Any]:
    conn: BaseDBAsyncClient = connections.get("default")
    dialect = conn.capabilities.dialect
    if dialect == "sqlite" and not isinstance(conn, TransactionalDBClient):  # inside a transaction: part of it
        return await _sqlite_batch.run(conn, sql, values)
    if dialect == "postgres":
        sql = _numbered(sql)
    return await conn.execute_query_dict(sql, values)


class _SqliteBatch:
    """Statements of many concurrent turns run under one hold of SQLite's only connection.

    Tortoise serialises SQLite queries with a lock that is released only when the event loop
    gets round to the finished query, so under load each statement held the connection for
    a whole loop iteration and turns queued behind each other. Here whatever statements are
    waiting go to aiosqlite's thread together and run back to back; each is its own
    autocommit statement, and holding the lock keeps them out of anyone's transaction.
    """

    def __init__(self) -> None:
        self._queue: list[tuple[str, list[Any], asyncio.Future[list[Any]]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def run(self, client: BaseDBAsyncClient, sql: str, values: list[Any]) -> list[Any]:
        loop = asyncio.get_running_loop()
        if self._flusher is not None and self._flusher.get_loop() is not loop:
            self._queue, self._flusher = [], None  # a new event loop (tests, a restart in-process)
        future: asyncio.Future[list[Any]] = loop.create_future()
        self._queue.append((sql, values, future))
        if self._flusher is None or self._flusher.done():
            # its own task: a caller cancelled while waiting must not strand the others
            self._flusher = asyncio.create_task(self._flush(client))
        return await future

    async def _flush(self, client: BaseDBAsyncClient) -> None:
        while self._queue:
            try:
                async with client.acquire_connection() as raw:
                    while self._queue:
                        batch, self._queue = self._queue, []
                        results = await asyncio.gather(*(raw.execute_fetchall(sql, values) for sql, values, _ in batch),
                                                       return_exceptions=True)
                        for (_, _, future), result in zip(batch, results, strict=True):
                            if future.done():  # its caller was cancelled
                                continue
                            if isinstance(result, BaseException):
                                future.set_exception(_translated(result))
                            else:
                                future.set_result([dict(row) for row in result])  # sqlite3.Row
            except Exception as exc:  # the connection itself failed: every waiter hears it
                batch, self._queue = self._queue, []
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)


def _translated(exc: BaseException) -> BaseException:
    """sqlite3's errors as Tortoise's, as the ORM's own queries raise them."""
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(exc)
    if isinstance(exc, sqlite3.OperationalError):
        return OperationalError(exc)
    return exc


_sqlite_batch = _SqliteBatch()


@functools.cache
def _numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, …`` (our SQL has no ``?`` in literals)."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${i}{p}" for i, p in enumerate(parts[1:], 1))
