"""Telegram through python-telegram-bot v22: translation only.

``Update`` → ``Inbound`` for the engine; ``Outbound`` → ``send_message`` / ``send_photo`` /
``send_document`` with inline keyboards. The Application is built with ``.updater(None)``:
every update is stored in the engine's inbox (``accept``) before Telegram hears back — the
webhook answers after it, and polling asks for the next updates (which confirms these) only
after it — then PTB's queue hands it on to ``drain``. Webhook mode: our aiohttp app serves
``/telegram/webhook`` (secret checked in constant time; no secret configured = refuse).
Sending is paced per chat (Telegram asks for about one message a second in a private chat)
and a 429 becomes ``DeliveryError(retryable=True, retry_after=…)`` with the server's wait.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBDeprecationWarning

from backend.domain.messages import Attachment, Button, DeliveryError, Document, Image, Inbound, Outbound, Text
from backend.services.metrics import rate_limited
from backend.settings import TelegramSettings
from bot.channels.telegram_http import AiohttpRequest

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
MAX_TEXT = 4096  # Bot API limit of one message
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes

Handle = Callable[[Inbound], Awaitable[None]]
Accept = Callable[[Inbound], Awaitable[Inbound]]
Drain = Callable[[str, str], Awaitable[None]]


# -- Update → Inbound (pure) ------------------------------------------------------------------
def to_inbound(update: Update) -> Inbound | None:
    """The engine's view of an update; None for what a private chat bot ignores."""
    query = update.callback_query
    if query is not None:
        chat_id = query.message.chat.id if query.message else query.from_user.id
        return Inbound(
            channel=CHANNEL, user_id=str(chat_id), event_id=str(update.update_id),
            button=query.data or "", display_name=query.from_user.full_name,
            reply_to=str(query.message.message_id) if query.message else None,
        )
    msg = update.message
    if msg is None or msg.chat.type != "private":
        return None  # edits, channel posts, groups: not a citizen's turn
    attachments = _attachments(msg)
    text = msg.text or msg.caption
    if text is None and not attachments:
        attachments = (Attachment(kind="other", ref=""),)  # a contact, a poll, a dice…
    return Inbound(
        channel=CHANNEL, user_id=str(msg.chat.id), event_id=str(update.update_id), text=text,
        attachments=attachments, display_name=msg.from_user.full_name if msg.from_user else None,
        sent_at=msg.date,
    )


def _attachments(msg: Message) -> tuple[Attachment, ...]:
    if msg.photo:
        best = max(msg.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return (Attachment("image", best.file_id, "image/jpeg", best.file_size),)
    if msg.sticker:
        return (Attachment("sticker", msg.sticker.file_id),)
    if msg.voice or msg.audio:
        media = msg.voice or msg.audio
        return (Attachment("audio", media.file_id, media.mime_type, media.file_size),)  # type: ignore[union-attr]
    if msg.video or msg.video_note or msg.animation:  # an animation also sets ``document``
        media = msg.video or msg.video_note or msg.animation
        return (Attachment("video", media.file_id, None, media.file_size),)  # type: ignore[union-attr]
    if msg.document:
        doc = msg.document
        kind = "image" if (doc.mime_type or "").startswith("image/") else "file"
        return (Attachment(kind, doc.file_id, doc.mime_type, doc.file_size, doc.file_name),)  # type: ignore[arg-type]
    if msg.location or msg.venue:
        return (Attachment("location", ""),)
    return ()


# -- Outbound → Bot API ---------------------------------------------------------------------
def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(b.label, url=b.url) if b.url else
         InlineKeyboardButton(b.label, callback_data=_callback_data(b.data)) for b in row]
        for row in rows
    ])


def _callback_data(data: str) -> str:
    if len(data.encode()) > MAX_CALLBACK_DATA:
        raise DeliveryError(f"button data longer than {MAX_CALLBACK_DATA} bytes", retryable=False)
    return data


class _Pacer:
    """Per-chat token bucket: a short burst, then ``rate`` messages a second; optionally an
    overall cap. Slots are reserved without awaiting, so concurrent senders queue fairly."""

    def __init__(self, rate: float, burst: int, overall: float | None) -> None:
        self.rate, self.burst, self.overall = rate, burst, overall
        self._chats: dict[str, tuple[float, float]] = {}  # chat -> (tokens, at)
        self._next_overall = 0.0

    async def wait(self, chat: str) -> None:
        if self.rate <= 0:
            return
        now = asyncio.get_running_loop().time()
        tokens, at = self._chats.get(chat, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate) - 1.0
        delay = 0.0 if tokens >= 0 else -tokens / self.rate
        if self.overall:
            slot = max(now + delay, self._next_overall)
            self._next_overall = slot + 1.0 / self.overall
            delay = slot - now
        self._chats[chat] = (tokens, now)
        if len(self._chats) > 50_000:  # forget the oldest chats (full buckets anyway)
            for key in list(self._chats)[:10_000]:
                del self._chats[key]
        if delay > 0:
            await asyncio.sleep(delay)


class TelegramChannel:
    """The Telegram adapter: an engine sender, a file fetcher, and the webhook view."""

    name = CHANNEL

    def __init__(self, settings: TelegramSettings, handle: Handle, *, webhook_url: str = "",
                 per_chat_rate: float = 1.0, per_chat_burst: int = 3, overall_rate: float | None = None,
                 pool_size: int = 256, poll_timeout: float = 10.0,
                 accept: Accept | None = None, drain: Drain | None = None) -> None:
        # PTB 22 reads durations as ints with a deprecation warning unless told to use
        # timedelta (the future default); our code takes either.
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        self.settings = settings
        self.handle = handle
        self.accept, self.drain = accept, drain  # the engine's inbox; without it, ``handle`` alone
        self.webhook_url = webhook_url
        self._poller: asyncio.Task[None] | None = None
        self.poll_timeout = poll_timeout
        self._pacer = _Pacer(per_chat_rate, per_chat_burst, overall_rate)
        self._accepting = False
        builder = (
            ApplicationBuilder().token(settings.token)
            .base_url(settings.api_base_url).base_file_url(settings.file_base_url)
            .concurrent_updates(1024)  # the engine keeps each user's updates in order
        )
        if settings.http == "httpx":  # PTB's own transport, kept as a fallback
            builder = (builder.connection_pool_size(pool_size).pool_timeout(30.0)
                       .read_timeout(15.0).write_timeout(30.0).connect_timeout(10.0)
                       .get_updates_connection_pool_size(2).get_updates_read_timeout(poll_timeout + 5.0))
        else:
            builder = (builder.request(AiohttpRequest(pool_size=pool_size))
                       .get_updates_request(AiohttpRequest(pool_size=2, read_timeout=poll_timeout + 5.0)))
        builder = builder.updater(None)  # we poll ourselves: an update is stored before it is confirmed
        self.app: Application = builder.build()  # type: ignore[type-arg]
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.app.add_error_handler(self._on_error)

    @property
    def polling(self) -> bool:
        return self.settings.mode != "webhook"

    # -- life cycle --------------------------------------------------------------------------
    async def start(self) -> None:
        await self.app.initialize()  # getMe
        await self.app.start()
        if self.polling:
            await self.app.bot.delete_webhook(drop_pending_updates=False)
            self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
        elif self.webhook_url:
            await self.app.bot.set_webhook(self.webhook_url, secret_token=self.settings.webhook_secret,
                                           allowed_updates=ALLOWED_UPDATES)
        self._accepting = True

    async def stop(self) -> None:
        """Stop taking updates, finish those already queued, then stop PTB."""
        self._accepting = False
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        if self.app.running:
            await self.app.update_queue.join()  # drain: app.stop() would drop what is queued
            await self.app.stop()
        await self.app.shutdown()

    # -- inbound -------------------------------------------------------------------------------
    async def webhook(self, request: web.Request) -> web.Response:
        """POST /telegram/webhook: verify, parse, queue, answer at once."""
        secret = self.settings.webhook_secret
        got = request.headers.get(SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(got.encode(), secret.encode()):
            return web.Response(status=403, text="forbidden")
        if not self._accepting:
            return web.Response(status=503, text="starting or stopping")  # Telegram retries
        try:
            data = await request.json()
        except ValueError:  # not JSON, or not UTF-8
            return web.Response(status=400, text="bad update")
        update = self._parse(data)
        if update is None:  # answered 200: Telegram would retry a refused update for a day
            log.warning("telegram webhook: malformed update ignored")
            return web.Response(text="ignored")
        await self._store(update)  # in the inbox before Telegram hears 200
        await self.app.update_queue.put(update)
        return web.Response(text="ok")

    async def _store(self, update: Update) -> None:
        inbound = to_inbound(update)
        if inbound is not None and self.accept is not None:
            await self.accept(inbound)

    async def _poll(self) -> None:
        """getUpdates in a loop; asking with the next offset confirms what came before, so
        each batch is stored in the inbox first (a crash loses nothing Telegram forgot)."""
        offset: int | None = None
        while self._accepting:
            try:
                updates = await self.app.bot.get_updates(
                    offset=offset, timeout=timedelta(seconds=self.poll_timeout), allowed_updates=ALLOWED_UPDATES)
            except RetryAfter as exc:
                await asyncio.sleep(min(_delivery_error(exc).retry_after or 1.0, 60.0))
                continue
            except (TimedOut, NetworkError) as exc:
                log.info("telegram polling: %s", exc.message)
                await asyncio.sleep(1.0)
                continue
            except TelegramError as exc:
                log.warning("telegram polling failed: %s", exc.message)
                await asyncio.sleep(5.0)
                continue
            for update in updates:
                await self._store(update)
                await self.app.update_queue.put(update)
            if updates:
                offset = updates[-1].update_id + 1

    def _parse(self, data: object) -> Update | None:
        """The update in a webhook body, None when it is not one we can read."""
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            return None
        try:
            update = Update.de_json(data, self.app.bot)
            inbound = to_inbound(update)
        except Exception:  # PTB's parsers raise any of TypeError, AttributeError, KeyError… on wrong types
            return None
        if inbound is not None and not all(isinstance(v, str | None) for v in
                                           (inbound.text, inbound.button, inbound.display_name)):
            return None
        return update

    async def _on_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        inbound = to_inbound(update)
        try:
            if inbound is not None and self.drain is not None:
                await self.drain(inbound.channel, inbound.user_id)  # stored already: handle what waits
            elif inbound is not None:
                await self.handle(inbound)
        finally:
            if update.callback_query is not None:
                try:
                    await update.callback_query.answer()  # stops the button's spinner
                except TelegramError as exc:  # an old query (> 15 min) cannot be answered
                    log.info("callback answer failed: %s", exc.message)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed: %r", context.error, exc_info=context.error)

    async def fetch(self, att: Attachment) -> bytes:
        """Download a file the user sent (the engine checked ``att.size`` first)."""
        try:
            file = await self.app.bot.get_file(att.ref)
            return bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            raise _delivery_error(exc) from exc

    # -- outbound -----------------------------------------------------------------------------
    async def send(self, user_id: str, message: Outbound) -> None:
        await self._pacer.wait(user_id)
        bot = self.app.bot
        try:
            if isinstance(message, Text):
                await bot.send_message(chat_id=user_id, text=message.text[:MAX_TEXT],
                                       reply_markup=keyboard(message.buttons))
            elif isinstance(message, Image):
                await bot.send_photo(chat_id=user_id, photo=message.data, filename=message.filename,
                                     caption=_caption(message.caption))
            elif isinstance(message, Document):
                await bot.send_document(chat_id=user_id, document=message.data,
                                        filename=message.filename, caption=_caption(message.caption))
            else:
                raise DeliveryError(f"cannot send {type(message).__name__}", retryable=False)
        except TelegramError as exc:
            raise _delivery_error(exc) from exc


def _caption(caption: str | None) -> str | None:
    return caption[:MAX_CAPTION] if caption else None


def _delivery_error(exc: TelegramError) -> DeliveryError:
    """Bot API errors in the dispatcher's terms: retry later, or the user cannot be reached."""
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns on reading it as int; we take either
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            wait: Any = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        rate_limited("telegram")
        return DeliveryError(f"rate limited ({seconds:.0f} s)", retryable=True, retry_after=seconds)
    if isinstance(exc, Forbidden):  # blocked by the user, or the user is deactivated
        return DeliveryError(f"forbidden: {exc.message}", retryable=False)
    if isinstance(exc, BadRequest):  # chat not found, message malformed: trying again won't help
        return DeliveryError(f"bad request: {exc.message}", retryable=False)
    if isinstance(exc, (TimedOut, NetworkError)):
        return DeliveryError(f"network: {exc.message}", retryable=True)
    return DeliveryError(f"telegram: {exc.message}", retryable=True)
