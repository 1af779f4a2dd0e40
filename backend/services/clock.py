"""Time is injected: services ask a clock, so deadline tests set the hour instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SetClock:
    """A clock a test or a demo sets by hand."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("SetClock needs a timezone-aware start")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment

    def advance(self, **kw: float) -> datetime:
        self._now += timedelta(**kw)
        return self._now
