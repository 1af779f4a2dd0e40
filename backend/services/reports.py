"""Reports (báo cáo): counts and on-time rate by agency, procedure and month; late dossiers.

On time means finished (the result at the desk, NgayHoanTatXuLy) on or before the
appointment; late by N working days otherwise (DanhGia, 002 Điều 21). Refused submissions
never had an appointment and count apart. Months are Vietnamese-time months of submission.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from backend.db.models import Agency, Dossier
from backend.domain.calendar import VN_TZ
from backend.domain.workflow import FINISHED, STATUS_NAMES_VI, Status
from backend.services.context import ServiceContext


@dataclass
class ReportRow:
    """One agency × procedure × month."""

    agency: str
    procedure: str
    month: str  # YYYY-MM
    submitted: int = 0
    rejected: int = 0
    finished: int = 0
    on_time: int = 0
    late: int = 0
    in_progress: int = 0
    overdue: int = 0

    @property
    def on_time_rate(self) -> float | None:
        """Share of finished dossiers finished on time; None before any is finished."""
        return self.on_time / self.finished if self.finished else None


@dataclass(frozen=True)
class LateDossier:
    dossier_id: int
    code: str
    agency: str
    procedure: str
    status_vi: str
    appointment_at: datetime
    finished_at: datetime | None  # None: still open, late so far
    days_late: int


@dataclass
class Report:
    rows: list[ReportRow] = field(default_factory=list)
    late: list[LateDossier] = field(default_factory=list)
    total: ReportRow = field(default_factory=lambda: ReportRow("Tổng cộng", "", ""))


def _bounds(start: date | None, end: date | None) -> dict[str, datetime]:
    q: dict[str, datetime] = {}
    if start:
        q["submitted_at__gte"] = datetime.combine(start, time(0), tzinfo=VN_TZ)
    if end:  # inclusive: the whole last day
        q["submitted_at__lt"] = datetime.combine(end + timedelta(days=1), time(0), tzinfo=VN_TZ)
    return q


async def build(
    ctx: ServiceContext, *, agency_id: int | None = None, start: date | None = None, end: date | None = None
) -> Report:
    """Counts per agency, procedure and month, and every late dossier, for the period."""
    q = Dossier.filter(**_bounds(start, end))
    if agency_id is not None:
        q = q.filter(agency_id=agency_id)
    agencies = {a.id: a for a in await Agency.all()}
    now = ctx.clock.now()
    groups: dict[tuple[str, str, str], ReportRow] = {}
    report = Report()
    for d in await q.order_by("submitted_at", "id"):
        agency = agencies[d.agency_id]  # type: ignore[attr-defined]
        proc = ctx.catalogue.procedures.get(d.procedure_slug)
        proc_name = proc.name if proc else d.procedure_slug
        month = d.submitted_at.astimezone(VN_TZ).strftime("%Y-%m")
        key = (agency.name, proc_name, month)
        row = groups.get(key) or groups.setdefault(key, ReportRow(*key))
        status = Status(d.status)
        cal = ctx.calendar(agency.office_hours)
        late_days = 0
        for r in (row, report.total):
            r.submitted += 1
        if status is Status.REJECTED:
            for r in (row, report.total):
                r.rejected += 1
            continue
        if status in FINISHED and d.finished_at and d.appointment_at:
            late_days = cal.days_late(d.appointment_at, d.finished_at)
            for r in (row, report.total):
                r.finished += 1
                r.on_time += late_days == 0
                r.late += late_days > 0
        else:
            overdue = bool(d.appointment_at and now > d.appointment_at)
            if overdue:
                late_days = cal.days_late(d.appointment_at, now)  # type: ignore[arg-type]
            for r in (row, report.total):
                r.in_progress += 1
                r.overdue += overdue
        if late_days and d.appointment_at:
            report.late.append(
                LateDossier(
                    d.id,
                    d.code,
                    agency.name,
                    proc_name,
                    STATUS_NAMES_VI[status],
                    d.appointment_at,
                    d.finished_at if status in FINISHED else None,
                    late_days,
                )
            )
    report.rows = sorted(groups.values(), key=lambda r: (r.month, r.agency, r.procedure))
    report.late.sort(key=lambda x: (-x.days_late, x.code))
    return report


def _pct(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}"


def summary_csv(report: Report) -> str:
    """The counts as CSV (UTF-8 with BOM, so spreadsheet software reads the diacritics)."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out)
    w.writerow(
        ["Tháng", "Cơ quan", "Thủ tục", "Đã nộp", "Từ chối", "Đã giải quyết", "Đúng hạn", "Trễ hạn",
         "Đang giải quyết", "Đang quá hạn", "Tỷ lệ đúng hạn (%)"]
    )  # fmt: skip
    for r in [*report.rows, report.total]:
        w.writerow(
            [r.month, r.agency, r.procedure, r.submitted, r.rejected, r.finished, r.on_time, r.late,
             r.in_progress, r.overdue, _pct(r.on_time_rate)]
        )  # fmt: skip
    return out.getvalue()


def late_csv(report: Report) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out)
    w.writerow(["Mã hồ sơ", "Cơ quan", "Thủ tục", "Trạng thái", "Hẹn trả", "Hoàn thành", "Số ngày trễ"])
    for x in report.late:
        w.writerow(
            [x.code, x.agency, x.procedure, x.status_vi, _fmt(x.appointment_at), _fmt(x.finished_at), x.days_late]
        )
    return out.getvalue()


def _fmt(moment: datetime | None) -> str:
    return moment.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M") if moment else ""


__all__ = ["Report", "ReportRow", "LateDossier", "build", "summary_csv", "late_csv"]
