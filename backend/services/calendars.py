"""Working calendars per agency: office hours from the agency, holidays from `holidays`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

import holidays

from backend.domain.calendar import OfficeHours, WorkingCalendar


def vietnam_holidays() -> Callable[[date], bool]:
    """Vietnam's public holidays, Tết and the other lunar ones included (``holidays``)."""
    cal = holidays.country_holidays("VN")
    return cal.__contains__


def make_calendar(
    office_hours: dict | None,
    *,
    extra_working_days: Iterable[date] = (),
    extra_days_off: Iterable[date] = (),
    is_holiday: Callable[[date], bool] | None = None,
) -> WorkingCalendar:
    hours = OfficeHours.parse(**office_hours) if office_hours else OfficeHours()
    return WorkingCalendar(
        hours=hours,
        holidays=is_holiday or vietnam_holidays(),
        extra_working_days=frozenset(extra_working_days),
        extra_days_off=frozenset(extra_days_off),
    )
