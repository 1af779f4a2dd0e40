"""Reading dossiers: the status lookup (002 Điều 23), officers' task lists, due dates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.db.models import Agency, Department, Dossier, HistoryEntry, Officer, OutboxMessage
from backend.domain.codes import find_code
from backend.domain.workflow import (
    ACTION_NAMES_VI,
    EXCHANGE_CODE,
    FINISHED,
    STATUS_NAMES_VI,
    TASK_HOLDER,
    Role,
    Status,
)
from backend.services.context import Actor, ServiceContext
from backend.services.dossiers import task_row
from backend.services.errors import NotFound


@dataclass(frozen=True)
class DossierView:
    """What a status lookup shows. Strangers get masked personal data."""

    code: str
    lookup_url: str
    procedure: str
    agency: str
    department: str
    organisation: str
    submitter: str
    received_at: datetime | None
    submitted_at: datetime
    appointment_at: datetime | None
    finished_at: datetime | None
    status: str
    status_vi: str
    progress: str  # on time / late / done …
    supplement_items: tuple[str, ...]
    is_owner: bool
    rating: int | None = None
    rejection_reason: str = ""
    events: tuple[tuple[datetime, str], ...] = field(default_factory=tuple)


def mask_name(name: str) -> str:
    """'Nguyễn Văn An' → 'Nguyễn V. A.': enough to recognise one's own, not to identify."""
    parts = name.split()
    if len(parts) <= 1:
        return (name[:1] + "***") if name else ""
    return " ".join([parts[0]] + [p[0] + "." for p in parts[1:]])


def progress_vi(ctx: ServiceContext, d: Dossier, office_hours: dict, now: datetime) -> str:
    status = Status(d.status)
    if status is Status.REJECTED:
        return "Từ chối tiếp nhận"
    if d.appointment_at is None:
        return "Đang chờ tiếp nhận"
    cal = ctx.calendar(office_hours)
    if status in FINISHED and d.finished_at:
        late = cal.days_late(d.appointment_at, d.finished_at)
        return "Đã xử lý xong, đúng hạn" if late == 0 else f"Đã xử lý xong, trễ hạn {late} ngày làm việc"
    if now > d.appointment_at:
        return f"Đang xử lý, quá hạn {cal.days_late(d.appointment_at, now)} ngày làm việc"
    return "Đang xử lý, trong hạn"


async def find_dossier(text: str) -> Dossier:
    code = find_code(text)
    d = await Dossier.get_or_none(code=code) if code else None
    if d is None:
        raise NotFound("Không tìm thấy hồ sơ với mã này. Vui lòng kiểm tra lại mã trên giấy hẹn.")
    return d


async def lookup(ctx: ServiceContext, text: str, *, viewer: Actor | None = None) -> DossierView:
    """Look a dossier up by its code (typed, or read from the receipt's QR)."""
    d = await find_dossier(text)
    agency = await Agency.get(id=d.agency_id)  # type: ignore[attr-defined]
    dept = await Department.get_or_none(id=d.department_id) if d.department_id else None  # type: ignore[attr-defined]
    is_owner = viewer is not None and (
        (viewer.role is Role.CITIZEN and viewer.citizen_id == d.citizen_id)  # type: ignore[attr-defined]
        or (viewer.role not in (Role.CITIZEN, Role.SYSTEM) and viewer.agency_id == d.agency_id)  # type: ignore[attr-defined]
    )
    events: tuple[tuple[datetime, str], ...] = ()
    if is_owner:
        rows = await HistoryEntry.filter(dossier_id=d.id).order_by("id")
        events = tuple((h.at, ACTION_NAMES_VI.get(h.action, h.action)) for h in rows)  # type: ignore[call-overload]
    status = Status(d.status)
    return DossierView(
        code=d.code,
        lookup_url=ctx.lookup_url(d.code),
        procedure=ctx.catalogue.get(d.procedure_slug).name,
        agency=agency.name,
        department=dept.name if dept else "",
        organisation=d.organisation,
        submitter=d.submitter_name if is_owner else mask_name(d.submitter_name),
        received_at=d.received_at,
        submitted_at=d.submitted_at,
        appointment_at=d.appointment_at,
        finished_at=d.finished_at,
        status=status.value,
        status_vi=STATUS_NAMES_VI[status],
        progress=progress_vi(ctx, d, agency.office_hours, ctx.clock.now()),
        supplement_items=tuple(d.supplement_items or ()),
        is_owner=is_owner,
        rating=d.rating if is_owner else None,
        rejection_reason=d.rejection_reason if is_owner else "",
        events=events,
    )


@dataclass(frozen=True)
class Task:
    dossier: Dossier
    due_soon: bool
    overdue: bool


def _task_filter(actor: Actor) -> Q | None:
    """The dossiers in which ``actor`` holds the next step."""
    parts = []
    for status, (role, to_assignee) in TASK_HOLDER.items():
        if role is not actor.role:
            continue
        q = Q(status=status.value, agency_id=actor.agency_id)
        if to_assignee:
            q &= Q(assignee_id=actor.officer_id)
        elif role is Role.DEPARTMENT_HEAD:
            q &= Q(department_id=actor.department_id)
        parts.append(q)
    if not parts:
        return None
    out = parts[0]
    for q in parts[1:]:
        out |= q
    return out


async def tasks_for(ctx: ServiceContext, actor: Actor, *, soon_hours: float = 4) -> list[Task]:
    """An officer's queue (việc của tôi), most urgent first."""
    q = _task_filter(actor)
    if q is None:
        return []
    rows = await Dossier.filter(q).order_by("appointment_at", "id")
    if not rows:
        return []
    agency = await Agency.get(id=actor.agency_id)
    cal = ctx.calendar(agency.office_hours)
    now = ctx.clock.now()
    out = []
    for d in rows:
        due = d.appointment_at
        out.append(Task(d, bool(due and cal.due_within(now, due, soon_hours)), bool(due and now > due)))
    out.sort(key=lambda t: (not t.overdue, not t.due_soon, t.dossier.appointment_at or t.dossier.submitted_at))
    return out


async def remind_due(ctx: ServiceContext, *, hours: float = 4) -> int:
    """Queue one reminder to the task holder of each dossier due within ``hours`` office hours."""
    now = ctx.clock.now()
    open_states = [s.value for s in TASK_HOLDER]
    rows = await Dossier.filter(
        status__in=open_states, appointment_at__gt=now, appointment_at__lte=now + timedelta(days=14)
    )
    count = 0
    hours_of = {a.id: a.office_hours for a in await Agency.filter(id__in={d.agency_id for d in rows})}  # type: ignore[attr-defined]
    for d in rows:
        if not ctx.calendar(hours_of[d.agency_id]).due_within(now, d.appointment_at, hours):  # type: ignore[attr-defined]
            continue
        key = f"{d.appointment_at.isoformat()}|{d.status}"
        done = await OutboxMessage.filter(dossier_id=d.id, kind="due_reminder").values_list("payload", flat=True)
        if any(isinstance(p, dict) and p.get("key") == key for p in done):
            continue
        payload: dict[str, Any] = {
            "key": key,
            "dossier_id": d.id,
            "code": d.code,
            "status": d.status,
            "status_vi": STATUS_NAMES_VI[Status(d.status)],
            "version": d.version,
            "procedure": ctx.catalogue.get(d.procedure_slug).name,
            "submitter": d.submitter_name,
            "appointment_at": d.appointment_at.isoformat(),
            "exchange_status": EXCHANGE_CODE[Status(d.status)],
        }
        row = task_row(d, Status(d.status), "due_reminder", payload)
        holder = row.get("officer_id") or f"{row.get('pool_role')}"
        dedupe = f"due:{d.id}:{d.appointment_at.isoformat()}:{d.status}:{holder}"
        if await _insert_once(OutboxMessage(dedupe_key=dedupe[:200], **row)):
            count += 1
    return count


async def _insert_once(row: OutboxMessage) -> bool:
    """Insert unless a row with its dedupe key exists (another worker's pass got there first)."""
    try:
        async with in_transaction():  # a savepoint if the caller holds a transaction
            await row.save()
    except IntegrityError:
        return False
    return True


async def specialists_of(department_id: int) -> list[Officer]:
    return await Officer.filter(department_id=department_id, role=Role.SPECIALIST.value, active=True).order_by(
        "full_name"
    )
