"""The officer's queue (việc của tôi), the dossier page with its actions, files and forms."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from aiohttp import web
from tortoise.expressions import Q

from backend.db.models import Agency, Attachment, Department, Dossier, HistoryEntry, Officer
from backend.domain.calendar import VN_TZ
from backend.domain.workflow import (
    ACTION_NAMES_VI,
    EXCHANGE_CODE,
    ROLE_NAMES_VI,
    STATUS_NAMES_VI,
    TASK_HOLDER,
    Action,
    Role,
    Status,
    WorkflowError,
    allowed_actions,
)
from backend.notify.render import FORM_FILENAMES, form_pdf
from backend.services import citizens, lookup
from backend.services import dossiers as uc
from backend.services.context import Actor, ServiceContext
from backend.services.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from backend.services.officers import actor_of
from backend.web.app import RUNTIME
from backend.web.console.common import error_page, form_of, me, page, render, see_other, state
from backend.web.params import as_id, query_text

WORKFLOW_ROLES = (Role.ONE_STOP, Role.DEPARTMENT_HEAD, Role.SPECIALIST, Role.AGENCY_HEAD, Role.CLERK)

# The heading of each queue section: what the officer is asked to do.
TASK_HEADINGS = {
    Status.SUBMITTED: "Hồ sơ mới cần kiểm tra",
    Status.AWAITING_RETURN: "Kết quả chờ trả cho công dân",
    Status.AWAITING_ASSIGNMENT: "Hồ sơ chờ phân công",
    Status.AWAITING_APPROVAL: "Dự thảo chờ xét duyệt",
    Status.NOT_SIGNED: "Bị trả lại, chờ xét duyệt lại",
    Status.APPRAISING: "Hồ sơ cần thẩm định",
    Status.NOT_APPROVED: "Không được duyệt, cần thẩm định lại",
    Status.SIGNED: "Đã ký, cần chuyển văn thư",
    Status.AWAITING_SIGNATURE: "Hồ sơ chờ ký duyệt",
    Status.AWAITING_STAMP: "Kết quả chờ đóng dấu",
}

DOC_TYPE_NAMES = {
    "id_card": "Căn cước / CCCD",
    "birth_certificate": "Giấy chứng sinh",
    "death_notice": "Giấy báo tử",
    "unknown": "không nhận dạng được",
}
# Labels of the OCR contract's fields (DOMAIN.md), for fields no form field takes its value from.
OCR_FIELD_LABELS = {
    "id_number": "Số định danh",
    "full_name": "Họ và tên",
    "date_of_birth": "Ngày sinh",
    "sex": "Giới tính",
    "nationality": "Quốc tịch",
    "place_of_origin": "Quê quán",
    "place_of_residence": "Nơi cư trú",
    "date_of_expiry": "Có giá trị đến",
    "mother_name": "Họ tên mẹ",
    "mother_birth_year": "Năm sinh của mẹ",
    "mother_id_number": "Số định danh của mẹ",
    "mother_residence": "Nơi cư trú của mẹ",
    "ethnicity": "Dân tộc",
    "child_birth_datetime": "Ngày giờ sinh",
    "birth_place": "Nơi sinh",
    "child_count": "Số con trong lần sinh",
    "child_sex": "Giới tính của trẻ",
    "child_weight_grams": "Cân nặng (gam)",
    "child_intended_name": "Tên dự định đặt",
    "death_datetime": "Ngày giờ chết",
    "death_place": "Nơi chết",
    "cause_of_death": "Nguyên nhân chết",
}

FORM_TITLES = {
    "receipt": "Giấy tiếp nhận và hẹn trả kết quả",
    "supplement_request": "Phiếu yêu cầu bổ sung",
    "refusal": "Phiếu từ chối tiếp nhận",
    "apology": "Phiếu xin lỗi và hẹn lại",
    "process_control": "Phiếu kiểm soát quá trình",
}


def _ctx(request: web.Request) -> ServiceContext:
    return request.app[RUNTIME].ctx


# -- the queue --------------------------------------------------------------------------
@page(WORKFLOW_ROLES)
async def queue(request: web.Request) -> web.StreamResponse:
    officer: Officer = me(request)
    ctx = _ctx(request)
    actor = actor_of(officer)
    q = query_text(request, "q", limit=60)
    only = request.query.get("loc", "")  # overdue | soon | ""
    status_filter = request.query.get("trang_thai", "")
    tasks = await lookup.tasks_for(ctx, actor)
    statuses = sorted({t.dossier.status for t in tasks}, key=lambda s: list(TASK_HEADINGS).index(Status(s)))
    shown = [
        t
        for t in tasks
        if (not status_filter or t.dossier.status == status_filter)
        and (only != "overdue" or t.overdue)
        and (only != "soon" or t.due_soon or t.overdue)
        and (not q or _matches(t.dossier, q))
    ]
    sections = []
    for s in TASK_HEADINGS:
        rows = [t for t in shown if t.dossier.status == s.value]
        if rows:
            sections.append({"title": TASK_HEADINGS[s], "status": s.value, "tasks": rows})
    found: list[Dossier] = []
    if q:  # the whole agency's dossiers too, not only the officer's tasks
        found = (
            await Dossier.filter(
                Q(code__icontains=q) | Q(submitter_name__icontains=q),
                agency_id=officer.agency_id,  # type: ignore[attr-defined]
            )
            .order_by("-id")
            .limit(50)
        )
    procs = {p.slug: p.name for p in ctx.catalogue.all()}
    return render(
        request,
        "queue.html",
        {
            "sections": sections,
            "total": len(tasks),
            "overdue": sum(t.overdue for t in tasks),
            "soon": sum(t.due_soon and not t.overdue for t in tasks),
            "statuses": [(s, TASK_HEADINGS[Status(s)]) for s in statuses],
            "q": q,
            "only": only,
            "status_filter": status_filter,
            "found": found,
            "procs": procs,
            "msg": request.query.get("msg", ""),
        },
    )


def _matches(d: Dossier, q: str) -> bool:
    q = q.casefold()
    return q in d.code.casefold() or q in d.submitter_name.casefold()


# -- the dossier page -------------------------------------------------------------------
async def _own_dossier(request: web.Request) -> Dossier | None:
    """The dossier, if it belongs to the officer's agency; another agency's is 'not found'."""
    dossier_id = as_id(request.match_info["id"])
    if dossier_id is None:
        return None
    d = await Dossier.get_or_none(id=dossier_id)
    if d is None or d.agency_id != me(request).agency_id:  # type: ignore[attr-defined]
        return None
    return d


def may_act(actor: Actor, d: Dossier, action: Action) -> bool:
    """Whether to offer ``action``: the workflow's rule plus the dossier's scope.

    The use case checks again in its transaction; this only keeps buttons off the page that
    would fail (another department's dossier, a specialist who is not the assignee).
    """
    if action not in allowed_actions(Status(d.status), actor.role):
        return False
    if actor.role is Role.DEPARTMENT_HEAD and d.department_id not in (None, actor.department_id):  # type: ignore[attr-defined]
        return False
    if actor.role is Role.SPECIALIST and d.assignee_id != actor.officer_id:  # type: ignore[attr-defined]
        return False
    if action is Action.EXTEND and d.extension_used:
        return False
    return action not in (Action.SUBMIT, Action.ADD_SUPPLEMENT, Action.RATE)


def available_forms(d: Dossier, history: list[HistoryEntry]) -> list[str]:
    done = {h.action for h in history}
    out = []
    if d.received_at and Action.ACCEPT in done:
        out.append("receipt")
    if Action.REQUEST_SUPPLEMENT in done:
        out.append("supplement_request")
    if Status(d.status) is Status.REJECTED:
        out.append("refusal")
    if Action.EXTEND in done:
        out.append("apology")
    out.append("process_control")
    return out


@page(WORKFLOW_ROLES)
async def dossier_page(request: web.Request) -> web.StreamResponse:
    d = await _own_dossier(request)
    if d is None:
        return error_page(request, 404, "Không tìm thấy hồ sơ (hoặc hồ sơ không thuộc cơ quan của anh/chị).")
    return await _render_dossier(request, d)


async def _render_dossier(request: web.Request, d: Dossier, *, error: str = "", status: int = 200) -> web.Response:
    ctx = _ctx(request)
    officer: Officer = me(request)
    actor = actor_of(officer)
    proc = ctx.catalogue.get(d.procedure_slug)
    agency = await Agency.get(id=d.agency_id)  # type: ignore[attr-defined]
    dept = await Department.get_or_none(id=d.department_id) if d.department_id else None  # type: ignore[attr-defined]
    assignee = await Officer.get_or_none(id=d.assignee_id) if d.assignee_id else None  # type: ignore[attr-defined]
    history = await HistoryEntry.filter(dossier_id=d.id).order_by("id").prefetch_related("actor_officer")
    attachments = await Attachment.filter(dossier_id=d.id).order_by("supplement_round", "id")
    comp_names = {c.key: c.name for c in proc.components}
    labels = {f.key: f.label for f in proc.form}
    form_rows = [
        (f.label, shown_value(d.form_data.get(f.key), f.type))
        for f in proc.form
        if d.form_data.get(f.key) not in (None, "")
    ]
    form_rows += [(k, v) for k, v in d.form_data.items() if k not in labels]  # kept, though not in the catalogue
    actions = [a for a in allowed_actions(Status(d.status), actor.role) if may_act(actor, d, a)]
    specialists = await lookup.specialists_of(d.department_id) if Action.ASSIGN in actions and d.department_id else []  # type: ignore[attr-defined]
    missing_choices = [c.name for c in proc.components] + [f.label for f in proc.form]
    now = ctx.clock.now()
    return render(
        request,
        "dossier.html",
        {
            "d": d,
            "proc": proc,
            "agency": agency,
            "dept": dept,
            "assignee": assignee,
            "status_vi": STATUS_NAMES_VI[Status(d.status)],
            "exchange_code": EXCHANGE_CODE[Status(d.status)],
            "progress": lookup.progress_vi(ctx, d, agency.office_hours, now),
            "overdue": bool(d.appointment_at and now > d.appointment_at and Status(d.status) in TASK_HOLDER),
            "form_rows": form_rows,
            "attachments": [_attachment_view(a, comp_names, ocr_labels(proc, a.component)) for a in attachments],
            "history": [_history_view(h, d) for h in history],
            "actions": [a.value for a in actions],
            "action_names": {a.value: n for a, n in ACTION_NAMES_VI.items()},
            "specialists": specialists,
            "missing_choices": missing_choices,
            "forms": [(f, FORM_TITLES[f]) for f in available_forms(d, history)],
            "error": error,
            "done": _done_name(request.query.get("done", "")),
            "today": now.astimezone(VN_TZ).date().isoformat(),
        },
        status=status,
    )


def _done_name(action: str) -> str:
    try:
        return ACTION_NAMES_VI[Action(action)]
    except ValueError:
        return ""


def shown_value(value: Any, kind: str = "") -> str:
    """A stored value as an officer reads it: dates dd/mm/yyyy, date-times HH:MM dd/mm/yyyy."""
    if isinstance(value, bool):
        return "Có" if value else "Không"
    text = str(value)
    if kind in ("date", "datetime", "") and len(text) >= 10 and text[4] == "-" and text[7] == "-":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        return moment.strftime("%H:%M %d/%m/%Y" if "T" in text else "%d/%m/%Y")
    return text


def ocr_labels(proc: Any, component: str) -> dict[str, str]:
    """OCR field → label: the form field filled from it, else the OCR contract's name."""
    labels = dict(OCR_FIELD_LABELS)
    for f in proc.form:
        if f.source and f.source.startswith(component + "."):
            labels[f.source.split(".", 1)[1]] = f.label
    return labels


PURGED_TEXT = "Ảnh đã xóa theo thời hạn lưu trữ."


def _attachment_view(a: Attachment, comp_names: dict[str, str], labels: dict[str, str]) -> dict[str, Any]:
    ocr = a.ocr or {}
    conf = ocr.get("confidence") or {}
    fields = [
        {
            "key": k,
            "label": labels.get(k, k),
            "value": shown_value(v),
            "confidence": conf.get(k) if isinstance(conf, dict) else None,
        }
        for k, v in (ocr.get("fields") or {}).items()
    ]
    overall = conf if isinstance(conf, int | float) else None
    return {
        "id": a.id,
        "component": comp_names.get(a.component, a.component or "Giấy tờ khác"),
        "is_image": a.mime_type.startswith("image/"),
        "filename": a.filename or f"tep-{a.id}",
        "doc_type": DOC_TYPE_NAMES.get(ocr.get("doc_type", ""), ocr.get("doc_type", "")),
        "fields": fields,
        "overall": overall,
        "round": a.supplement_round,
        "purged": a.purged_at is not None,
    }


def _history_view(h: HistoryEntry, d: Dossier) -> dict[str, Any]:
    try:
        action = ACTION_NAMES_VI[Action(h.action)]
    except ValueError:
        action = h.action
    if h.actor_officer:
        who = f"{h.actor_officer.full_name} ({ROLE_NAMES_VI.get(Role(h.actor_role), h.actor_role)})"
    elif h.actor_role == Role.CITIZEN:
        who = f"{d.submitter_name} (Công dân)"
    else:
        who = ROLE_NAMES_VI.get(Role(h.actor_role), h.actor_role)
    to = STATUS_NAMES_VI.get(Status(h.to_status), h.to_status) if h.to_status else ""
    return {"at": h.at, "action": action, "who": who, "to": to, "note": h.note}


# -- acting on a dossier ----------------------------------------------------------------
def _when(day: str, hour: str = "", default: time = time(17, 0)) -> datetime:
    """A date (and time) typed in the form, in Vietnamese time."""
    try:
        d = datetime.fromisoformat(day.strip()).date()
        t = time.fromisoformat(hour.strip()) if hour.strip() else default
    except ValueError:
        raise InvalidInput("Ngày giờ không hợp lệ.") from None
    return datetime.combine(d, t, tzinfo=VN_TZ)


def _supplement_items(form: dict[str, Any], raw: Any) -> list[str]:
    items = [str(v) for v in raw]
    items += [line.strip() for line in str(form.get("other", "")).splitlines() if line.strip()]
    return items


async def _do(request: web.Request, action: Action, d: Dossier, form: dict[str, Any], version: int) -> None:
    ctx, actor = _ctx(request), actor_of(me(request))
    kw: dict[str, Any] = {"version": version}
    text = str(form.get("text", ""))
    match action:
        case Action.ACCEPT:
            await uc.accept(ctx, actor, d.id, needs_verification=bool(form.get("needs_verification")), **kw)
        case Action.REJECT:
            await uc.reject(ctx, actor, d.id, text, **kw)
        case Action.REQUEST_SUPPLEMENT:
            items = _supplement_items(form, state(request).multi.getall("item", []))
            await uc.request_supplement(ctx, actor, d.id, items, str(form.get("note", "")), **kw)
        case Action.ASSIGN:
            specialist = as_id(form.get("specialist"))
            if specialist is None:
                raise InvalidInput("Vui lòng chọn chuyên viên thụ lý.")
            await uc.assign(ctx, actor, d.id, specialist, **kw)
        case Action.CONSULT:
            deadline = _when(str(form.get("deadline", "")))
            await uc.consult(ctx, actor, d.id, str(form.get("agency", "")), text, deadline, **kw)
        case Action.ANSWER_CONSULTATION:
            await uc.answer_consultation(ctx, actor, d.id, text, **kw)
        case Action.DRAFT_RESULT:
            await uc.draft_result(ctx, actor, d.id, refuse=form.get("refuse") == "1", note=text, **kw)
        case Action.APPROVE:
            await uc.approve(ctx, actor, d.id, **kw)
        case Action.SEND_BACK_DRAFT:
            await uc.send_back_draft(ctx, actor, d.id, text, **kw)
        case Action.SIGN:
            await uc.sign(ctx, actor, d.id, **kw)
        case Action.SEND_BACK_SIGNATURE:
            await uc.send_back_signature(ctx, actor, d.id, text, **kw)
        case Action.FORWARD_RESULT:
            await uc.forward_result(ctx, actor, d.id, **kw)
        case Action.STAMP:
            await uc.stamp(ctx, actor, d.id, **kw)
        case Action.RETURN_RESULT:
            await uc.return_result(ctx, actor, d.id, **kw)
        case Action.CLOSE:
            await uc.close(ctx, actor, d.id, **kw)
        case Action.EXTEND:
            new = _when(str(form.get("date", "")), str(form.get("time", "")))
            await uc.extend(ctx, actor, d.id, new, text, **kw)
        case _:
            raise Forbidden("Thao tác không hợp lệ.")


ERROR_STATUS: dict[type[Exception], int] = {NotFound: 404, Forbidden: 403, Conflict: 409}


@page(WORKFLOW_ROLES)
async def act(request: web.Request) -> web.StreamResponse:
    """Take one action on a dossier; the form carries the version the officer saw."""
    d = await _own_dossier(request)
    if d is None:
        return error_page(request, 404, "Không tìm thấy hồ sơ (hoặc hồ sơ không thuộc cơ quan của anh/chị).")
    try:
        action = Action(request.match_info["action"])
    except ValueError:
        return error_page(request, 404, "Thao tác không có.")
    form = form_of(request)
    try:
        version = int(str(form.get("version", "")))
    except ValueError:
        return await _render_dossier(request, d, error="Thiếu phiên bản hồ sơ; vui lòng tải lại trang.", status=400)
    # A stale page (a double click, another officer first) goes to the use case, whose
    # Conflict says what happened; a current page offering no such action is refused here.
    if version == d.version and not may_act(actor_of(me(request)), d, action):
        name = ACTION_NAMES_VI[action]
        return await _render_dossier(
            request, d, error=f"Anh/chị không được «{name}» hồ sơ này ở bước hiện tại.", status=403
        )
    try:
        await _do(request, action, d, form, version)
    except (ServiceError, WorkflowError) as exc:
        fresh = await Dossier.get(id=d.id)
        return await _render_dossier(request, fresh, error=str(exc), status=ERROR_STATUS.get(type(exc), 400))
    request.app[RUNTIME].changed()
    return see_other(f"/console/dossiers/{d.id}?done={action.value}")


# -- files and forms --------------------------------------------------------------------
@page(WORKFLOW_ROLES)
async def attachment_file(request: web.Request) -> web.StreamResponse:
    """A photo the citizen sent, for officers of the dossier's agency only."""
    att_id = as_id(request.match_info["id"])
    att = await Attachment.get_or_none(id=att_id) if att_id else None
    d = await Dossier.get_or_none(id=att.dossier_id) if att and att.dossier_id else None  # type: ignore[attr-defined]
    if att is None or d is None or d.agency_id != me(request).agency_id:  # type: ignore[attr-defined]
        return error_page(request, 404, "Không tìm thấy tệp.")
    if att.purged_at is not None:  # deleted under the retention policy: gone for good
        return error_page(request, 410, PURGED_TEXT)
    body = await citizens.read_attachment(_ctx(request), att)
    if body is None:
        return error_page(request, 404, "Tệp không còn trên máy chủ.")
    inline = att.mime_type.startswith("image/") and att.mime_type != "image/svg+xml"
    return web.Response(
        body=body,
        content_type=att.mime_type if inline else "application/octet-stream",
        headers={
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="tep-{att.id}"',
        },
    )


@page(WORKFLOW_ROLES)
async def form_file(request: web.Request) -> web.StreamResponse:
    """A Circular 01/2018 form for the dossier as it stands, to print at the desk."""
    d = await _own_dossier(request)
    form = request.match_info["form"]
    if d is None or form not in FORM_TITLES:
        return error_page(request, 404, "Không tìm thấy hồ sơ hoặc biểu mẫu.")
    history = await HistoryEntry.filter(dossier_id=d.id).order_by("id")
    if form not in available_forms(d, history):
        return error_page(request, 404, "Biểu mẫu này chưa có cho hồ sơ ở bước hiện tại.")
    # The supplement request and the apology print what was decided at the time.
    source = {"supplement_request": Action.REQUEST_SUPPLEMENT, "apology": Action.EXTEND}.get(form)
    payload: dict[str, Any] = next((h.data for h in reversed(history) if h.action == source), {}) if source else {}
    pdf = await form_pdf(_ctx(request), d.id, form, payload)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{FORM_FILENAMES[form]}-{d.code}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/console", queue),
        web.get("/console/dossiers/{id}", dossier_page),
        web.post("/console/dossiers/{id}/act/{action}", act),
        web.get("/console/dossiers/{id}/forms/{form}", form_file),
        web.get("/console/files/{id}", attachment_file),
    ]
