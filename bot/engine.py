"""The channel-neutral conversation engine (bộ máy hội thoại).

One turn: take the user's lock, claim the event id and load the stored conversation (one
statement; an event already handled is dropped), route to a step function, save the state
(guarded by the row's version), and only then send the replies. The event is claimed before
the step runs, so a repeated event never runs a use case twice; the channels acknowledge an
update before it is handled anyway (webhook answered at once, polling offset confirmed), so
a crash mid-turn loses that message either way. A typed error from a step becomes a
reply here, in one place. State lives in the database, so a restart or a second worker
loses nothing; the per-user lock keeps two updates of one user in order in this process,
the version column catches the rare race between processes (the turn is run again on the
fresh state).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Protocol

from backend.domain.messages import Attachment, Conversation, DeliveryError, Inbound, Outbound, Text
from backend.domain.text import clean_text
from backend.domain.workflow import WorkflowError
from backend.services import citizens, conversations
from backend.services.context import ServiceContext
from backend.services.errors import ServiceError
from bot import texts
from bot.handlers import route
from bot.handlers.base import MAX_FILE_BYTES, ChatError, Fetch, Services

__all__ = ["ChatError", "Engine", "Services"]

log = logging.getLogger(__name__)

EVENT_RETENTION = timedelta(days=7)
IDENTIFY_EVERY = 60.0  # seconds
SEND_RETRIES = 2


class ChannelSender(Protocol):
    async def send(self, user_id: str, message: Outbound) -> None: ...


@dataclass
class _Channel:
    sender: ChannelSender
    fetch: Fetch


class Engine:
    """Entry point for every channel: ``await engine.handle(inbound)``."""

    def __init__(self, ctx: ServiceContext, *, ocr: Any | None = None,
                 changed: Callable[[], None] = lambda: None,
                 max_file_bytes: int = MAX_FILE_BYTES) -> None:
        self.ctx = ctx
        self.ocr = ocr
        self.changed = changed
        self.max_file_bytes = max_file_bytes
        self.channels: dict[str, _Channel] = {}
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}
        self._identities: dict[tuple[str, str], tuple[int, int, float]] = {}
        self._turns = 0

    def register(self, channel: str, sender: ChannelSender, fetch: Fetch) -> None:
        """A channel adapter offers its sender (replies) and its file downloader."""
        self.channels[channel] = _Channel(sender, fetch)

    def watched(self, channel: str, sender: ChannelSender) -> ChannelSender:
        """The sender as the dispatcher should use it: a user found unreachable is identified
        afresh on their next message, which releases what was held for them."""
        return _Watched(self, channel, sender)

    def forget(self, channel: str, user_id: str) -> None:
        self._identities.pop((channel, user_id), None)

    async def handle(self, inbound: Inbound) -> None:
        """Handle one user event; replies are sent before the next event of that user."""
        inbound = cleaned(inbound)
        key = (inbound.channel, inbound.user_id)
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:  # taken before any await: updates of one user stay in order
                replies = await self._turn(inbound)
                await self._send(inbound, replies)
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def _turn(self, inbound: Inbound) -> list[Outbound]:
        # The claim and the state come in one statement; identify is cached and runs beside it.
        stored, (identity_id, citizen_id) = await asyncio.gather(
            conversations.claim_and_load(inbound.channel, inbound.user_id, inbound.event_id, self.ctx.clock.now()),
            self._identify(inbound))
        if stored is None:
            return []  # a webhook retried, or an update seen twice
        channel = self.channels.get(inbound.channel)
        svc = Services(
            ctx=self.ctx, ocr=self.ocr, fetch=channel.fetch if channel else _no_fetch,
            changed=self.changed, channel=inbound.channel, user_id=inbound.user_id,
            identity_id=identity_id, citizen_id=citizen_id, max_file_bytes=self.max_file_bytes,
            origin=inbound.origin or "",
        )
        for attempt in range(3):
            if attempt:
                stored = await conversations.load(inbound.channel, inbound.user_id)
            conv = Conversation(inbound.channel, inbound.user_id, stored.step, copy.deepcopy(stored.data))
            replies = await self._run_step(inbound, conv, svc)
            if await self._save(stored, conv):
                break
            log.info("conversation on %s changed under us; running the turn again", inbound.channel)
        else:
            return [Text(texts.BUSY)]
        self._turns += 1
        if self._turns % 1000 == 0:
            await conversations.purge_events(self.ctx.clock.now() - EVENT_RETENTION)
        return replies

    async def _identify(self, inbound: Inbound) -> tuple[int, int]:
        """The citizen behind the chat; ``citizens.identify`` (which records the contact and
        releases held notifications) at most once a minute per user, not on every message."""
        key = (inbound.channel, inbound.user_id)
        now = time.monotonic()
        known = self._identities.get(key)
        if known is not None and now - known[2] < IDENTIFY_EVERY:
            return known[0], known[1]
        ident = await citizens.identify(self.ctx, inbound.channel, inbound.user_id,
                                        inbound.display_name or "")
        self._identities[key] = (ident.id, ident.citizen_id, now)  # type: ignore[attr-defined]
        if len(self._identities) > 100_000:
            for old in list(self._identities)[:20_000]:
                del self._identities[old]
        return ident.id, ident.citizen_id  # type: ignore[attr-defined]

    async def _run_step(self, inbound: Inbound, conv: Conversation, svc: Services) -> list[Outbound]:
        """Route to the step; a typed error becomes the reply and leaves the state as it was."""
        before_step, before_data = conv.step, copy.deepcopy(conv.data)
        try:
            replies, next_step = await route(inbound, conv, svc)
            conv.step = next_step
            return replies
        except (ChatError, ServiceError, WorkflowError) as exc:
            conv.step, conv.data = before_step, before_data
            return [Text(str(exc))]
        except Exception:  # a bug must not kill the chat: log, answer, keep the old state
            log.exception("step %s failed", before_step)
            conv.step, conv.data = before_step, before_data
            return [Text(texts.BUSY)]

    async def _save(self, stored: conversations.StoredConversation, conv: Conversation) -> bool:
        """Write the new state if it changed, guarded by the version; False when another
        worker moved the row on meanwhile."""
        if conv.step == stored.step and conv.data == stored.data:
            return True  # nothing to write (a menu shown again, a typed error answered)
        return await conversations.save(stored, conv.step, conv.data, self.ctx.clock.now())

    async def _send(self, inbound: Inbound, replies: list[Outbound]) -> None:
        channel = self.channels.get(inbound.channel)
        if channel is None or not replies:
            return
        for message in replies:
            for attempt in range(SEND_RETRIES + 1):
                try:
                    await channel.sender.send(inbound.user_id, message)
                    break
                except DeliveryError as exc:
                    if not exc.retryable or attempt == SEND_RETRIES:
                        log.warning("reply not delivered on %s: %s", inbound.channel, exc.reason)
                        return
                    await asyncio.sleep(min(exc.retry_after or 0.5 * (attempt + 1), 5.0))


MAX_TEXT = 4000  # longer than any channel's message; a form answer is checked shorter still
MAX_DISPLAY_NAME = 100


def cleaned(inbound: Inbound) -> Inbound:
    """The event with its text, button data and display name cleaned of NUL and control
    characters: every channel's input passes here before it reaches a step or the database."""
    return replace(
        inbound,
        text=None if inbound.text is None else clean_text(inbound.text, limit=MAX_TEXT),
        button=None if inbound.button is None else clean_text(inbound.button, multiline=False, limit=256),
        display_name=None if inbound.display_name is None
        else clean_text(inbound.display_name, multiline=False, limit=MAX_DISPLAY_NAME),
        attachments=tuple(replace(a, filename=clean_text(a.filename, multiline=False, limit=200))
                          if a.filename else a for a in inbound.attachments),
    )


@dataclass
class _Watched:
    engine: Engine
    channel: str
    sender: ChannelSender

    async def send(self, user_id: str, message: Outbound) -> None:
        try:
            await self.sender.send(user_id, message)
        except DeliveryError as exc:
            if not exc.retryable:
                self.engine.forget(self.channel, user_id)
            raise


async def _no_fetch(att: Attachment) -> bytes:
    raise ChatError(texts.FETCH_FAILED)
