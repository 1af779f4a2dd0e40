"""Data exchange records in the shapes of 002 Phụ lục (dossier record and status record)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.db.models import Agency, Department, Dossier, Officer
from backend.domain.calendar import VN_TZ
from backend.domain.workflow import EXCHANGE_CODE, FINAL, FINISHED, STATUS_NAMES_VI, Status
from backend.services.context import ServiceContext


def fmt(moment: datetime | None) -> str:
    """002's date format: ``dd/mm/yyyy h:m:s`` in Vietnamese time."""
    if moment is None:
        return ""
    m = moment.astimezone(VN_TZ)
    return f"{m:%d/%m/%Y} {m.hour}:{m.minute}:{m.second}"


async def _names(d: Dossier) -> tuple[Agency, str, str]:
    agency = await Agency.get(id=d.agency_id)  # type: ignore[attr-defined]
    dept = await Department.get_or_none(id=d.department_id) if d.department_id else None  # type: ignore[attr-defined]
    officer = await Officer.get_or_none(id=d.assignee_id) if d.assignee_id else None  # type: ignore[attr-defined]
    return agency, dept.name if dept else "", officer.full_name if officer else ""


def _rating(ctx: ServiceContext, d: Dossier, agency: Agency) -> int:
    """DanhGia: 0 on time, else working days late (so far, if still open)."""
    if d.appointment_at is None:
        return 0
    end = d.finished_at or ctx.clock.now()
    return ctx.calendar(agency.office_hours).days_late(d.appointment_at, end)


async def dossier_record(ctx: ServiceContext, d: Dossier) -> dict[str, Any]:
    agency, dept, officer = await _names(d)
    status = Status(d.status)
    return {
        "MaHsTTHC": d.code,
        "TenToChuc": d.organisation,
        "TenNguoiNop": d.submitter_name,
        "DiaChiNguoiNop": d.submitter_address,
        "SoCMND": d.submitter_id_number,
        "DienThoai": d.submitter_phone,
        "TenDVCong": ctx.catalogue.get(d.procedure_slug).name,
        "NgayNhanHS": fmt(d.received_at or d.submitted_at),
        "NgayHenTraHS": fmt(d.appointment_at),
        "TinhTrangHS": STATUS_NAMES_VI[status],
        "MaDonVi": agency.code,
        "TrangThaiXuLy": EXCHANGE_CODE[status],
        "PhongBanXuLy": dept,
        "CVXuLy": officer,
        "DinhKem": [a.filename or a.content_hash for a in await d.attachments.all()],  # type: ignore[attr-defined]
        "DuLieuChuyenNganh": d.form_data,
    }


async def status_record(ctx: ServiceContext, d: Dossier) -> dict[str, Any]:
    agency, dept, officer = await _names(d)
    status = Status(d.status)
    return {
        "MaHsTTHC": d.code,
        "NgayHenTra": fmt(d.appointment_at),
        "TinhTrangHS": STATUS_NAMES_VI[status],
        "TrangThaiXuLy": EXCHANGE_CODE[status],
        "PhongBanXuLy": dept,
        "CVXuLy": officer,
        "DanhGia": _rating(ctx, d, agency),
        "KetThucXuLy": 1 if status in FINAL or status in FINISHED else 0,
        "NgayHoanTatXuLy": fmt(d.finished_at),
    }


async def export(
    ctx: ServiceContext, *, since: datetime | None = None, agency_id: int | None = None
) -> list[dict[str, Any]]:
    """The feed: each dossier changed since ``since`` with its status record."""
    q = Dossier.all()
    if since is not None:
        q = q.filter(updated_at__gte=since)
    if agency_id is not None:
        q = q.filter(agency_id=agency_id)
    out = []
    for d in await q.order_by("id"):
        out.append({"HoSo": await dossier_record(ctx, d), "TrangThai": await status_record(ctx, d)})
    return out
