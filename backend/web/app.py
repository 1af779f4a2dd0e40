"""The application factory: wires storage, services, the dispatcher, channels and web routes.

The composition root: the only place that imports both the back office and the channels.
Nothing starts at import time; everything starts in the app's startup hooks.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web

from backend.db import close_db, open_db, pending_migrations
from backend.db.models import Agency
from backend.notify.dispatcher import ChannelSender, Dispatcher
from backend.notify.render import make_renderer
from backend.services import retention, storage, wakeups
from backend.services.catalogue import Catalogue
from backend.services.clock import Clock, SystemClock
from backend.services.context import ServiceContext
from backend.services.digest import queue_morning_digest
from backend.services.files import private_dir, tighten
from backend.services.lookup import remind_due
from backend.services.seed import active_demo_accounts, seed_demo
from backend.settings import Settings
from backend.web import hardening, memory_trim, observability

log = logging.getLogger(__name__)

REMINDER_INTERVAL = 600.0  # seconds between due-date reminder passes
REMINDER_HOURS = 4.0  # remind when a dossier is due within this many office hours
DIGEST_INTERVAL = 300.0  # seconds between checks for the 07:00 morning digest
RETENTION_FIRST_DELAY = 60.0  # seconds after start before the first retention purge

# What one process runs (docs/deploy.md): "web" serves HTTP, web chat and webhooks; "worker"
# runs the dispatcher, reminders, digests and retention; "all" is both (development, ./dev run).
ROLES = ("all", "web", "worker")
WORKER_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # all a worker answers on its port


@dataclass
class Runtime:
    """What request handlers and channels share for the app's lifetime."""

    settings: Settings
    ctx: ServiceContext
    dispatcher: Dispatcher
    ocr: Any = None  # bot.ocr.OcrReader, started lazily by the channels
    senders: dict[str, ChannelSender] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    role: str = "all"  # one of ROLES

    @property
    def background(self) -> bool:
        """This process runs the dispatcher and the periodic jobs (worker or all)."""
        return self.role in ("all", "worker")

    @property
    def serves_web(self) -> bool:
        """This process answers citizens and officers over HTTP (web or all)."""
        return self.role in ("all", "web")

    def changed(self) -> None:
        """Call after a use case commits: the dispatcher sends what it queued at once. A web
        worker has no dispatcher of its own: it tells the worker's (PostgreSQL NOTIFY)."""
        if self.background:
            self.dispatcher.wake()
            return
        if self._notifying is None or self._notifying.done():
            self._notifying = asyncio.create_task(wakeups.publish(wakeups.OUTBOX, ""))

    _notifying: asyncio.Task[None] | None = field(default=None, repr=False)


class StartupRefused(RuntimeError):
    """The app would start in an unsafe state (e.g. demo accounts in production)."""


SETTINGS = web.AppKey("settings", Settings)
RUNTIME = web.AppKey("runtime", Runtime)

RouteSetup = Callable[[web.Application], None]
ChannelStarter = Callable[[web.Application, Runtime], Awaitable[Callable[[], Awaitable[None]]]]


def create_app(
    settings: Settings, *, clock: Clock | None = None, catalogue: Catalogue | None = None, role: str = "all"
) -> web.Application:
    if role not in ROLES:
        raise StartupRefused(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if settings.production and settings.seed_demo:
        raise StartupRefused("demo data is for development: unset MOTCUA_SEED_DEMO (or --demo) in production")
    # Owner-only files whatever the caller's umask: SQLite creates its database and journals itself.
    os.umask(0o077)
    app = web.Application(client_max_size=45 * 1024 * 1024)  # photos up to 40 MB reach the check
    app[SETTINGS] = settings
    hardening.install(app, https=settings.base_url.startswith("https://"))
    ctx = ServiceContext(
        catalogue=catalogue or Catalogue(),
        clock=clock or SystemClock(),
        files_dir=settings.files_dir,
        files=storage.from_settings(settings.storage, settings.files_dir),  # local dir, or the S3 bucket
        public_base_url=settings.base_url,
    )
    app.on_cleanup.append(lambda _app: ctx.files.close())
    dispatcher = Dispatcher({}, make_renderer(ctx, settings.base_url), ctx.clock.now)
    if role == "web" and settings.telegram.enabled and settings.telegram.mode != "webhook":
        # Telegram allows one poller per bot: polling belongs to the single worker process.
        settings = settings.with_(telegram=replace(settings.telegram, token=""))
        app[SETTINGS] = settings
    app[RUNTIME] = rt = Runtime(settings, ctx, dispatcher, role=role)
    if role == "worker":
        app.middlewares.append(_worker_only)
    app.router.add_get("/healthz", _health)
    observability.setup(app, ctx.clock.now)  # request ids, /metrics, /readyz
    if rt.serves_web:
        for setup in _route_setups():
            setup(app)
    app.cleanup_ctx.append(_storage)
    if rt.background:
        app.cleanup_ctx.append(_background)
    app.cleanup_ctx.append(_channels)
    app.cleanup_ctx.append(memory_trim.trimming)  # freed memory back to the system after a burst
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


@web.middleware
async def _worker_only(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                       ) -> web.StreamResponse:
    """A worker's port is for probes and metrics only; the channels' routes live on the web workers."""
    if request.path not in WORKER_PATHS:
        raise web.HTTPNotFound()
    return await handler(request)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _storage(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    private_dir(settings.data_dir, settings.data_dir)
    await asyncio.to_thread(tighten, settings.data_dir)  # files left readable by an older version
    if app[RUNTIME].role == "all":
        await open_db(settings.database_url)  # one process: migrating here is safe (and locked anyway)
    else:
        # N processes start together in production: migrations run once, in `motcua migrate`.
        if pending := await pending_migrations(settings.database_url):
            raise StartupRefused(f"the database schema is not current ({', '.join(pending)} not applied): "
                                 "run `motcua migrate` first")
        await open_db(settings.database_url, run_migrations=False)
    try:
        if settings.seed_demo and not await Agency.exists():
            await seed_demo()
            app[RUNTIME].extras["demo_seeded"] = True
            log.info("seeded demo agencies and officers")
        if settings.production and (demo := await active_demo_accounts()):
            raise StartupRefused(
                f"refusing to start in production with {len(demo)} demo account(s) active "
                f"({', '.join(demo)}): deactivate or delete the demo accounts first"
            )
    except BaseException:
        await close_db()
        raise
    yield
    await close_db()


async def _background(app: web.Application) -> AsyncIterator[None]:
    rt = app[RUNTIME]
    tasks = [
        asyncio.create_task(rt.dispatcher.run(), name="outbox-dispatcher"),
        asyncio.create_task(_reminders(rt), name="due-reminders"),
        asyncio.create_task(_digests(rt), name="morning-digest"),
    ]
    if rt.settings.retention.interval_minutes > 0:
        tasks.append(asyncio.create_task(_retention(rt), name="retention-purge"))
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


async def _retention(rt: Runtime) -> None:
    """Delete personal data past its retention period (docs/privacy.md), every interval."""
    policy = rt.settings.retention
    await asyncio.sleep(RETENTION_FIRST_DELAY)  # not in the start-up rush
    while True:
        try:
            counts = await retention.purge(rt.ctx, policy)
            if any(counts.values()):
                log.info("retention purge: %s", ", ".join(f"{k}={v}" for k, v in counts.items() if v))
        except Exception:  # long-running loop: log, then continue
            log.exception("retention purge failed")
        await asyncio.sleep(policy.interval_minutes * 60.0)


async def _channels(app: web.Application) -> AsyncIterator[None]:
    """Start the chat channels (web chat always; Telegram and Zalo when configured)."""
    from bot.runtime import start_channels

    stop = await start_channels(app, app[RUNTIME])
    yield
    await stop()
