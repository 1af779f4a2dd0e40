"""The outbox dispatcher: the only sender of notifications.

Rows are taken in id order. A row is claimed by bumping its ``attempts`` (a conditional
update, so two dispatchers never take the same row) with a lease; addresses already done are
kept in ``delivered``, so a crash mid-row resends nothing that went out. Messages of one
dossier to one recipient go in order: a row waiting for a retry holds back the later ones.
A recipient that cannot be reached now (blocked, outside Zalo's reply window) gets the row
``held`` with the reason, released when the citizen writes again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from tortoise.expressions import Q

from backend.db.models import ChannelIdentity, KeyValue, Officer, OfficerChannelLink, OutboxMessage
from backend.domain import logctx
from backend.domain.messages import DELIVERY_KEY, DeliveryError, Outbound, decode_outbound

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 12
HEARTBEAT_KEY = "heartbeat:dispatcher"  # /readyz reads it from any worker
HEARTBEAT_EVERY = timedelta(seconds=10)


class ChannelSender(Protocol):
    """What a channel adapter offers the dispatcher."""

    async def send(self, user_id: str, message: Outbound) -> None: ...


Renderer = Callable[[OutboxMessage, str], Awaitable[list[Outbound]]]  # (row, channel) -> messages


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 2 ** min(attempts, 12)))


class Dispatcher:
    def __init__(
        self,
        senders: dict[str, ChannelSender],
        render: Renderer,
        now: Callable[[], datetime],
        *,
        batch: int = 200,
    ):
        self.senders = senders
        self.render = render
        self.now = now
        self.batch = batch
        self._wake = asyncio.Event()
        self._stopping = False
        self._beat: datetime | None = None

    def wake(self) -> None:
        """Look at the outbox now (called after a use case commits)."""
        self._wake.set()

    async def run(self, interval: float = 2.0) -> None:
        """Dispatch until ``stop``; a failing pass is logged and the loop goes on."""
        while not self._stopping:
            try:
                await self.heartbeat()
            except Exception:  # not fatal: /readyz will say the heartbeat is late
                log.exception("dispatcher heartbeat failed")
            try:
                await self.run_once()
            except Exception:  # long-running loop: log, then continue
                log.exception("outbox pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), interval)
            except TimeoutError:
                pass
            self._wake.clear()

    async def heartbeat(self) -> None:
        """Record that a dispatcher is alive (at most every HEARTBEAT_EVERY)."""
        now = self.now()
        if self._beat is not None and now - self._beat < HEARTBEAT_EVERY and now >= self._beat:
            return
        await KeyValue.update_or_create(key=HEARTBEAT_KEY, defaults={"value": {"at": now.isoformat()}})
        self._beat = now

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run_once(self) -> int:
        """One pass over the outbox; returns how many rows were completed."""
        now = self.now()
        rows = await OutboxMessage.filter(status="pending").order_by("id").limit(self.batch)
        if not rows:
            return 0
        # Held rows are not read in the batch (they would fill it and starve the rest); they
        # only hold back later rows of their own dossier and recipient, so only those of the
        # batch's dossiers, older than its last row, are looked at.
        dossiers = {r.dossier_id for r in rows}  # type: ignore[attr-defined]
        near = Q(dossier_id__in=dossiers - {None})
        if None in dossiers:  # rows of no dossier (the morning digest)
            near |= Q(dossier_id__isnull=True)
        held = await OutboxMessage.filter(near, status="held", id__lt=rows[-1].id).order_by("id").values(
            *_KEY_FIELDS, "id")
        first_held: dict[tuple, int] = {}
        for h in held:
            first_held.setdefault(tuple(h[f] for f in _KEY_FIELDS), h["id"])
        blocked: set[tuple] = set()
        done = 0
        for row in rows:
            key = _order_key(row)
            if key in blocked or first_held.get(key, row.id) < row.id:
                continue
            if row.next_attempt_at and row.next_attempt_at > now:
                blocked.add(key)
                continue
            if not await self._claim(row, now):
                blocked.add(key)
                continue
            with logctx.bind(outbox=row.id, dossier=row.dossier_id):  # type: ignore[attr-defined]
                delivered = await self._deliver(row)
            if delivered:
                done += 1
            else:
                blocked.add(key)
        return done

    async def _claim(self, row: OutboxMessage, now: datetime) -> bool:
        claimed = await OutboxMessage.filter(id=row.id, status="pending", attempts=row.attempts).update(
            attempts=row.attempts + 1, next_attempt_at=now + LEASE
        )
        if claimed:
            row.attempts += 1
        return bool(claimed)

    async def _deliver(self, row: OutboxMessage) -> bool:
        """Send to every address not yet done; True when the row is complete.

        ``delivered`` holds ``channel:user#i`` for each message i already sent, so a retry
        after a failure between a text and its PDF sends only the PDF.
        """
        addresses = await addresses_of(row)
        delivered = list(row.delivered or [])
        for channel, user_id in addresses:
            address = f"{channel}:{user_id}"
            sender = self.senders.get(channel)
            try:
                if sender is None:
                    raise DeliveryError(f"channel {channel} is not enabled", retryable=False)
                messages = await self._messages(row, channel)
                for i, message in enumerate(messages):
                    mark = f"{address}#{i}"
                    if mark in delivered:
                        continue
                    token = DELIVERY_KEY.set(f"{row.id}:{mark}")
                    try:
                        await sender.send(user_id, message)
                    finally:
                        DELIVERY_KEY.reset(token)
                    delivered.append(mark)
                    row.delivered = delivered
                    await row.save(update_fields=["delivered"])
            except DeliveryError as exc:
                return await self._failed(row, delivered, exc)
            except Exception as exc:  # a bug in rendering or a sender: retry later, keep going
                log.exception("outbox %s: unexpected error", row.id)
                return await self._failed(row, delivered, DeliveryError(repr(exc), retryable=True))
        row.status, row.sent_at, row.last_error = "sent", self.now(), ""
        await row.save(update_fields=["status", "sent_at", "last_error"])
        return True

    async def _messages(self, row: OutboxMessage, channel: str) -> list[Outbound]:
        """A chat reply carries its messages; a notice is rendered for the channel."""
        if row.recipient == "chat":
            return [decode_outbound(m) for m in (row.payload or {}).get("messages", [])]
        return await self.render(row, channel)

    async def _failed(self, row: OutboxMessage, delivered: list[str], exc: DeliveryError) -> bool:
        row.delivered = delivered
        row.last_error = exc.reason[:500]
        if not exc.retryable:
            row.status = "held"  # released by the citizen's next message
            log.info("outbox %s held: %s", row.id, exc.reason)
        elif row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
            log.warning("outbox %s failed after %s attempts: %s", row.id, row.attempts, exc.reason)
        else:
            wait = timedelta(seconds=exc.retry_after) if exc.retry_after else backoff(row.attempts)
            row.next_attempt_at = self.now() + wait
        await row.save(update_fields=["delivered", "last_error", "status", "next_attempt_at"])
        return False


_KEY_FIELDS = ("dossier_id", "recipient", "identity_id", "officer_id", "pool_role", "pool_agency_id",
               "pool_department_id", "channel", "chat_user")


def _order_key(row: OutboxMessage) -> tuple:
    """Rows with the same key go out in id order: one dossier, one recipient."""
    return tuple(getattr(row, f) for f in _KEY_FIELDS)


async def addresses_of(row: OutboxMessage) -> list[tuple[str, str]]:
    """The chat addresses (channel, user id) a row goes to."""
    if row.recipient == "chat":  # a turn's replies, to the chat that wrote
        return [(row.channel, row.chat_user)]
    if row.recipient == "citizen":
        ident = await ChannelIdentity.get_or_none(id=row.identity_id)  # type: ignore[attr-defined]
        return [(ident.channel, ident.external_id)] if ident else []
    if row.recipient == "officer":
        officer_ids = [row.officer_id]  # type: ignore[attr-defined]
    else:
        q = Officer.filter(role=row.pool_role, agency_id=row.pool_agency_id, active=True)  # type: ignore[attr-defined]
        if row.pool_department_id:  # type: ignore[attr-defined]
            q = q.filter(department_id=row.pool_department_id)  # type: ignore[attr-defined]
        officer_ids = await q.values_list("id", flat=True)
    # Only links the officer confirmed in the console: a chat that merely holds a token gets nothing.
    links = await OfficerChannelLink.filter(officer_id__in=officer_ids, confirmed_at__isnull=False).order_by("id")
    return [(link.channel, link.external_id) for link in links]
