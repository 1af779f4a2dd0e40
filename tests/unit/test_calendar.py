"""Working-time rules: office hours, Vietnamese holidays, the 15:00 rule, late by N days."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from backend.domain.calendar import VN_TZ, OfficeHours, TimeLimit, WorkingCalendar
from backend.services.calendars import make_calendar

SAME_DAY = TimeLimit(0, "working_days")


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return make_calendar(None)


def test_received_before_cutoff_is_due_the_same_day(cal: WorkingCalendar) -> None:
    assert cal.due(at(2026, 11, 23, 14, 59), SAME_DAY) == at(2026, 11, 23, 17, 0)


def test_received_after_cutoff_starts_next_working_day(cal: WorkingCalendar) -> None:
    # Tue 24/11/2026 is Vietnam Culture Day, a day off: the next working day is Wednesday.
    assert cal.due(at(2026, 11, 23, 15, 1), SAME_DAY) == at(2026, 11, 25, 17, 0)


def test_exactly_at_cutoff_still_counts_that_day(cal: WorkingCalendar) -> None:
    assert cal.due(at(2026, 11, 23, 15, 0), SAME_DAY) == at(2026, 11, 23, 17, 0)


def test_friday_afternoon_rolls_over_the_weekend(cal: WorkingCalendar) -> None:
    assert cal.due(at(2026, 11, 27, 15, 30), SAME_DAY) == at(2026, 11, 30, 17, 0)
    assert cal.due(at(2026, 11, 27, 14, 0), TimeLimit(1, "working_days")) == at(2026, 11, 30, 17, 0)


def test_weekend_and_evening_receipts_start_next_working_day(cal: WorkingCalendar) -> None:
    assert cal.clock_start(at(2026, 11, 28, 10, 0)) == at(2026, 11, 30, 7, 30)  # Saturday
    assert cal.clock_start(at(2026, 11, 25, 6, 0)) == at(2026, 11, 25, 7, 30)  # before opening
    assert cal.clock_start(at(2026, 11, 25, 12, 0)) == at(2026, 11, 25, 13, 30)  # lunch


def test_tet_2027_holidays_are_skipped(cal: WorkingCalendar) -> None:
    # Tết Đinh Mùi: 04/02 to 10/02/2027 off.
    assert not cal.is_working_day(date(2027, 2, 6))
    assert cal.due(at(2027, 2, 3, 15, 30), SAME_DAY) == at(2027, 2, 11, 17, 0)
    assert cal.due(at(2027, 2, 3, 10, 0), TimeLimit(3, "working_days")) == at(2027, 2, 15, 17, 0)


def test_reunification_and_labour_day(cal: WorkingCalendar) -> None:
    # 30/4 (Thu) and 1/5 (Fri) 2026 off; received Wednesday after 15:00 → Monday 4/5.
    assert cal.due(at(2026, 4, 29, 15, 1), SAME_DAY) == at(2026, 5, 4, 17, 0)


def test_national_day(cal: WorkingCalendar) -> None:
    # 2026: 31/8 (swapped), 1/9 and 2/9 off; Friday 28/8 after 15:00 → Thursday 3/9.
    assert cal.due(at(2026, 8, 28, 15, 30), SAME_DAY) == at(2026, 9, 3, 17, 0)


def test_working_days_limit_does_not_count_the_start_day(cal: WorkingCalendar) -> None:
    # Mon 23/11 → Wed 25 (1), Thu 26 (2), Fri 27 (3): Tuesday 24 is a day off.
    assert cal.due(at(2026, 11, 23, 9, 0), TimeLimit(3, "working_days")) == at(2026, 11, 27, 17, 0)


def test_hours_based_limit_counts_office_time_only(cal: WorkingCalendar) -> None:
    # Mon 09:00 + 8 h: 2.5 h morning, 3.5 h afternoon, Tue off, Wed 07:30 + 2 h.
    assert cal.due(at(2026, 11, 23, 9, 0), TimeLimit(8, "working_hours")) == at(2026, 11, 25, 9, 30)
    assert cal.due(at(2026, 11, 25, 10, 0), TimeLimit(1, "working_hours")) == at(2026, 11, 25, 11, 0)
    # Across lunch: 11:00 + 1 h = 30 min before lunch and 30 min after.
    assert cal.due(at(2026, 11, 25, 11, 0), TimeLimit(1, "working_hours")) == at(2026, 11, 25, 14, 0)


def test_calendar_days_limit_ends_on_a_working_day(cal: WorkingCalendar) -> None:
    assert cal.due(at(2026, 11, 23, 9, 0), TimeLimit(10, "days")) == at(2026, 12, 3, 17, 0)
    # 10 days after Thu 26/11 is Sunday 6/12 → Monday 7/12.
    assert cal.due(at(2026, 11, 26, 9, 0), TimeLimit(10, "days")) == at(2026, 12, 7, 17, 0)


def test_days_late(cal: WorkingCalendar) -> None:
    due = at(2026, 11, 25, 17, 0)
    assert cal.days_late(due, at(2026, 11, 25, 16, 59)) == 0
    assert cal.days_late(due, due) == 0
    assert cal.days_late(due, at(2026, 11, 25, 17, 30)) == 1
    assert cal.days_late(due, at(2026, 11, 26, 8, 0)) == 1
    assert cal.days_late(due, at(2026, 11, 27, 10, 0)) == 2
    assert cal.days_late(due, at(2026, 11, 30, 10, 0)) == 3  # the weekend does not count


def test_due_within_hours_for_reminders(cal: WorkingCalendar) -> None:
    due = at(2026, 11, 25, 9, 30)
    assert cal.due_within(at(2026, 11, 23, 16, 0), due, 4)  # 1 h Mon + 2 h Wed
    assert not cal.due_within(at(2026, 11, 23, 13, 0), due, 4)
    assert not cal.due_within(at(2026, 11, 25, 10, 0), due, 4)  # already past


def test_swapped_saturday_and_extra_day_off_from_data() -> None:
    cal = make_calendar(None, extra_working_days=[date(2026, 12, 5)], extra_days_off=[date(2026, 12, 4)])
    assert cal.is_working_day(date(2026, 12, 5)) and not cal.is_working_day(date(2026, 12, 4))
    assert cal.due(at(2026, 12, 3, 15, 30), SAME_DAY) == at(2026, 12, 5, 17, 0)


def test_office_hours_are_configurable_per_agency() -> None:
    hours = {"intervals": [["08:00", "12:00"], ["13:00", "16:30"]], "cutoff": "15:30"}
    cal = make_calendar(hours)
    assert cal.hours.closing == time(16, 30)
    assert cal.due(at(2026, 11, 23, 15, 20), SAME_DAY) == at(2026, 11, 23, 16, 30)
    with pytest.raises(ValueError):
        OfficeHours.parse([["12:00", "08:00"]])


def test_extension_must_be_asked_a_working_day_ahead(cal: WorkingCalendar) -> None:
    due = at(2026, 11, 27, 17, 0)
    assert cal.can_extend(at(2026, 11, 26, 16, 0), due)
    assert not cal.can_extend(at(2026, 11, 27, 8, 0), due)
    # Friday for a Monday appointment: one working day between, allowed.
    assert cal.can_extend(at(2026, 11, 27, 9, 0), at(2026, 11, 30, 17, 0))


def test_naive_datetimes_are_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError):
        cal.clock_start(datetime(2026, 11, 23, 9, 0))
