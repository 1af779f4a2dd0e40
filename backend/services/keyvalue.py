"""Small persisted values (e.g. the Zalo token pair), read and written as JSON."""

from __future__ import annotations

from typing import Any

from backend.db.models import KeyValue


async def get_value(key: str) -> Any | None:
    row = await KeyValue.get_or_none(key=key)
    return row.value if row else None


async def set_value(key: str, value: Any) -> None:
    """Write through at once: a rotated Zalo refresh token must be on disk before use."""
    await KeyValue.update_or_create(key=key, defaults={"value": value})
