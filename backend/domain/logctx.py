"""Ids bound to the work in hand (request, update, dossier), for every log line it writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_IDS: ContextVar[dict[str, Any] | None] = ContextVar("motcua_log_ids", default=None)


@contextmanager
def bind(**ids: Any) -> Iterator[None]:
    """Add ids to the log context of this task (and tasks it starts) until the block ends."""
    token = _IDS.set({**(_IDS.get() or {}), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _IDS.reset(token)


def current() -> dict[str, Any]:
    """The ids bound now (a copy)."""
    return dict(_IDS.get() or {})
