"""The inbox (hộp thư đến): every update a channel receives is stored here before the channel
is answered, and handled from here, each exactly once by its event id.

``put`` writes the update (a repeated event id is dropped by the unique key). A worker then
``claim``s the oldest unhandled update of one chat with a lease, in the same statement that
reads the chat's stored state; only the oldest may be claimed, so one chat's updates are
handled in order even across workers. ``finish`` saves the new state, queues the replies in
the outbox and marks the update handled, all in one transaction: a crash at any point before
it leaves the update to be claimed again when its lease runs out (``stale_chats``), and a
crash after it leaves the replies to the dispatcher.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from backend.db.models import ConversationState, InboundUpdate, OutboxMessage
from backend.domain.messages import Attachment, Inbound, Outbound, encode_outbound
from backend.services import conversations
from backend.services.sql import run_sql

LEASE = timedelta(seconds=15)  # renewed while a turn runs (``renew``): a crash frees it this soon
REPLY_LEASE = timedelta(seconds=20)  # the turn's worker sends its replies; the dispatcher after this

_IN = InboundUpdate._meta.db_table
_STATE = ConversationState._meta.db_table
_when = InboundUpdate._meta.fields_map["received_at"]

_PUT = (
    f"INSERT INTO {_IN} (channel, event_id, user_id, payload, received_at, attempts) VALUES (?, ?, ?, ?, ?, 0) "
    "ON CONFLICT (channel, event_id) DO NOTHING RETURNING id"
)
_STATE_OF = f"FROM {_STATE} s WHERE s.channel = {_IN}.channel AND s.user_id = {_IN}.user_id"
_CLAIM = (
    f"UPDATE {_IN} SET claimed_until = ?, attempts = attempts + 1 "
    f"WHERE id = (SELECT o.id FROM {_IN} o WHERE o.channel = ? AND o.user_id = ? AND o.handled_at IS NULL "
    "ORDER BY o.id LIMIT 1) "
    "AND handled_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?) "
    f"RETURNING id, payload, attempts, (SELECT s.id {_STATE_OF}) AS state_id, (SELECT s.step {_STATE_OF}) AS step, "
    f"(SELECT s.data {_STATE_OF}) AS data, (SELECT s.version {_STATE_OF}) AS version, "
    f"(SELECT COUNT(*) FROM {_IN} n WHERE n.channel = {_IN}.channel AND n.user_id = {_IN}.user_id "
    f"AND n.handled_at IS NULL AND n.id > {_IN}.id) AS later"
)
_STALE = (
    f"SELECT channel, user_id, MIN(id) AS first FROM {_IN} WHERE handled_at IS NULL "
    "AND (claimed_until IS NULL OR claimed_until < ?) AND received_at < ? "
    "GROUP BY channel, user_id ORDER BY first LIMIT ?"
)
_DONE = f"UPDATE {_IN} SET handled_at = ? WHERE id = ? AND handled_at IS NULL RETURNING id"


class Superseded(Exception):
    """The turn's result cannot be kept: nothing of it was written."""


class StateMoved(Superseded):
    """The chat's state changed under the turn (run the step again on the fresh state)."""


class AlreadyHandled(Superseded):
    """Another worker finished this update first (after this one's lease ran out)."""


@dataclass
class Claimed:
    """A claimed update with the chat's stored state."""

    id: int
    inbound: Inbound
    attempts: int
    state: conversations.StoredConversation
    later: int = 0  # the chat's updates waiting behind this one when it was claimed


def _db_time(moment: datetime) -> Any:
    return _when.to_db_value(moment, None)


async def put(inbound: Inbound, now: datetime) -> int | None:
    """Store an update; its id, or None when this event id was stored before (a retry)."""
    rows = await run_sql(_PUT, [inbound.channel, inbound.event_id[:128], inbound.user_id,
                                json.dumps(encode_inbound(inbound), ensure_ascii=False), _db_time(now)])
    return int(rows[0]["id"]) if rows else None


async def claim(channel: str, user_id: str, now: datetime, lease: timedelta = LEASE) -> Claimed | None:
    """Claim the chat's oldest unhandled update if nobody holds it; None when there is none
    (or another worker holds it)."""
    rows = await run_sql(_CLAIM, [_db_time(now + lease), channel, user_id, _db_time(now)])
    if not rows:
        return None
    row = rows[0]
    payload = row["payload"]
    inbound = decode_inbound(json.loads(payload) if isinstance(payload, str) else payload)
    data = row.get("data")
    if isinstance(data, str):
        data = json.loads(data)
    state = conversations.StoredConversation(inbound.channel, inbound.user_id)
    if row.get("state_id") is not None:
        state = conversations.StoredConversation(inbound.channel, inbound.user_id, row["step"], data or {},
                                                 int(row["version"]), int(row["state_id"]))
    return Claimed(int(row["id"]), inbound, int(row["attempts"]), state, int(row.get("later") or 0))


async def renew(update_id: int, now: datetime, lease: timedelta = LEASE) -> bool:
    """Extend the lease of an update still being handled (a long OCR turn)."""
    return bool(await InboundUpdate.filter(id=update_id, handled_at__isnull=True).update(
        claimed_until=now + lease))


async def finish(c: Claimed, step: str, data: dict[str, Any], replies: list[Outbound], now: datetime,
                 *, save_state: bool = True, reply_lease: timedelta = REPLY_LEASE) -> list[int]:
    """In one transaction: the new state (guarded by its version), the replies as outbox rows
    (leased to this worker for ``REPLY_LEASE``), the update marked handled. Returns the
    outbox ids; raises ``Superseded`` (and changes nothing) when the state or the update
    moved on under this turn."""
    encoded, when = json.dumps(data, ensure_ascii=False, separators=(",", ":")), _db_time(now)
    async with in_transaction():
        if save_state:
            if c.state.id is None:
                saved = await run_sql(conversations.INSERT_STATE,
                                      [c.inbound.channel, c.inbound.user_id, step, encoded, when])
            else:
                saved = await run_sql(conversations.UPDATE_STATE, [step, encoded, when, c.state.id, c.state.version])
            if not saved:
                raise StateMoved("conversation state changed")
        ids = []
        if replies:
            payload = {"messages": [encode_outbound(m) for m in replies], "update": c.id}
            row = await OutboxMessage.create(kind="reply", recipient="chat", channel=c.inbound.channel,
                                             chat_user=c.inbound.user_id, payload=payload,
                                             next_attempt_at=now + reply_lease, attempts=1)
            ids.append(row.id)
        if not await run_sql(_DONE, [when, c.id]):
            raise AlreadyHandled("update handled elsewhere")
    return ids


async def mark_replies(outbox_id: int, delivered: list[str], *, done: bool, now: datetime | None = None) -> None:
    """Record which of a turn's replies went out; ``done``: all of them (the row is sent)."""
    if done:
        await OutboxMessage.filter(id=outbox_id).update(delivered=delivered, status="sent", sent_at=now,
                                                         last_error="")
    else:
        await OutboxMessage.filter(id=outbox_id).update(delivered=delivered)


async def stale_chats(now: datetime, *, grace: timedelta = timedelta(seconds=5),
                      limit: int = 100) -> list[tuple[str, str]]:
    """Chats with an update nobody is handling: never claimed (a crash right after it was
    stored) or whose lease ran out (a crash mid-turn); oldest first."""
    rows = await run_sql(_STALE, [_db_time(now), _db_time(now - grace), limit])
    return [(r["channel"], r["user_id"]) for r in rows]


async def pending_count() -> int:
    return await InboundUpdate.filter(handled_at__isnull=True).count()


async def purge(*, before: datetime) -> int:
    """Forget handled updates received before ``before`` (their event ids are no longer retried)."""
    return await InboundUpdate.filter(handled_at__isnull=False, received_at__lt=before).delete()


# -- plain JSON for the stored update and the queued replies --------------------------------
def encode_inbound(i: Inbound) -> dict[str, Any]:
    return {
        "channel": i.channel, "user_id": i.user_id, "event_id": i.event_id, "text": i.text,
        "button": i.button, "reply_to": i.reply_to, "display_name": i.display_name, "origin": i.origin,
        "sent_at": i.sent_at.isoformat() if i.sent_at else None,
        "attachments": [{"kind": a.kind, "ref": a.ref, "mime_type": a.mime_type, "size": a.size,
                         "filename": a.filename} for a in i.attachments],
    }


def decode_inbound(d: dict[str, Any]) -> Inbound:
    return Inbound(
        channel=d["channel"], user_id=d["user_id"], event_id=d["event_id"], text=d.get("text"),
        button=d.get("button"), reply_to=d.get("reply_to"), display_name=d.get("display_name"),
        origin=d.get("origin"), sent_at=datetime.fromisoformat(d["sent_at"]) if d.get("sent_at") else None,
        attachments=tuple(Attachment(**a) for a in d.get("attachments") or ()),
    )
