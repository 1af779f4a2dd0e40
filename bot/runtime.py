"""Start the chat channels inside the aiohttp app and register their senders.

Called from the app's startup (``backend.web.app._channels``): the OCR reader when it is
installed, the conversation engine, the web chat always, Telegram when a token is set. Each
channel's sender goes to the dispatcher too, so notifications leave by the same adapter.
Routes are added here, during startup, before aiohttp freezes the router.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.channels.webchat import WebChat
from bot.engine import Engine

if TYPE_CHECKING:
    from backend.web.app import Runtime

log = logging.getLogger(__name__)


def _ocr_reader(rt: Runtime) -> tuple[Any | None, bool]:
    """The runtime's reader (tests may set one), else a new OcrReader; (reader, ours)."""
    if rt.ocr is not None:
        return rt.ocr, False
    if rt.settings.ocr_workers <= 0:
        return None, False
    try:
        from bot.ocr import OcrReader
    except ImportError:  # OCR not installed: photos are kept as plain attachments
        log.warning("bot.ocr is not available: photos are stored without reading them")
        return None, False
    return OcrReader(rt.settings.ocr_workers), True


async def start_channels(app: web.Application, rt: Runtime) -> Callable[[], Awaitable[None]]:
    """Start every configured channel; returns the coroutine function that stops them."""
    ocr, own_ocr = _ocr_reader(rt)
    rt.ocr = ocr
    engine = Engine(rt.ctx, ocr=ocr, changed=rt.changed, lease=timedelta(seconds=rt.settings.inbox_lease_seconds))
    rt.extras["engine"] = engine

    from backend.services import catalogue as catalogue_service
    from backend.services import ratelimits, wakeups, webchat_sessions
    from backend.services.files import spool_dir
    from backend.services.webchat_store import DbWebchatStore

    wc = rt.settings.webchat
    new_sessions = ratelimits.Limit("webchat-session", wc.sessions_per_minute, 3 * wc.sessions_per_minute)
    clock = rt.ctx.clock

    async def allow_session(address: str) -> float:
        return await ratelimits.take(new_sessions, address, now=clock.now().timestamp())

    webchat = WebChat(engine.handle, sessions=webchat_sessions, allow_session=allow_session, settings=wc,
                      trusted_proxies=rt.settings.trusted_proxies, clock=clock.now,
                      secure_cookie=rt.settings.base_url.startswith("https://"),
                      store=DbWebchatStore(rt.ctx.files), uploads_dir=spool_dir(rt.ctx.files_dir),
                      **rt.extras.get("webchat_options", {}))  # tests and the benchmark: e.g. uploads_in_flight
    webchat.setup(app)
    _register(rt, engine, "webchat", webchat, webchat.fetch)

    # Across workers: a message stored by another worker releases our long poll; a catalogue
    # reload asked on another worker reloads ours (the stamp check catches missed notices).
    catalogue = rt.ctx.catalogue
    hub = wakeups.Wakeups(rt.settings.database_url)
    hub.subscribe(wakeups.WEBCHAT, webchat.wake, resync=webchat.wake_all)
    if rt.background:  # the web workers' use cases queue notices for this process's dispatcher
        hub.subscribe(wakeups.OUTBOX, lambda _key: rt.dispatcher.wake(), resync=lambda _key: rt.dispatcher.wake())
    hub.subscribe(wakeups.CATALOGUE, lambda stamp: catalogue_service.follow(catalogue, stamp),
                  resync=lambda _: catalogue_service.follow(catalogue))
    await catalogue_service.adopt_stamp(catalogue)
    await hub.start()
    follow_task = asyncio.create_task(catalogue_service.follow_forever(catalogue), name="catalogue-follow")
    rt.extras["wakeups"] = hub

    telegram = None
    if rt.settings.telegram.enabled:
        from bot.channels.telegram import WEBHOOK_PATH, TelegramChannel

        tg = rt.settings.telegram
        webhook_url = f"{rt.settings.base_url.rstrip('/')}{WEBHOOK_PATH}" if rt.settings.public_url else ""
        # ``telegram_options``: pacing and pool overrides set by tests and the benchmark.
        telegram = TelegramChannel(tg, engine.handle, webhook_url=webhook_url, accept=engine.accept,
                                   drain=engine.drain, **rt.extras.get("telegram_options", {}))
        if not telegram.polling:
            app.router.add_post(WEBHOOK_PATH, telegram.webhook)
        await telegram.start()
        _register(rt, engine, "telegram", telegram, telegram.fetch)
        rt.extras["telegram"] = telegram
        rt.extras["telegram_username"] = telegram.app.bot.username  # for the console's deep links (getMe)
        log.info("telegram started (%s)", tg.mode)

    zalo = None
    if rt.settings.zalo.enabled:
        from backend.services import locks
        from backend.services.keyvalue import get_value, set_value
        from bot.channels.zalo import WEBHOOK_PATH as ZALO_PATH
        from bot.channels.zalo import KeyValueOffers, KeyValueTokenStore, ZaloChannel, initial_pair

        store = KeyValueTokenStore(get_value, set_value, initial_pair(rt.settings.zalo))
        zalo = ZaloChannel(rt.settings.zalo, engine.handle, store, accept=engine.accept, drain=engine.drain,
                           offers=KeyValueOffers(get_value, set_value),
                           refresh_lock=lambda work: locks.exclusively(locks.ZALO_TOKEN, work))
        app.router.add_post(ZALO_PATH, zalo.webhook)
        await zalo.start()
        _register(rt, engine, "zalo", zalo, zalo.fetch, zalo.as_button)
        rt.extras["zalo"] = zalo
        log.info("zalo started")

    # Every process picks up updates left unhandled by a crash (claims keep them from clashing).
    recovery = asyncio.create_task(engine.recover(), name="inbox-recovery")

    async def stop() -> None:
        recovery.cancel()
        await asyncio.gather(recovery, return_exceptions=True)
        follow_task.cancel()
        await asyncio.gather(follow_task, return_exceptions=True)
        await hub.stop()
        if zalo is not None:
            await zalo.stop()
        if telegram is not None:
            await telegram.stop()
        if own_ocr and ocr is not None:
            await ocr.close()

    return stop


def _register(rt: Runtime, engine: Engine, name: str, sender: Any, fetch: Any, translate: Any = None) -> None:
    engine.register(name, sender, fetch, translate)
    rt.senders[name] = sender
    rt.dispatcher.senders[name] = engine.watched(name, sender)
