"""The conversation engine's storage: where each chat stands (hội thoại).

Hand-written SQL (``backend.services.sql``), the same on SQLite and PostgreSQL. A turn reads
the state in the inbox's claim (``backend.services.inbox``) and writes it back with
``INSERT_STATE`` / ``UPDATE_STATE`` (guarded by its version) in the turn's transaction;
``load`` and ``save`` serve a turn run again and the tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.db.models import ConversationState
from backend.services.sql import run_sql

_STATE = ConversationState._meta.db_table

_STATE_OF_USER = f"FROM {_STATE} WHERE channel = ? AND user_id = ?"
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

_when = ConversationState._meta.fields_map["updated_at"]


@dataclass
class StoredConversation:
    """One chat's stored step and data; ``id`` is None until its first save."""

    channel: str
    user_id: str
    step: str = "menu"
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    id: int | None = None


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


def _stored(channel: str, user_id: str, row: Any) -> StoredConversation:
    if row.get("id") is None:
        return StoredConversation(channel, user_id)
    data = row["data"]
    return StoredConversation(channel, user_id, row["step"], json.loads(data) if isinstance(data, str) else data,
                              row["version"], row["id"])
