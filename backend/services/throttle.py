"""Login throttling that slows a guesser without locking the officer out (``auth_throttle``).

Failures are counted per (typed username, source address) and per typed username from
clients without a device cookie; a browser that logged in before as that username carries a
device cookie and has its own counter (OWASP "device cookies"). After ``free`` failures a key
waits ``first``, doubling with each further failure, up to ``cap``. Unknown usernames are
counted exactly like known ones, so the throttle tells nothing about which accounts exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from backend.db.models import AuthThrottle


@dataclass(frozen=True)
class Rule:
    prefix: str
    free: int  # failures before the first wait
    first: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(hours=1)  # a quiet key starts from zero again


PAIR = Rule("pair", free=5)  # one username from one source address
ACCOUNT = Rule("acct", free=10)  # one username from every client without a device cookie
DEVICE = Rule("dev", free=5)  # one device cookie


def key(rule: Rule, *parts: str) -> str:
    return (rule.prefix + ":" + "|".join(parts))[:200]


def backoff(rule: Rule, failures: int) -> timedelta | None:
    """The wait ``failures`` earn under ``rule``; None while still free."""
    if failures < rule.free:
        return None
    return min(rule.first * (2 ** min(failures - rule.free, 20)), rule.cap)


async def blocked(keys: list[str], *, now: datetime) -> bool:
    """Whether any of the keys is waiting out its backoff."""
    return await AuthThrottle.filter(key__in=keys, blocked_until__gt=now).exists()


async def fail(rule: Rule, k: str, *, now: datetime) -> int:
    """Count one failure against ``k`` (atomic increment); the failures counted so far."""
    stale = now - rule.forget_after
    await AuthThrottle.filter(key=k, updated_at__lt=stale).update(failures=0, blocked_until=None, updated_at=now)
    if not await AuthThrottle.filter(key=k).update(failures=F("failures") + 1, updated_at=now):
        try:
            await AuthThrottle.create(key=k, failures=1, updated_at=now)
        except IntegrityError:  # another worker created it first
            await AuthThrottle.filter(key=k).update(failures=F("failures") + 1, updated_at=now)
    row = await AuthThrottle.get(key=k)
    if (wait := backoff(rule, row.failures)) is not None:
        await AuthThrottle.filter(key=k).update(blocked_until=now + wait)
    return row.failures


async def clear(keys: list[str]) -> None:
    """Forget the failures of these keys (a successful login, an admin reset)."""
    await AuthThrottle.filter(key__in=keys).delete()


async def purge(*, before: datetime) -> int:
    """Forget keys untouched since ``before`` (their counts have lapsed anyway)."""
    return await AuthThrottle.filter(updated_at__lt=before).delete()
