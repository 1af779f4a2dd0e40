"""Use cases run once per chat event: a turn run again (after a crash, or after losing a race
to save the conversation) gets the first result back and changes nothing.

The key is the chat event's (``channel:event id``). The record is written in the same
transaction as the use case's own changes, so either both are there or neither is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.db.models import Dossier, IdempotencyRecord


async def once_dossier(key: str | None, now: datetime, run: Callable[[], Awaitable[Dossier]]) -> Dossier:
    """``run()`` (a use case returning the dossier it changed) once for ``key``; later calls
    with the same key return that dossier as it is now. No key: just run it."""
    if not key:
        return await run()
    first = await IdempotencyRecord.get_or_none(key=key)
    if first is not None:
        return await Dossier.get(id=first.result["dossier_id"])
    try:
        async with in_transaction():
            d = await run()
            await IdempotencyRecord.create(key=key[:200], result={"dossier_id": d.id}, created_at=now)
    except IntegrityError:
        first = await IdempotencyRecord.get_or_none(key=key)
        if first is None:
            raise
        return await Dossier.get(id=first.result["dossier_id"])
    return d


async def purge(*, before: datetime) -> int:
    """Forget records older than ``before`` (no event is retried that late)."""
    return await IdempotencyRecord.filter(created_at__lt=before).delete()
