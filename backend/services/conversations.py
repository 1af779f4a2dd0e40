"""The conversation engine's storage: where each chat stands (hội thoại) and which channel
events were handled already.

Every chat turn passes here, so the hot path is hand-written SQL, the same on SQLite and
PostgreSQL: one statement claims the event *and* reads the state (an ``INSERT … ON
CONFLICT DO NOTHING RETURNING`` whose returned columns are subqueries on the state row),
one writes the state back, guarded by its version. On SQLite every query queues behind one
connection, so a turn's two statements instead of three (and no ORM query building) is
what keeps 200 chatting citizens' replies quick.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError, OperationalError

from backend.db.models import ConversationState, ProcessedEvent

_STATE = ConversationState._meta.db_table
_EVENTS = ProcessedEvent._meta.db_table

_STATE_OF_USER = f"FROM {_STATE} WHERE channel = ? AND user_id = ?"
_CLAIM_AND_LOAD = (
    f"INSERT INTO {_EVENTS} (channel, event_id, created_at) VALUES (?, ?, ?) "
    "ON CONFLICT (channel, event_id) DO NOTHING RETURNING "
    f"(SELECT id {_STATE_OF_USER}) AS id, (SELECT step {_STATE_OF_USER}) AS step, "
    f"(SELECT data {_STATE_OF_USER}) AS data, (SELECT version {_STATE_OF_USER}) AS version"
)
_LOAD = f"SELECT id, step, data, version {_STATE_OF_USER}"
_INSERT = (
    f"INSERT INTO {_STATE} (channel, user_id, step, data, version, updated_at) VALUES (?, ?, ?, ?, 1, ?) "
    "ON CONFLICT (channel, user_id) DO NOTHING RETURNING id"
)
_UPDATE = (
    f"UPDATE {_STATE} SET step = ?, data = ?, version = version + 1, updated_at = ? "
    "WHERE id = ? AND version = ? RETURNING id"
)
_PURGE = f"DELETE FROM {_EVENTS} WHERE created_at < ?"

_when = ProcessedEvent._meta.fields_map["created_at"]


@dataclass
class StoredConversation:
    """One chat's stored step and data; ``id`` is None until its first save."""

    channel: str
    user_id: str
    step: str = "menu"
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    id: int | None = None


async def claim_and_load(channel: str, user_id: str, event_id: str, now: datetime) -> StoredConversation | None:
    """Take the event id (unique per channel) and read the chat's state, in one statement;
    None when the event was handled already (a webhook retried, an update seen twice)."""
    rows = await _query(_CLAIM_AND_LOAD, [channel, event_id, _when.to_db_value(now, None),
                                          channel, user_id, channel, user_id, channel, user_id, channel, user_id])
    if not rows:
        return None
    return _stored(channel, user_id, rows[0])


async def load(channel: str, user_id: str) -> StoredConversation:
    """The chat's state as stored now (a turn run again after losing a race)."""
    rows = await _query(_LOAD, [channel, user_id])
    return _stored(channel, user_id, rows[0] if rows else {})


async def save(conv: StoredConversation, step: str, data: dict[str, Any], now: datetime) -> bool:
    """Write the new state if the row is still the version that was read; False when another
    worker moved it on meanwhile (the caller runs the turn again on the fresh state)."""
    encoded, when = json.dumps(data, ensure_ascii=False, separators=(",", ":")), _when.to_db_value(now, None)
    if conv.id is None:
        rows = await _query(_INSERT, [conv.channel, conv.user_id, step, encoded, when])
    else:
        rows = await _query(_UPDATE, [step, encoded, when, conv.id, conv.version])
    return bool(rows)


async def purge_events(before: datetime) -> None:
    """Forget handled event ids older than ``before`` (no channel repeats one that late)."""
    await _query(_PURGE, [_when.to_db_value(before, None)])


def _stored(channel: str, user_id: str, row: Any) -> StoredConversation:
    if row.get("id") is None:
        return StoredConversation(channel, user_id)
    data = row["data"]
    return StoredConversation(channel, user_id, row["step"], json.loads(data) if isinstance(data, str) else data,
                              row["version"], row["id"])


async def _query(sql: str, values: list[Any]) -> list[Any]:
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
