"""What every use case needs: the clock, the catalogue, calendars and file storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from backend.domain.calendar import WorkingCalendar
from backend.domain.workflow import Role
from backend.services.calendars import make_calendar, vietnam_holidays
from backend.services.catalogue import Catalogue
from backend.services.clock import Clock, SystemClock
from backend.services.storage import FileStore, LocalFileStore


@dataclass(frozen=True)
class Actor:
    """Who is acting: an officer (with agency and department) or a citizen."""

    role: Role
    officer_id: int | None = None
    citizen_id: int | None = None
    agency_id: int | None = None
    department_id: int | None = None
    name: str = ""


SYSTEM = Actor(Role.SYSTEM, name="Hệ thống")


@dataclass
class ServiceContext:
    catalogue: Catalogue
    clock: Clock = field(default_factory=SystemClock)
    files_dir: Path = Path("var/files")
    files: FileStore = None  # type: ignore[assignment]  # None: the local files_dir (set below)
    public_base_url: str = "http://127.0.0.1:8080"
    _calendars: dict[str, WorkingCalendar] = field(default_factory=dict)
    _holidays: object = None

    def __post_init__(self) -> None:
        if self.files is None:
            self.files = LocalFileStore(self.files_dir)

    def calendar(self, office_hours: dict | None) -> WorkingCalendar:
        """The working calendar for an agency's office hours (cached per configuration)."""
        key = repr(sorted((office_hours or {}).items()))
        cal = self._calendars.get(key)
        if cal is None:
            if self._holidays is None:
                self._holidays = vietnam_holidays()
            working, off = self.catalogue.calendar_data()
            cal = make_calendar(
                office_hours,
                extra_working_days=working,
                extra_days_off=off,
                is_holiday=self._holidays,  # type: ignore[arg-type]
            )
            self._calendars[key] = cal
        return cal

    def lookup_url(self, code: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/tra-cuu?ma={code}"
