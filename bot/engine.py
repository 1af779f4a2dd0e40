"""The channel-neutral conversation engine (bộ máy hội thoại).

Every update goes to the inbox first (``backend.services.inbox``): ``accept`` stores it, and a
webhook answers only after that; ``drain`` then handles what the chat has waiting, oldest
first, under the chat's lock in this process (and the inbox's claim across workers). One
turn: the claim reads the chat's stored state in the same statement; the step runs (a use
case with a side effect runs once per event: ``Services.event_key``); then one transaction
saves the state, queues the replies in the outbox and marks the update handled; only then
are the replies sent, here, and marked sent. A crash before that transaction leaves the
update to be handled again (``recover``); a crash after it leaves the replies to the
dispatcher. A typed error from a step becomes a reply here, in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Protocol

from backend.domain import logctx
from backend.domain.messages import DELIVERY_KEY, Attachment, Conversation, DeliveryError, Inbound, Outbound, Text
from backend.domain.text import clean_text
from backend.domain.workflow import WorkflowError
from backend.services import citizens, conversations, inbox, metrics
from backend.services.context import ServiceContext
from backend.services.errors import ServiceError
from bot import texts
from bot.handlers import route
from bot.handlers.base import MAX_FILE_BYTES, ChatError, Fetch, Services

__all__ = ["ChatError", "Engine", "Services"]

log = logging.getLogger(__name__)

IDENTIFY_EVERY = 60.0  # seconds
SEND_RETRIES = 2


class ChannelSender(Protocol):
    async def send(self, user_id: str, message: Outbound) -> None: ...


Translate = Callable[[Inbound], Awaitable[Inbound]]


@dataclass
class _Channel:
    sender: ChannelSender
    fetch: Fetch
    translate: Translate | None = None  # the channel's reading of an update when it is handled


class Engine:
    """Entry point for every channel: ``await engine.handle(inbound)``."""

    def __init__(self, ctx: ServiceContext, *, ocr: Any | None = None,
                 changed: Callable[[], None] = lambda: None,
                 max_file_bytes: int = MAX_FILE_BYTES, lease: timedelta = inbox.LEASE) -> None:
        self.ctx = ctx
        self.lease = lease
        self.ocr = ocr
        self.changed = changed
        self.max_file_bytes = max_file_bytes
        self.channels: dict[str, _Channel] = {}
        self._puts, self._turns = KeyedLocks(), KeyedLocks()
        self._identities: dict[tuple[str, str], tuple[int, int, float]] = {}

    def register(self, channel: str, sender: ChannelSender, fetch: Fetch, translate: Translate | None = None) -> None:
        """A channel adapter offers its sender (replies), its file downloader, and optionally
        how to read a stored update at handling time (Zalo: an echoed button label)."""
        self.channels[channel] = _Channel(sender, fetch, translate)

    def watched(self, channel: str, sender: ChannelSender) -> ChannelSender:
        """The sender as the dispatcher should use it: a user found unreachable is identified
        afresh on their next message, which releases what was held for them."""
        return _Watched(self, channel, sender)

    def forget(self, channel: str, user_id: str) -> None:
        self._identities.pop((channel, user_id), None)

    async def handle(self, inbound: Inbound) -> None:
        """Store the update, then handle what this chat has waiting (this update included)."""
        inbound = await self.accept(inbound)
        await self.drain(inbound.channel, inbound.user_id)

    async def accept(self, inbound: Inbound) -> Inbound:
        """Store the update in the inbox (a repeated event id is dropped there): after this
        returns, a crash loses nothing. Returns the cleaned update. One chat's updates are
        stored in the order they arrived here (the lock is taken before any await)."""
        inbound = cleaned(inbound)
        async with self._puts.hold((inbound.channel, inbound.user_id)):
            await inbox.put(inbound, self.ctx.clock.now())
        return inbound

    async def drain(self, channel: str, user_id: str) -> None:
        """Handle the chat's waiting updates in order; replies are sent before the next one."""
        async with self._turns.hold((channel, user_id)):
            while (claimed := await inbox.claim(channel, user_id, self.ctx.clock.now(), self.lease)) is not None:
                started, outcome = time.monotonic(), "error"
                with logctx.bind(update=claimed.id, channel=channel):
                    renewing = asyncio.create_task(self._renew(claimed.id))
                    try:
                        replies, outbox_ids = await self._turn(claimed)
                        outcome = "ok" if outbox_ids or not replies else "superseded"
                    finally:
                        renewing.cancel()
                        metrics.observe_turn(channel, time.monotonic() - started, outcome)
                    await self._send(claimed.inbound, replies, outbox_ids)
                if not claimed.later:
                    break  # nothing was waiting behind it; whoever stores the next one drains it

    async def _renew(self, update_id: int) -> None:
        """Keep the claim while the turn runs, so a crash (not a slow turn) frees it."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await inbox.renew(update_id, self.ctx.clock.now(), self.lease)
            except Exception:  # the next renewal tries again; the lease is three times as long
                log.warning("inbox lease renewal failed", exc_info=True)

    async def recover(self, *, interval: float = 2.0, grace: timedelta = timedelta(seconds=5)) -> None:
        """Forever: handle updates nobody is handling (a crash after storing, or mid-turn)."""
        while True:
            try:
                await self.recover_once(grace=grace)
            except Exception:  # long-running loop: log, then continue
                log.exception("inbox recovery pass failed")
            await asyncio.sleep(interval)

    async def recover_once(self, *, grace: timedelta = timedelta(seconds=5)) -> int:
        chats = await inbox.stale_chats(self.ctx.clock.now(), grace=grace)
        for channel, user_id in chats:
            await self.drain(channel, user_id)
        return len(chats)

    async def _turn(self, claimed: inbox.Claimed) -> tuple[list[Outbound], list[int]]:
        channel = self.channels.get(claimed.inbound.channel)
        if channel is not None and channel.translate is not None:
            claimed.inbound = await channel.translate(claimed.inbound)
        inbound = claimed.inbound
        identity_id, citizen_id = await self._identify(inbound)
        svc = Services(
            ctx=self.ctx, ocr=self.ocr, fetch=channel.fetch if channel else _no_fetch,
            changed=self.changed, channel=inbound.channel, user_id=inbound.user_id,
            identity_id=identity_id, citizen_id=citizen_id, max_file_bytes=self.max_file_bytes,
            origin=inbound.origin or "", event_key=f"{inbound.channel}:{inbound.event_id}",
        )
        for attempt in range(3):
            if attempt:  # the state moved on under us: run the step again on the fresh one
                claimed.state = await conversations.load(inbound.channel, inbound.user_id)
            stored = claimed.state
            conv = Conversation(inbound.channel, inbound.user_id, stored.step, copy.deepcopy(stored.data))
            replies = await self._run_step(inbound, conv, svc)
            changed = conv.step != stored.step or conv.data != stored.data
            try:
                ids = await inbox.finish(claimed, conv.step, conv.data, replies, self.ctx.clock.now(),
                                         save_state=changed, reply_lease=self.lease)
                return replies, ids
            except inbox.AlreadyHandled:
                return [], []  # another worker finished it after our lease ran out
            except inbox.StateMoved:
                log.info("conversation on %s changed under us; running the turn again", inbound.channel)
        replies = [Text(texts.BUSY)]
        try:
            return replies, await inbox.finish(claimed, claimed.state.step, claimed.state.data, replies,
                                               self.ctx.clock.now(), save_state=False)
        except inbox.Superseded:
            return [], []

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

    async def _send(self, inbound: Inbound, replies: list[Outbound], outbox_ids: list[int]) -> None:
        """Send the turn's replies now and mark them sent; what fails here stays queued in the
        outbox, where the dispatcher retries it after its lease."""
        channel = self.channels.get(inbound.channel)
        if channel is None or not replies or not outbox_ids:
            return
        marks: list[str] = []
        address = f"{inbound.channel}:{inbound.user_id}"
        for i, message in enumerate(replies):
            for attempt in range(SEND_RETRIES + 1):
                token = DELIVERY_KEY.set(f"{outbox_ids[0]}:{address}#{i}")
                try:
                    await channel.sender.send(inbound.user_id, message)
                    break
                except DeliveryError as exc:
                    if not exc.retryable or attempt == SEND_RETRIES:
                        log.warning("reply not delivered on %s: %s", inbound.channel, exc.reason)
                        await inbox.mark_replies(outbox_ids[0], marks, done=False)
                        return
                    await asyncio.sleep(min(exc.retry_after or 0.5 * (attempt + 1), 5.0))
                finally:
                    DELIVERY_KEY.reset(token)
            marks.append(f"{address}#{i}")
            if i < len(replies) - 1:  # a crash between a text and its PDF resends only the PDF
                await inbox.mark_replies(outbox_ids[0], marks, done=False)
        await inbox.mark_replies(outbox_ids[0], marks, done=True, now=self.ctx.clock.now())


class KeyedLocks:
    """One asyncio lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Any, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Any) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)  # before any await: waiters queue in call order
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


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
