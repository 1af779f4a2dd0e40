"""Zalo Official Account: translation between the OA API v3 and the engine.

Inbound: ``POST /zalo/webhook`` verifies ``X-ZEvent-Signature`` (a missing or wrong one is
refused with 401) and the event's timestamp (outside ``webhook_tolerance_minutes`` of now: a
replay, refused with 401), parses the event, answers 200 at once and hands the ``Inbound`` to the
engine in the background (Zalo wants an answer within about 2 s and retries; the engine
de-duplicates on ``msg_id``). Zalo has no callback buttons: ``oa.query.show`` sends the
button's payload back as if typed; it is mapped back to ``Inbound.button`` from the last
buttons offered to that user (kept in the database by the app: any worker, any restart). A
typed menu number is the engine's to read.

Outbound: ``Text`` → ``send_text`` (with buttons and the numbered menu), ``Image`` → upload
and send, ``Document`` → upload and send the PDF. ``ZaloError`` becomes ``DeliveryError``:
token and rate problems are retried; an unreachable user (outside the reply window) is not.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web

from backend.domain.messages import Attachment, Button, DeliveryError, Document, Image, Inbound, Outbound, Text
from backend.settings import ZaloSettings
from bot.channels.zalo_client import (
    RefreshLock,
    TokenPair,
    ZaloError,
    ZaloOaClient,
    echoed_button,
    flatten_buttons,
)
from bot.channels.zalo_webhook import age_seconds, parse_event, verify_signature

log = logging.getLogger(__name__)

CHANNEL = "zalo"
WEBHOOK_PATH = "/zalo/webhook"
SIGNATURE_HEADER = "X-ZEvent-Signature"
TOKEN_KEY = "zalo.token_pair"
OFFERED_KEY = "zalo.offered:"  # + user id: the buttons of the last message with buttons
MEMORY = 5000  # users whose last offered buttons an in-memory ``Offers`` remembers

Handle = Callable[[Inbound], Awaitable[None]]
LoadJson = Callable[[str], Awaitable[Any]]
SaveJson = Callable[[str, Any], Awaitable[None]]


class KeyValueTokenStore:
    """The token pair kept in our database through two callables (no ORM in channels)."""

    def __init__(self, load: LoadJson, save: SaveJson, initial: TokenPair | None = None) -> None:
        self._load, self._save, self._initial = load, save, initial

    async def load(self) -> TokenPair | None:
        data = await self._load(TOKEN_KEY)
        if data:
            return TokenPair.from_json(data)
        return self._initial

    async def save(self, pair: TokenPair) -> None:
        await self._save(TOKEN_KEY, pair.to_json())


class MemoryOffers:
    """Offered buttons in this process only (tests and tools): lost on restart."""

    def __init__(self) -> None:
        self._lru: OrderedDict[str, tuple[Button, ...]] = OrderedDict()

    async def get(self, user_id: str) -> tuple[Button, ...]:
        return self._lru.get(user_id, ())

    async def put(self, user_id: str, buttons: tuple[Button, ...]) -> None:
        if not buttons:
            self._lru.pop(user_id, None)
            return
        self._lru[user_id] = buttons
        self._lru.move_to_end(user_id)
        while len(self._lru) > MEMORY:
            self._lru.popitem(last=False)


class KeyValueOffers:
    """Offered buttons kept in our database through two callables: every worker reads the same."""

    def __init__(self, load: LoadJson, save: SaveJson) -> None:
        self._load, self._save = load, save

    async def get(self, user_id: str) -> tuple[Button, ...]:
        data = await self._load(OFFERED_KEY + user_id)
        if not isinstance(data, list):
            return ()
        return tuple(Button(str(b["label"]), str(b["data"])) for b in data if isinstance(b, dict))

    async def put(self, user_id: str, buttons: tuple[Button, ...]) -> None:
        if not buttons and not await self.get(user_id):
            return  # nothing offered before either: no write
        await self._save(OFFERED_KEY + user_id, [{"label": b.label, "data": b.data} for b in buttons])


class ZaloChannel:
    """The Zalo adapter: the engine's sender and fetcher, and the webhook view."""

    name = CHANNEL

    def __init__(self, settings: ZaloSettings, handle: Handle, token_store: Any,
                 session: aiohttp.ClientSession | None = None, now: Callable[[], float] = time.time,
                 offers: MemoryOffers | KeyValueOffers | None = None,
                 refresh_lock: RefreshLock | None = None,
                 accept: Callable[[Inbound], Awaitable[Inbound]] | None = None,
                 drain: Callable[[str, str], Awaitable[None]] | None = None) -> None:
        self.settings = settings
        self.accept, self.drain = accept, drain  # the engine's inbox; without it, ``handle`` alone
        self.now = now  # epoch seconds: a signed event far from it is a replay
        self.handle = handle
        self.token_store = token_store
        self._session = session
        self._own_session = session is None
        self.client: ZaloOaClient | None = None
        self.offers = offers or MemoryOffers()  # user → buttons of the last message with buttons
        self.refresh_lock = refresh_lock
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self.client = ZaloOaClient(
            self._session, app_id=self.settings.app_id, app_secret=self.settings.app_secret,
            token_store=self.token_store, api_base=self.settings.api_base,
            oauth_base=self.settings.oauth_base, buttons_enabled=self.settings.buttons,
            refresh_lock=self.refresh_lock,
        )

    async def stop(self) -> None:
        """Let the turns already taken finish, then close the HTTP session."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=30)
        if self._own_session and self._session is not None:
            await self._session.close()

    # -- inbound ----------------------------------------------------------------------------
    async def webhook(self, request: web.Request) -> web.Response:
        """POST /zalo/webhook: verify, parse, start the turn in the background, answer 200."""
        raw = await request.read()
        if not verify_signature(raw, request.headers.get(SIGNATURE_HEADER), self.settings.oa_secret_key):
            return web.json_response({"error": "bad signature"}, status=401)
        try:
            body = json.loads(raw)
        except ValueError:
            return web.json_response({"error": "bad json"}, status=400)
        age = age_seconds(body, self.now()) if isinstance(body, dict) else None
        if age is None:
            return web.json_response({"error": "bad timestamp"}, status=400)
        if abs(age) > self.settings.webhook_tolerance_minutes * 60:
            log.warning("zalo webhook refused: timestamp %.0f s from now", age)
            return web.json_response({"error": "stale event"}, status=401)
        try:
            inbound = parse_event(body)
        except (AttributeError, TypeError, ValueError, OverflowError):  # wrong types in a signed body
            inbound = None
            log.warning("zalo webhook: malformed event ignored")
        if inbound is not None and not isinstance(inbound.text, str | None):
            log.warning("zalo webhook: malformed event ignored")
            inbound = None
        if inbound is not None and self.accept is not None:
            # In the inbox before Zalo hears 200 (a retried delivery is dropped there, by event id).
            inbound = await self.accept(inbound)  # read as a button when handled (engine's translate)
        if inbound is not None:
            task = asyncio.create_task(self._turn(inbound))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.json_response({"error": 0})

    async def as_button(self, inbound: Inbound) -> Inbound:
        """A button's echoed text (``oa.query.show``) becomes the button press it means.

        Typed menu numbers are left to the engine, which knows when a number is an answer.
        """
        if not inbound.text or inbound.attachments:
            return inbound
        offered = await self.offers.get(inbound.user_id)
        if offered:
            chosen = echoed_button(inbound.text, offered)
            if chosen is not None:
                return replace(inbound, text=None, button=chosen.data)
        return inbound

    async def _turn(self, inbound: Inbound) -> None:
        try:
            if self.drain is not None:
                await self.drain(inbound.channel, inbound.user_id)
            else:
                await self.handle(await self.as_button(inbound))
        except Exception:  # a background turn: log it; the engine already answered what it could
            log.exception("zalo turn failed for event %s", inbound.event_id)

    async def fetch(self, att: Attachment) -> bytes:
        """Attachment URLs are plain GETs; fetch at once (they expire)."""
        try:
            return await self._client.download(att.ref)
        except ZaloError as exc:
            raise DeliveryError(str(exc), retryable=exc.retryable) from exc

    # -- outbound ---------------------------------------------------------------------------
    async def send(self, user_id: str, message: Outbound) -> None:
        try:
            if isinstance(message, Text):
                buttons = flatten_buttons(message.buttons)
                await self._client.send_text(user_id, message.text, buttons=message.buttons or None)
                # A newer question without buttons clears them: a typed "2" is an answer now.
                await self.offers.put(user_id, tuple(b for b in buttons if not b.url))
            elif isinstance(message, Image):
                await self._client.send_image(user_id, message.data, caption=message.caption)
            elif isinstance(message, Document):
                await self._client.send_file(user_id, message.data, message.filename)
                if message.caption:
                    await self._client.send_text(user_id, message.caption)
        except ZaloError as exc:
            raise DeliveryError(str(exc), retryable=exc.retryable, retry_after=exc.retry_after) from exc

    @property
    def _client(self) -> ZaloOaClient:
        if self.client is None:
            raise RuntimeError("ZaloChannel.start() was not called")
        return self.client


def initial_pair(settings: ZaloSettings) -> TokenPair | None:
    """The first token pair from the environment; later pairs come from the store."""
    if not settings.refresh_token:
        return None
    return TokenPair(settings.access_token or "", settings.refresh_token, None)


__all__ = ["CHANNEL", "WEBHOOK_PATH", "Button", "KeyValueOffers", "KeyValueTokenStore", "MemoryOffers",
           "ZaloChannel", "initial_pair"]
