"""The conversation engine's storage: where each chat stands (hội thoại) and which channel
events were handled already.

Every chat turn passes here, so the hot path is hand-written SQL (``backend.services.sql``), the same on SQLite and
PostgreSQL: one statement claims the event *and* reads the state (an ``INSERT … ON
CONFLICT DO NOTHING RETURNING`` whose returned columns are subqueries on the state row),
one writes the state back, guarded by its version. On SQLite every query queues behind one
connection, so a turn's two statements instead of three (and no ORM query building) is
what keeps 200 chatting citizens' replies quick.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.db.models import ConversationState, ProcessedEvent
from backend.services.sql import run_sql

_STATE = ConversationState._meta.db_table
_EVENTS = ProcessedEvent._meta.db_table

_STATE_OF_USER = f"FROM {_STATE} WHERE channel = ? AND user_id = ?"
_CLAIM_AND_LOAD = (
    f"INSERT INTO {_EVENTS} (channel, event_id, created_at) VALUES (?, ?, ?) "
    "ON CONFLICT (channel, event_id) DO NOTHING RETURNING "
    f"(SELECT id {_STATE_OF_USER}) AS id, (SELECT step {_STATE_OF_USER}) AS step, "
    f"(SELECT data {_STATE_OF_USER}) AS data, (SELECT version {_STATE_OF_USER}) AS version"
)
_LOAD = f"SELECT id, step, data, version {_STATE_OF_USER}"
INSERT_STATE = (  # also the inbox's, in its turn transaction
    f"INSERT INTO {_STATE} (channel, user_id, step, data, version, updated_at) VALUES (?, ?, ?, ?, 1, ?) "
    "ON CONFLICT (channel, user_id) DO NOTHING RETURNING id"
)
UPDATE_STATE = (
    f"UPDATE {_STATE} SET step = ?, data = ?, version = version + 1, updated_at = ? "
    "WHERE id = ? AND version = ? RETURNING id"
)
_DELETE = f"DELETE {_STATE_OF_USER}"
_PURGE = f"DELETE FROM {_EVENTS} WHERE created_at < ?"

_when = ProcessedEvent._meta.fields_map["created_at"]


@dataclass
class StoredConversation:
    """One chat's stored step and data; ``id`` is None until its first save."""

    channel: str
    user_id: str
    step: str = "menu"
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    id: int | None = None


async def claim_and_load(channel: str, user_id: str, event_id: str, now: datetime) -> StoredConversation | None:
    """Take the event id (unique per channel) and read the chat's state, in one statement;
    None when the event was handled already (a webhook retried, an update seen twice)."""
    rows = await run_sql(_CLAIM_AND_LOAD, [channel, event_id, _when.to_db_value(now, None),
                                          channel, user_id, channel, user_id, channel, user_id, channel, user_id])
    if not rows:
        return None
    return _stored(channel, user_id, rows[0])


async def load(channel: str, user_id: str) -> StoredConversation:
    """The chat's state as stored now (a turn run again after losing a race)."""
    rows = await run_sql(_LOAD, [channel, user_id])
    return _stored(channel, user_id, rows[0] if rows else {})


async def save(conv: StoredConversation, step: str, data: dict[str, Any], now: datetime) -> bool:
    """Write the new state if the row is still the version that was read; False when another
    worker moved it on meanwhile (the caller runs the turn again on the fresh state)."""
    encoded, when = json.dumps(data, ensure_ascii=False, separators=(",", ":")), _when.to_db_value(now, None)
    if conv.id is None:
        rows = await run_sql(INSERT_STATE, [conv.channel, conv.user_id, step, encoded, when])
    else:
        rows = await run_sql(UPDATE_STATE, [step, encoded, when, conv.id, conv.version])
    return bool(rows)


async def delete(channel: str, user_id: str) -> None:
    """Forget where a chat stands (a web chat session that ended)."""
    await run_sql(_DELETE, [channel, user_id])


async def purge_events(before: datetime) -> None:
    """Forget handled event ids older than ``before`` (no channel repeats one that late)."""
    await run_sql(_PURGE, [_when.to_db_value(before, None)])


def _stored(channel: str, user_id: str, row: Any) -> StoredConversation:
    if row.get("id") is None:
        return StoredConversation(channel, user_id)
    data = row["data"]
    return StoredConversation(channel, user_id, row["step"], json.loads(data) if isinstance(data, str) else data,
                              row["version"], row["id"])
