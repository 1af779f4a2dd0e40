"""Working time (thời gian làm việc): office hours, public holidays, the 15:00 rule.

Rules (002 Điều 12.1c and 21; 004 Điều 11.2; Civil Code Art. 147–148):
- only weekdays in office hours count, minus public holidays (Tết and the lunar ones
  included) plus the government's swapped Saturdays, which are given as data;
- a dossier received after the cut-off (15:00) or outside office hours starts its clock on
  the next working day;
- a limit of N working days ends at close of office on the Nth working day after the start
  day (the start day itself is not counted, Civil Code Art. 147); N = 0 means the same day;
- a limit of H working hours ends H office hours after the start instant;
- late by N = the number of working days after the due day up to the day it finished.

The holiday test is passed in (``backend.services.calendars`` builds it from the
``holidays`` package and the yearly swapped days) so this module stays pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class OfficeHours:
    """An agency's office hours: the same intervals every working weekday."""

    intervals: tuple[tuple[time, time], ...] = ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    cutoff: time = time(15, 0)  # received after this, the clock starts next working day

    @classmethod
    def parse(
        cls, intervals: Iterable[Iterable[str]], cutoff: str = "15:00", weekdays: Iterable[int] = (0, 1, 2, 3, 4)
    ) -> OfficeHours:
        """Build from config strings: ``[["07:30","11:30"],["13:30","17:00"]]``."""
        ivs = tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in intervals)
        if not ivs or any(a >= b for a, b in ivs) or any(ivs[i][1] > ivs[i + 1][0] for i in range(len(ivs) - 1)):
            raise ValueError("office hours must be ordered, non-overlapping intervals")
        return cls(ivs, frozenset(weekdays), time.fromisoformat(cutoff))

    @property
    def opening(self) -> time:
        return self.intervals[0][0]

    @property
    def closing(self) -> time:
        return self.intervals[-1][1]

    def as_config(self) -> dict:
        return {
            "intervals": [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in self.intervals],
            "cutoff": self.cutoff.strftime("%H:%M"),
            "weekdays": sorted(self.weekdays),
        }


@dataclass(frozen=True)
class TimeLimit:
    """A procedure's processing time (thời hạn giải quyết)."""

    value: int
    unit: str  # "working_days" | "working_hours" | "days" (calendar days)

    def __post_init__(self) -> None:
        if self.unit not in ("working_days", "working_hours", "days") or self.value < 0:
            raise ValueError(f"bad time limit: {self.value} {self.unit}")

    def describe_vi(self) -> str:
        if self.unit == "working_days":
            return "trong ngày làm việc" if self.value == 0 else f"{self.value} ngày làm việc"
        if self.unit == "working_hours":
            return f"{self.value} giờ làm việc"
        return f"{self.value} ngày"


@dataclass
class WorkingCalendar:
    """Working days and hours of one agency."""

    hours: OfficeHours = field(default_factory=OfficeHours)
    holidays: Callable[[date], bool] = lambda d: False
    extra_working_days: frozenset[date] = frozenset()  # swapped Saturdays (làm bù)
    extra_days_off: frozenset[date] = frozenset()  # days off decided that year (nghỉ bù)
    tz: ZoneInfo = VN_TZ

    # -- days ---------------------------------------------------------------------------
    def is_working_day(self, d: date) -> bool:
        if d in self.extra_working_days:
            return True
        if d in self.extra_days_off or self.holidays(d):
            return False
        return d.weekday() in self.hours.weekdays

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        d += timedelta(days=1)
        for _ in range(400):
            if self.is_working_day(d):
                return d
            d += timedelta(days=1)
        raise ValueError("no working day within a year")

    def add_working_days(self, d: date, n: int) -> date:
        """The Nth working day after working day ``d`` (``d`` itself when n = 0)."""
        for _ in range(n):
            d = self.next_working_day(d)
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: 0 when end <= start."""
        n, d = 0, start
        while d < end:
            d += timedelta(days=1)
            n += self.is_working_day(d)
        return n

    def _at(self, d: date, t: time) -> datetime:
        return datetime.combine(d, t, self.tz)

    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("naive datetime: pass timezone-aware times")
        return moment.astimezone(self.tz)

    # -- the clock --------------------------------------------------------------------
    def clock_start(self, received: datetime) -> datetime:
        """When the processing clock starts for something received at ``received``.

        Within office hours and not after the cut-off: at once. Otherwise the next working
        day's opening (002 Điều 21: received after 15:00 counts from the next working day).
        A receipt before opening on a working day starts at that day's opening.
        """
        r = self._local(received)
        d, t = r.date(), r.timetz().replace(tzinfo=None)
        if self.is_working_day(d):
            if t < self.hours.opening:
                return self._at(d, self.hours.opening)
            if t <= self.hours.cutoff:
                for a, b in self.hours.intervals:
                    if a <= t < b:
                        return r
                    if t < a:  # lunch break: from the afternoon's start
                        return self._at(d, a)
        return self._at(self.next_working_day(d), self.hours.opening)

    def due(self, received: datetime, limit: TimeLimit) -> datetime:
        """The appointment (ngày hẹn trả) for a dossier complete at ``received``."""
        start = self.clock_start(received)
        if limit.unit == "working_days":
            return self._at(self.add_working_days(start.date(), limit.value), self.hours.closing)
        if limit.unit == "working_hours":
            return self.add_working_hours(start, limit.value)
        # Calendar days; a last day off moves to the next working day (Civil Code Art. 148).
        d = start.date() + timedelta(days=limit.value)
        if not self.is_working_day(d):
            d = self.next_working_day(d)
        return self._at(d, self.hours.closing)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` of office time. ``start`` should be in office hours."""
        remaining = timedelta(hours=hours)
        cur = self._local(start)
        d = cur.date()
        while True:
            if self.is_working_day(d):
                for a, b in self.hours.intervals:
                    lo, hi = max(cur, self._at(d, a)), self._at(d, b)
                    if lo >= hi:
                        continue
                    if hi - lo >= remaining:
                        return lo + remaining
                    remaining -= hi - lo
            d = self.next_working_day(d)
            cur = self._at(d, self.hours.opening)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Office time between two instants (zero when end <= start)."""
        s, e = self._local(start), self._local(end)
        total = timedelta()
        d = s.date()
        while d <= e.date():
            if self.is_working_day(d):
                for a, b in self.hours.intervals:
                    lo, hi = max(s, self._at(d, a)), min(e, self._at(d, b))
                    if hi > lo:
                        total += hi - lo
            d += timedelta(days=1)
        return total

    # -- judging ----------------------------------------------------------------------
    def days_late(self, due: datetime, finished: datetime) -> int:
        """DanhGia: 0 when finished on or before the appointment, else working days late."""
        if finished <= due:
            return 0
        late = self.working_days_between(self._local(due).date(), self._local(finished).date())
        return max(late, 1)  # late the same day (after closing) still counts as one day

    def due_within(self, now: datetime, due: datetime, hours: float) -> bool:
        """Whether ``due`` is still ahead and falls within ``hours`` of office time from now."""
        if due <= now:
            return False
        return self.working_time_between(now, due) <= timedelta(hours=hours)

    def can_extend(self, now: datetime, due: datetime) -> bool:
        """004 Điều 12.8: an extension is asked at least one working day before the due date."""
        return self.working_days_between(self._local(now).date(), self._local(due).date()) >= 1
