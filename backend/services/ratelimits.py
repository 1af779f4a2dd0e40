"""Rate limits shared by every worker: token buckets in the database (``rate_bucket``).

One statement takes a token: an upsert that refills the bucket for the time passed, takes
one token if there is one, and returns what it decided. Every worker and every channel
(the lookup page, the chats, the login form, link attempts, new web chat sessions) draws on
the same rows, so N workers allow the limit once, not N times.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from backend.db.models import RateBucket
from backend.services.sql import dialect, run_sql

_TABLE = RateBucket._meta.db_table


@dataclass(frozen=True)
class Limit:
    """``per_minute`` tokens refilled each minute, at most ``burst`` saved up."""

    name: str
    per_minute: float
    burst: float

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


# Lookups by dossier code: the public page and the chats share these buckets.
LOOKUP = Limit("lookup", per_minute=20, burst=20)
# Logins per client address, over all usernames (the per-account throttle is separate).
LOGIN = Limit("login", per_minute=30, burst=30)
# Officer chat-link attempts, per chat and per client address.
LINK_ATTEMPT = Limit("link", per_minute=5, burst=5)
# Every link attempt on the whole installation: an alarm bell, not a door.
LINK_ATTEMPT_GLOBAL = Limit("link-all", per_minute=120, burst=120)


def _sql(fn: str) -> str:
    fresh = f"{fn}(?, {_TABLE}.tokens + {'GREATEST' if fn == 'LEAST' else 'MAX'}(excluded.at - {_TABLE}.at, 0) * ?)"
    return (
        f"INSERT INTO {_TABLE} (key, tokens, at, allowed) VALUES (?, ?, ?, ?) "
        f"ON CONFLICT (key) DO UPDATE SET "
        f"tokens = CASE WHEN {fresh} >= 1 THEN {fresh} - 1 ELSE {fresh} END, "
        f"allowed = ({fresh} >= 1), at = excluded.at "
        f"RETURNING tokens, allowed"
    )


_TAKE = {"sqlite": _sql("MIN"), "postgres": _sql("LEAST")}


async def take(limit: Limit, subject: str, *, now: float | None = None) -> float:
    """Take one token from ``limit``'s bucket for ``subject``: 0 when allowed, else the
    seconds until a token is back."""
    now = time.time() if now is None else now
    key = f"{limit.name}:{subject}"[:200]
    fresh = [limit.burst, limit.per_second]
    values = [key, max(limit.burst - 1, 0.0), now, limit.burst >= 1, *(fresh * 4)]
    rows = await run_sql(_TAKE[dialect()], values)
    tokens, allowed = float(rows[0]["tokens"]), bool(rows[0]["allowed"])
    if allowed:
        return 0.0
    return max((1.0 - tokens) / limit.per_second, 0.001)


async def take_all(limit: Limit, subjects: list[str], *, now: float | None = None) -> float:
    """One token from each subject's bucket (a chat and its client address, say); the
    longest wait, 0 when every bucket allowed it."""
    waits = [await take(limit, s, now=now) for s in subjects if s]
    return max(waits, default=0.0)


async def purge(*, older_than: float = 86400.0, now: float | None = None) -> int:
    """Forget buckets untouched for a day (they are full again by then)."""
    now = time.time() if now is None else now
    return await RateBucket.filter(at__lt=now - older_than).delete()
