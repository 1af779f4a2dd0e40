"""Wake-ups across workers: PostgreSQL LISTEN/NOTIFY; on SQLite (one process) nothing to do.

``publish(topic, key)`` sends ``NOTIFY topic, key`` on the ORM's connection (delivered when
the publishing transaction commits). A ``Wakeups`` hub per worker holds one dedicated asyncpg
connection that LISTENs to the subscribed topics and calls the callbacks; when the connection
drops it reconnects and calls the ``resync`` callbacks, since notices sent meanwhile are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from tortoise import Tortoise

log = logging.getLogger(__name__)

WEBCHAT = "motcua_webchat"  # key: the web chat session's user key
CATALOGUE = "motcua_catalogue"  # key: the catalogue's new version stamp
OUTBOX = "motcua_outbox"  # a web worker queued notifications: the worker's dispatcher looks now
PING_INTERVAL = 30.0  # seconds between checks that the listening connection still answers
RECONNECT_DELAY = (0.5, 1.0, 2.0, 5.0)  # seconds between attempts, the last repeated

Callback = Callable[[str], Any]  # a plain function or a coroutine function of the key


def is_postgres(db_url: str) -> bool:
    return db_url.split("://", 1)[0] in ("postgres", "postgresql", "asyncpg", "psycopg")


def _dsn(db_url: str) -> str:
    """asyncpg's DSN from the Tortoise URL (Tortoise's own query options are not libpq's)."""
    rest = db_url.split("://", 1)[1].split("?", 1)[0]
    return f"postgresql://{rest}"


def _dialect() -> str:
    try:
        return Tortoise.get_connection("default").capabilities.dialect
    except Exception:  # Tortoise not initialised: nothing to publish to
        return ""


async def publish(topic: str, key: str) -> None:
    """Tell every worker's listeners about ``key`` (a no-op on SQLite: one process)."""
    if _dialect() != "postgres":
        return
    try:
        await Tortoise.get_connection("default").execute_query("SELECT pg_notify($1, $2)", [topic, key])
    except Exception as exc:  # what was stored stays stored; a waiter finds it on its next poll
        log.warning("wake-up on %s not published (%s)", topic, type(exc).__name__)


class Wakeups:
    """One worker's listener: topic → callbacks, over a connection that comes back if it drops."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.enabled = is_postgres(db_url)
        self._subs: dict[str, list[Callback]] = {}
        self._resync: list[Callback] = []
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.connected = asyncio.Event()

    def subscribe(self, topic: str, callback: Callback, *, resync: Callback | None = None) -> None:
        """Call ``callback(key)`` on each notice; ``resync("")`` after a reconnect (notices missed)."""
        self._subs.setdefault(topic, []).append(callback)
        if resync is not None:
            self._resync.append(resync)

    async def start(self) -> None:
        """Listen (PostgreSQL only); returns once the first connection is up or has failed once."""
        if not self.enabled or self._task is not None:
            return
        self._task = asyncio.create_task(self._run(), name="wakeups-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), 5)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        self.connected.clear()
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)

    async def _run(self) -> None:
        attempt, first = 0, True
        while True:
            try:
                lost = asyncio.get_running_loop().create_future()
                conn = self._conn = await asyncpg.connect(_dsn(self.db_url))
                conn.add_termination_listener(lambda _c, lost=lost: lost.done() or lost.set_result(None))
                for topic in self._subs:
                    await conn.add_listener(topic, self._notified)
                self.connected.set()
                attempt = 0
                if not first:  # what was published while we were away is lost: catch up
                    self._call(self._resync, "")
                first = False
                while not lost.done():  # a silent network drop shows only when we ask
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(lost), PING_INTERVAL)
                    if not lost.done():
                        await asyncio.wait_for(conn.fetchval("SELECT 1"), 5)
                log.warning("wake-up listener connection lost; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database restarting: try again shortly
                log.warning("wake-up listener cannot connect (%s); retrying", type(exc).__name__)
            await self._close()
            first = False
            await asyncio.sleep(RECONNECT_DELAY[min(attempt, len(RECONNECT_DELAY) - 1)])
            attempt += 1

    def _notified(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        self._call(self._subs.get(channel, ()), payload)

    def _call(self, callbacks: Any, key: str) -> None:
        for cb in callbacks:
            try:
                result = cb(key)
            except Exception:
                log.exception("wake-up callback failed")
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(_guarded(result))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)


async def _guarded(aw: Awaitable[Any]) -> None:
    try:
        await aw
    except Exception:
        log.exception("wake-up callback failed")
