"""The application factory: wires storage, services, the dispatcher, channels and web routes.

The composition root: the only place that imports both the back office and the channels.
Nothing starts at import time; everything starts in the app's startup hooks.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from backend.db import close_db, open_db
from backend.db.models import Agency
from backend.notify.dispatcher import ChannelSender, Dispatcher
from backend.notify.render import make_renderer
from backend.services.catalogue import Catalogue
from backend.services.clock import Clock, SystemClock
from backend.services.context import ServiceContext
from backend.services.digest import queue_morning_digest
from backend.services.lookup import remind_due
from backend.services.seed import seed_demo
from backend.settings import Settings

log = logging.getLogger(__name__)

REMINDER_INTERVAL = 600.0  # seconds between due-date reminder passes
REMINDER_HOURS = 4.0  # remind when a dossier is due within this many office hours
DIGEST_INTERVAL = 300.0  # seconds between checks for the 07:00 morning digest


@dataclass
class Runtime:
    """What request handlers and channels share for the app's lifetime."""

    settings: Settings
    ctx: ServiceContext
    dispatcher: Dispatcher
    ocr: Any = None  # bot.ocr.OcrReader, started lazily by the channels
    senders: dict[str, ChannelSender] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    def changed(self) -> None:
        """Call after a use case commits: the dispatcher sends what it queued at once."""
        self.dispatcher.wake()


SETTINGS = web.AppKey("settings", Settings)
RUNTIME = web.AppKey("runtime", Runtime)

RouteSetup = Callable[[web.Application], None]
ChannelStarter = Callable[[web.Application, Runtime], Awaitable[Callable[[], Awaitable[None]]]]


def create_app(
    settings: Settings, *, clock: Clock | None = None, catalogue: Catalogue | None = None
) -> web.Application:
    app = web.Application(client_max_size=45 * 1024 * 1024)  # photos up to 40 MB reach the check
    app[SETTINGS] = settings
    ctx = ServiceContext(
        catalogue=catalogue or Catalogue(),
        clock=clock or SystemClock(),
        files_dir=settings.files_dir,
        public_base_url=settings.base_url,
    )
    dispatcher = Dispatcher({}, make_renderer(ctx, settings.base_url), ctx.clock.now)
    app[RUNTIME] = Runtime(settings, ctx, dispatcher)
    app.router.add_get("/healthz", _health)
    for setup in _route_setups():
        setup(app)
    app.cleanup_ctx.append(_storage)
    app.cleanup_ctx.append(_background)
    app.cleanup_ctx.append(_channels)
    app.on_startup.append(_freeze_heap)  # runs after the cleanup contexts above have started
    return app


def _route_setups() -> list[RouteSetup]:
    """Web features, each a module with ``setup(app)``; listed here in one place."""
    from backend.web import api, console, public

    return [public.setup, console.setup, api.setup]


async def _freeze_heap(app: web.Application) -> None:
    """Move what start-up left alive (modules, catalogue, templates, PTB and ORM objects) out
    of the garbage collector's sight. None of it is garbage, yet every full collection walked
    all of it: 50-65 ms pauses, each a burst of slow chat replies under load."""
    gc.collect()
    gc.freeze()


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _storage(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await open_db(settings.database_url)
    if settings.seed_demo and not await Agency.exists():
        await seed_demo()
        log.info("seeded demo agencies and officers")
    yield
    await close_db()


async def _background(app: web.Application) -> AsyncIterator[None]:
    rt = app[RUNTIME]
    tasks = [
        asyncio.create_task(rt.dispatcher.run(), name="outbox-dispatcher"),
        asyncio.create_task(_reminders(rt), name="due-reminders"),
        asyncio.create_task(_digests(rt), name="morning-digest"),
    ]
    yield
    rt.dispatcher.stop()
    for t in tasks[1:]:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _reminders(rt: Runtime) -> None:
    while True:
        try:
            if await remind_due(rt.ctx, hours=REMINDER_HOURS):
                rt.changed()
        except Exception:  # long-running loop: log, then continue
            log.exception("reminder pass failed")
        await asyncio.sleep(REMINDER_INTERVAL)


async def _digests(rt: Runtime) -> None:
    """The officers' morning digest: queued once a working day from 07:00 Vietnam time."""
    while True:
        try:
            if await queue_morning_digest(rt.ctx):
                rt.changed()
        except Exception:  # long-running loop: log, then continue
            log.exception("morning digest failed")
        await asyncio.sleep(DIGEST_INTERVAL)


async def _channels(app: web.Application) -> AsyncIterator[None]:
    """Start the chat channels (web chat always; Telegram and Zalo when configured)."""
    from bot.runtime import start_channels

    stop = await start_channels(app, app[RUNTIME])
    yield
    await stop()
