"""Single-use tokens (link codes now; payment references and one-time links later).

A token is 192 random bits, shown once; only its SHA-256 is stored. Consuming it is one
conditional update (``used_at IS NULL AND expires_at > now``), so a token sent many times at
once works exactly once, on every worker.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backend.db.models import OneTimeToken


@dataclass(frozen=True)
class ConsumedToken:
    purpose: str
    officer_id: int | None
    subject: dict[str, Any]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def issue(purpose: str, *, now: datetime, ttl: timedelta, officer_id: int | None = None,
                subject: dict[str, Any] | None = None) -> str:
    """A new token for ``purpose``; the caller shows it once (link, QR), it is never stored."""
    token = secrets.token_urlsafe(24)  # 192 bits; URL- and Telegram-/start-payload safe
    await OneTimeToken.create(purpose=purpose, token_hash=token_hash(token), officer_id=officer_id,
                              subject=subject or {}, created_at=now, expires_at=now + ttl)
    return token


async def consume(purpose: str, token: str, *, now: datetime) -> ConsumedToken | None:
    """Use the token up; None when it is unknown, of another purpose, expired or used."""
    if not token or len(token) > 128:
        return None
    digest = token_hash(token)
    taken = await OneTimeToken.filter(token_hash=digest, purpose=purpose, used_at__isnull=True,
                                      expires_at__gt=now).update(used_at=now)
    if taken != 1:
        return None
    row = await OneTimeToken.get(token_hash=digest)
    return ConsumedToken(row.purpose, row.officer_id, dict(row.subject or {}))  # type: ignore[attr-defined]


async def purge(*, before: datetime) -> int:
    """Forget tokens that expired before ``before``."""
    return await OneTimeToken.filter(expires_at__lt=before).delete()
