"""Console sessions kept on the server: logout, a password change or deactivation ends them.

The cookie carries a random session id; the table keeps only its SHA-256, so a copy of the
database opens no session. A session lasts at most ``LIFETIME`` and ends after ``IDLE``
without a request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from backend.db.models import ConsoleSession

LIFETIME = timedelta(hours=12)  # a working day and some: an officer logs in each morning
IDLE = timedelta(hours=2)
_TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most once a minute


def sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8", "surrogatepass")).hexdigest()


async def open_session(officer_id: int, *, now: datetime) -> str:
    """A new session for the officer; the returned id goes into the cookie, never into a log."""
    sid = secrets.token_urlsafe(32)
    await ConsoleSession.create(
        sid_hash=sid_hash(sid), officer_id=officer_id, created_at=now, last_seen_at=now, expires_at=now + LIFETIME
    )
    return sid


async def officer_of(sid: str | None, *, now: datetime) -> int | None:
    """The officer id of a live session: not revoked, not expired, not idle, officer active."""
    if not sid or len(sid) > 128:
        return None
    row = await ConsoleSession.get_or_none(
        sid_hash=sid_hash(sid),
        revoked_at__isnull=True,
        expires_at__gt=now,
        last_seen_at__gt=now - IDLE,
        officer__active=True,
    )
    if row is None:
        return None
    if now - row.last_seen_at >= _TOUCH_EVERY:
        await ConsoleSession.filter(id=row.id).update(last_seen_at=now)
    return row.officer_id  # type: ignore[attr-defined]


async def revoke(sid: str | None, *, now: datetime) -> None:
    """End one session (logout)."""
    if sid:
        await ConsoleSession.filter(sid_hash=sid_hash(sid), revoked_at__isnull=True).update(revoked_at=now)


async def revoke_all(officer_id: int, *, now: datetime) -> int:
    """End every session of the officer (password change or reset, deactivation)."""
    return await ConsoleSession.filter(officer_id=officer_id, revoked_at__isnull=True).update(revoked_at=now)


async def purge(*, before: datetime) -> int:
    """Forget sessions that expired, or were revoked, before ``before``."""
    expired = await ConsoleSession.filter(expires_at__lt=before).delete()
    return expired + await ConsoleSession.filter(revoked_at__lt=before).delete()
