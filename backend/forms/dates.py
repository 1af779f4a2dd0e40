"""Dates as Vietnamese papers write them ("09 giờ 30 phút, ngày 23 tháng 11 năm 2026")."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# What a blank paper form shows where no date is known yet: the officer writes it in.
BLANK_DATE = "ngày ..... tháng ..... năm ........"
BLANK_DATETIME = "..... giờ ..... phút, " + BLANK_DATE


def _local(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("Thời điểm in trên biểu mẫu phải có múi giờ (timezone-aware datetime)")
    return at.astimezone(VN_TZ)


def vn_date(at: datetime | None) -> str:
    """'ngày 05 tháng 3 năm 2026' (ngày tháng năm), in Vietnam's time zone."""
    if at is None:
        return BLANK_DATE
    local = _local(at)
    # Nghị định 30/2020/NĐ-CP, Phụ lục I: days below 10 and months 1 and 2 take a leading
    # zero (so the figure cannot be altered by hand); other months do not.
    month = f"{local.month:02d}" if local.month < 3 else str(local.month)
    return f"ngày {local.day:02d} tháng {month} năm {local.year}"


def vn_datetime(at: datetime | None) -> str:
    """'09 giờ 30 phút, ngày 23 tháng 11 năm 2026' (giờ phút, ngày tháng năm)."""
    if at is None:
        return BLANK_DATETIME
    local = _local(at)
    return f"{local.hour:02d} giờ {local.minute:02d} phút, {vn_date(local)}"
