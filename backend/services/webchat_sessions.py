"""Web chat sessions, issued by the server only: the cookie carries a random token of which
only the sha256 is stored; the engine's user id is a separate random ``user_key`` that stays
while the token rotates. Ending a session deletes what it held (mailbox, files, conversation
state); the citizen's dossiers stay, they are the agency's records."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q

from backend.db.models import WebchatSession
from backend.services import conversations, webchat_store

CHANNEL = "webchat"
GRACE = timedelta(seconds=30)  # a rotated-out token still works this long (requests in flight)
TOUCH_EVERY = timedelta(seconds=5)  # last_seen_at is written at most this often
ROTATE_EVERY = timedelta(minutes=10)  # a session in use gets a new token at least this often


@dataclass(frozen=True)
class ChatSession:
    """A live session as the channel sees it; ``current`` is False for a rotated-out token."""

    id: int
    user_key: str
    kiosk: bool
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    rotated_at: datetime | None
    current: bool

    def remaining(self, now: datetime) -> timedelta:
        return max(self.expires_at - now, timedelta(0))

    def due_rotation(self, now: datetime) -> bool:
        return now - (self.rotated_at or self.created_at) >= ROTATE_EVERY


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _plain(row: WebchatSession, current: bool) -> ChatSession:
    return ChatSession(row.id, row.user_key, row.kiosk, row.created_at, row.last_seen_at, row.expires_at,
                       row.rotated_at, current)


async def start(now: datetime, *, kiosk: bool, lifetime: timedelta) -> tuple[str, ChatSession]:
    """A new session; returns (token for the cookie, session)."""
    token = secrets.token_urlsafe(32)
    row = await WebchatSession.create(token_hash=_hash(token), user_key=secrets.token_urlsafe(24), kiosk=kiosk,
                                      created_at=now, last_seen_at=now, expires_at=now + lifetime)
    return token, _plain(row, True)


async def _find(token: str, now: datetime) -> tuple[WebchatSession, bool] | None:
    if not token or len(token) > 100:
        return None
    digest = _hash(token)
    row = await WebchatSession.filter(Q(token_hash=digest) | Q(previous_hash=digest)).first()
    if row is None:
        return None
    if row.token_hash == digest:
        return row, True
    if row.rotated_at is not None and now - row.rotated_at <= GRACE:
        return row, False
    return None


async def resolve(token: str, now: datetime, *, idle: timedelta, kiosk_idle: timedelta | None = None,
                  touch: bool = True) -> ChatSession | None:
    """The live session of ``token``; None when unknown, ended or expired (idle or absolute).
    An expired session found here is ended at once, so what it held goes with it."""
    found = await _find(token, now)
    if found is None:
        return None
    row, current = found
    if row.ended_at is not None:
        return None
    limit = kiosk_idle if row.kiosk and kiosk_idle is not None else idle
    if now >= row.expires_at or now - row.last_seen_at > limit:
        await _end(row, now)
        return None
    if touch and now - row.last_seen_at >= TOUCH_EVERY:
        await WebchatSession.filter(id=row.id).update(last_seen_at=now)
        row.last_seen_at = now
    return _plain(row, current)


async def rotate(session: ChatSession, token: str, now: datetime) -> str | None:
    """A new token for the same session; the presented one stays valid for ``GRACE``. None
    when another request rotated it first (its response carries the new cookie)."""
    new = secrets.token_urlsafe(32)
    done = await WebchatSession.filter(id=session.id, token_hash=_hash(token), ended_at=None).update(
        token_hash=_hash(new), previous_hash=_hash(token), rotated_at=now)
    return new if done else None


async def end(token: str, now: datetime) -> str | None:
    """End the session and delete what it held; returns its user_key (None when none)."""
    found = await _find(token, now)
    if found is None or found[0].ended_at is not None:
        return None
    await _end(found[0], now)
    return found[0].user_key


async def _end(row: WebchatSession, now: datetime) -> None:
    # Both hashes are replaced: no token, current or rotated-out, reaches this row again.
    await WebchatSession.filter(id=row.id).update(ended_at=now, token_hash=f"ended:{row.id}", previous_hash=None)
    await forget(row.user_key)


async def forget(user_key: str) -> None:
    """Delete the session's mailbox (and its files) and where its conversation stood."""
    await webchat_store.forget(user_key)
    await conversations.delete(CHANNEL, user_key)


async def purge_expired(now: datetime, *, idle: timedelta, kiosk_idle: timedelta) -> int:
    """End sessions that expired without being presented again (for the retention job)."""
    stale = (Q(expires_at__lte=now) | Q(kiosk=False, last_seen_at__lt=now - idle)
             | Q(kiosk=True, last_seen_at__lt=now - kiosk_idle))
    rows = await WebchatSession.filter(stale, ended_at=None)
    for row in rows:
        await _end(row, now)
    return len(rows)
