"""Use cases on a dossier: submit, check, assign, appraise, approve, sign, stamp, return…

Each use case opens one transaction, loads and locks the dossier, asks the domain whether
the action is allowed, changes the dossier, and writes the history row and the outbox rows
in that same transaction: a status change and the message announcing it commit together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.db.models import (
    Agency,
    Attachment,
    ChannelIdentity,
    Department,
    Dossier,
    HistoryEntry,
    Officer,
    OutboxMessage,
)
from backend.domain.calendar import VN_TZ
from backend.domain.codes import format_code
from backend.domain.workflow import (
    CITIZEN_EVENTS,
    EXCHANGE_CODE,
    STATUS_NAMES_VI,
    TASK_HOLDER,
    Action,
    Role,
    Status,
    WorkflowError,
    plan,
)
from backend.services.context import Actor, ServiceContext
from backend.services.errors import Conflict, Forbidden, InvalidInput, NotFound

Change = Callable[[Dossier, BaseDBAsyncClient], Awaitable[dict[str, Any] | None]]

# Statuses in which only the assigned specialist may act for the specialist role.
_ASSIGNEE_ONLY = {
    Action.CONSULT,
    Action.ANSWER_CONSULTATION,
    Action.DRAFT_RESULT,
    Action.FORWARD_RESULT,
    Action.REQUEST_SUPPLEMENT,
    Action.EXTEND,
}

APPRAISAL_SUPPLEMENT_WINDOW_DAYS = 3  # 004 Điều 12.4


# -- submission -------------------------------------------------------------------------
async def submit(
    ctx: ServiceContext,
    *,
    identity_id: int,
    procedure_slug: str,
    agency_id: int,
    form_data: dict[str, Any],
    attachment_ids: Sequence[int],
    organisation: str = "",
    submission_key: str | None = None,
) -> Dossier:
    """File a dossier (nộp hồ sơ): checks completeness, issues the code, queues the check.

    ``submission_key`` (the chat event that asked) files it once: asked again, the dossier
    filed the first time is returned and nothing changes."""
    if submission_key and (first := await Dossier.get_or_none(submission_key=submission_key)):
        return first
    proc = ctx.catalogue.get(procedure_slug)
    identity = await ChannelIdentity.get_or_none(id=identity_id)
    agency = await Agency.get_or_none(id=agency_id, active=True)
    if identity is None or agency is None:
        raise NotFound("Không tìm thấy người nộp hoặc cơ quan tiếp nhận.")
    if agency.level != proc.agency_level:
        raise InvalidInput(f"{agency.name} không giải quyết thủ tục «{proc.name}».")
    attachments = await Attachment.filter(id__in=list(attachment_ids), citizen_id=identity.citizen_id)
    if len(attachments) != len(set(attachment_ids)):
        raise InvalidInput("Có ảnh giấy tờ không còn trong hệ thống, vui lòng gửi lại.")
    if any(a.dossier_id is not None for a in attachments):  # type: ignore[attr-defined]
        raise InvalidInput(TAKEN)
    have = {a.component for a in attachments}
    missing_docs = [c.name for c in proc.components if c.mandatory and c.key not in have]
    missing_fields = [f.label for f in proc.missing_fields(form_data)]
    if missing_docs or missing_fields:
        raise InvalidInput("Hồ sơ còn thiếu: " + "; ".join(missing_docs + missing_fields) + ".")

    now = ctx.clock.now()
    actor = Actor(Role.CITIZEN, citizen_id=identity.citizen_id, name=_submitter_name(form_data))
    try:
        async with in_transaction() as conn:
            code = await _issue_code(conn, agency, now)
            d = await Dossier.create(
                submission_key=submission_key,
                code=code,
                procedure_slug=proc.slug,
                agency=agency,
                citizen_id=identity.citizen_id,
                identity=identity,
                submitter_name=actor.name,
                submitter_address=_first(form_data, "declarant_residence", "owner_residence", "applicant_residence"),
                submitter_phone=_first(form_data, "declarant_phone", "phone"),
                submitter_id_number=_first(
                    form_data, "declarant_id_number", "owner_id_number", "taxpayer_id_number", "applicant_id_number"
                ),
                organisation=organisation,
                form_data=form_data,
                status=Status.SUBMITTED,
                submitted_at=now,
                using_db=conn,
            )
            # Only photos no dossier holds yet: another submission cannot take them away.
            ids = list(attachment_ids)
            if await Attachment.filter(id__in=ids, dossier_id=None).using_db(conn).update(dossier_id=d.id) != len(
                    set(ids)):
                raise InvalidInput(TAKEN)
            await _record(conn, d, actor, Action.SUBMIT, None, Status.SUBMITTED, now, "", {})
            await _write_outbox(ctx, conn, d, Action.SUBMIT, None, Status.SUBMITTED, {})
    except IntegrityError:
        if submission_key and (first := await Dossier.get_or_none(submission_key=submission_key)):
            return first  # the same event, filed meanwhile by another worker
        raise
    return d


TAKEN = "Có ảnh giấy tờ đã nộp trong một hồ sơ khác. Vui lòng chụp và gửi lại ảnh cho hồ sơ này."


def _submitter_name(data: dict[str, Any]) -> str:
    return _first(data, "declarant_name", "owner_name", "taxpayer_name", "applicant_name") or "?"


def _first(data: dict[str, Any], *keys: str) -> str:
    for k in keys:
        if data.get(k):
            return str(data[k])
    return ""


async def _issue_code(conn: BaseDBAsyncClient, agency: Agency, now: datetime) -> str:
    """Next code for the agency and day: one atomic upsert, safe under concurrent submits."""
    day = now.astimezone(VN_TZ).date()  # the receipt date, as printed
    dialect = conn.capabilities.dialect
    ph = ("$1", "$2") if dialect == "postgres" else ("?", "?")
    sql = (
        f"INSERT INTO code_counter (agency_id, day, last_sequence) VALUES ({ph[0]}, {ph[1]}, 1) "
        "ON CONFLICT (agency_id, day) DO UPDATE SET last_sequence = code_counter.last_sequence + 1 "
        "RETURNING last_sequence"
    )
    rows = await conn.execute_query_dict(sql, [agency.id, day])  # fetches RETURNING on both
    return format_code(agency.code, day, int(rows[0]["last_sequence"]))


# -- the transition machinery -----------------------------------------------------------
async def _act(
    ctx: ServiceContext,
    actor: Actor,
    dossier_id: int,
    action: Action,
    *,
    version: int | None = None,
    note: str = "",
    change: Change | None = None,
) -> Dossier:
    """Apply one workflow action atomically, with its history and outbox rows."""
    now = ctx.clock.now()
    async with in_transaction() as conn:
        d = await Dossier.filter(id=dossier_id).using_db(conn).select_for_update().first()
        if d is None:
            raise NotFound("Không tìm thấy hồ sơ.")
        _check_scope(actor, d, action)
        if version is not None and d.version != version:
            raise Conflict(
                f"Hồ sơ {d.code} vừa được cập nhật (hiện ở bước «{STATUS_NAMES_VI[Status(d.status)]}»); "
                "thao tác này không được thực hiện lại."
            )
        old = Status(d.status)
        new = plan(action, old, actor.role)
        extra = (await change(d, conn)) if change else None
        d.status = new
        d.version += 1
        await d.save(using_db=conn)
        await _record(conn, d, actor, action, old, new, now, note, extra or {})
        await _write_outbox(ctx, conn, d, action, old, new, extra or {})
    return d


def _check_scope(actor: Actor, d: Dossier, action: Action) -> None:
    if actor.role is Role.CITIZEN:
        if actor.citizen_id != d.citizen_id:  # type: ignore[attr-defined]
            raise Forbidden("Hồ sơ này không phải của anh/chị.")
        return
    if actor.role is Role.SYSTEM:
        return
    if actor.agency_id != d.agency_id:  # type: ignore[attr-defined]
        raise Forbidden("Hồ sơ không thuộc cơ quan của anh/chị.")
    dept = d.department_id  # type: ignore[attr-defined]
    if actor.role is Role.DEPARTMENT_HEAD and dept is not None and actor.department_id != dept:
        raise Forbidden("Hồ sơ không thuộc phòng của anh/chị.")
    if (
        actor.role is Role.SPECIALIST and action in _ASSIGNEE_ONLY and d.assignee_id != actor.officer_id  # type: ignore[attr-defined]
    ):
        raise Forbidden("Hồ sơ này không được phân công cho anh/chị.")


async def _record(
    conn: BaseDBAsyncClient,
    d: Dossier,
    actor: Actor,
    action: Action,
    old: Status | None,
    new: Status,
    now: datetime,
    note: str,
    data: dict[str, Any],
) -> None:
    await HistoryEntry.create(
        dossier_id=d.id,
        at=now,
        actor_officer_id=actor.officer_id,
        actor_citizen_id=actor.citizen_id if actor.role is Role.CITIZEN else None,
        actor_role=actor.role,
        action=action,
        from_status=old or "",
        to_status=new,
        note=note,
        data=_jsonable(data),
        using_db=conn,
    )


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}


async def _write_outbox(
    ctx: ServiceContext,
    conn: BaseDBAsyncClient,
    d: Dossier,
    action: Action,
    old: Status | None,
    new: Status,
    extra: dict[str, Any],
) -> None:
    """One message to the citizen per citizen-visible change; one per new officer task."""
    proc = ctx.catalogue.get(d.procedure_slug)
    base = {
        "dossier_id": d.id,
        "code": d.code,
        "procedure": proc.name,
        "status": new.value,
        "status_vi": STATUS_NAMES_VI[new],
        "exchange_status": EXCHANGE_CODE[new],
        "appointment_at": d.appointment_at.isoformat() if d.appointment_at else None,
        "lookup_url": ctx.lookup_url(d.code),
        "version": d.version,
    } | _jsonable(extra)
    event = CITIZEN_EVENTS.get(action)
    if event and d.identity_id is not None:  # type: ignore[attr-defined]
        payload = base | {"fee": proc.fee, "result": proc.result, "result_delivery": list(proc.result_delivery)}
        await OutboxMessage.create(
            dossier_id=d.id,
            kind=event,
            recipient="citizen",
            identity_id=d.identity_id,
            payload=payload,
            using_db=conn,  # type: ignore[attr-defined]
        )
    if new != old and new in TASK_HOLDER:
        payload = base | {"task": new.value, "submitter": d.submitter_name}
        await OutboxMessage.create(**task_row(d, new, "task", payload), using_db=conn)


def task_row(d: Dossier, status: Status, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """An outbox row to whoever holds the task in ``status``: the assignee, or the role's pool."""
    role, to_assignee = TASK_HOLDER[status]
    row: dict[str, Any] = {"dossier_id": d.id, "kind": kind, "payload": payload}
    if to_assignee:
        return row | {"recipient": "officer", "officer_id": d.assignee_id}  # type: ignore[attr-defined]
    row |= {"recipient": "pool", "pool_role": role.value, "pool_agency_id": d.agency_id}  # type: ignore[attr-defined]
    if role is Role.DEPARTMENT_HEAD:
        row["pool_department_id"] = d.department_id  # type: ignore[attr-defined]
    return row


async def _calendar_for(ctx: ServiceContext, d: Dossier, conn: BaseDBAsyncClient):  # noqa: ANN202
    agency = await Agency.get(id=d.agency_id).using_db(conn)  # type: ignore[attr-defined]
    return ctx.calendar(agency.office_hours)


# -- the check (kiểm tra) ----------------------------------------------------------------
async def reject(
    ctx: ServiceContext, actor: Actor, dossier_id: int, reason: str, *, version: int | None = None
) -> Dossier:
    """Refuse the submission (từ chối tiếp nhận), stating why; the dossier ends."""
    reason = _required(reason, "Vui lòng nêu rõ lý do từ chối.")

    async def change(d: Dossier, conn: BaseDBAsyncClient) -> dict[str, Any]:
        d.rejection_reason = reason
        d.finished_at = d.closed_at = ctx.clock.now()
        return {"reason": reason}

    return await _act(ctx, actor, dossier_id, Action.REJECT, version=version, note=reason, change=change)


async def request_supplement(
    ctx: ServiceContext,
    actor: Actor,
    dossier_id: int,
    items: Sequence[str],
    note: str = "",
    *,
    version: int | None = None,
) -> Dossier:
    """Ask for a supplement (yêu cầu bổ sung): everything missing, in one message."""
    clean = [i.strip() for i in items if i and i.strip()]
    if not clean:
        raise InvalidInput("Vui lòng nêu đầy đủ các nội dung cần bổ sung.")

    async def change(d: Dossier, conn: BaseDBAsyncClient) -> dict[str, Any]:
        if Status(d.status) is Status.APPRAISING:
            cal = await _calendar_for(ctx, d, conn)
            received = d.received_at or d.submitted_at
            days = cal.working_days_between(
                received.astimezone(cal.tz).date(), ctx.clock.now().astimezone(cal.tz).date()
            )
            if days > APPRAISAL_SUPPLEMENT_WINDOW_DAYS:
                raise WorkflowError(
                    "Đã quá 03 ngày làm việc kể từ ngày tiếp nhận: không được yêu cầu bổ sung "
                    "(Điều 12.4); hãy xử lý hoặc trình từ chối."
                )
        d.supplement_items = clean
        d.supplement_note = note.strip()
        return {"items": clean, "note": note.strip()}

    return await _act(
        ctx, actor, dossier_id, Action.REQUEST_SUPPLEMENT, version=version, note="; ".join(clean), change=change
    )


async def add_supplement(
    ctx: ServiceContext,
    actor: Actor,
    dossier_id: int,
    attachment_ids: Sequence[int],
    form_updates: dict[str, Any] | None = None,
) -> Dossier:
    """The citizen sends what was asked for; the dossier returns to the officer.

    During appraisal the time limit restarts from zero now that the dossier is complete.
    """
    if not attachment_ids and not form_updates:
        raise InvalidInput("Vui lòng gửi ảnh giấy tờ cần bổ sung.")

    async def change(d: Dossier, conn: BaseDBAsyncClient) -> dict[str, Any]:
        got = await Attachment.filter(id__in=list(attachment_ids), citizen_id=d.citizen_id).using_db(conn)  # type: ignore[attr-defined]
        if len(got) != len(set(attachment_ids)):
            raise InvalidInput("Có ảnh không còn trong hệ thống, vui lòng gửi lại.")
        rounds = await HistoryEntry.filter(dossier_id=d.id, action=Action.REQUEST_SUPPLEMENT).using_db(conn).count()
        await (
            Attachment.filter(id__in=list(attachment_ids))
            .using_db(conn)
            .update(dossier_id=d.id, supplement_round=rounds)
        )
        if form_updates:
            d.form_data = {**d.form_data, **form_updates}
        items = d.supplement_items
        d.supplement_items = []
        out: dict[str, Any] = {"items": items, "attachments": list(attachment_ids)}
        if Status(d.status) is Status.APPRAISAL_SUPPLEMENT:
            proc = ctx.catalogue.get(d.procedure_slug)
            cal = await _calendar_for(ctx, d, conn)
            d.received_at = ctx.clock.now()
            d.appointment_at = cal.due(d.received_at, _limit(proc, d))
            out["appointment_at"] = d.appointment_at
        return out

    return await _act(ctx, actor, dossier_id, Action.ADD_SUPPLEMENT, change=change)


def _limit(proc, d: Dossier):  # noqa: ANN001, ANN202
    if d.needs_verification and proc.verification_time_limit:
        return proc.verification_time_limit
    return proc.time_limit


async def accept(
    ctx: ServiceContext,
    actor: Actor,
    dossier_id: int,
    *,
    needs_verification: bool = False,
    version: int | None = None,
) -> Dossier:
    """Accept (tiếp nhận): fix the appointment date, issue the receipt, pass to the department."""

    async def change(d: Dossier, conn: BaseDBAsyncClient) -> dict[str, Any]:
        proc = ctx.catalogue.get(d.procedure_slug)
        dept = await Department.get_or_none(agency_id=d.agency_id, key=proc.department).using_db(conn)  # type: ignore[attr-defined]
        if dept is None:
            raise InvalidInput(f"Cơ quan chưa có phòng xử lý thủ tục «{proc.name}» ({proc.department}).")
        cal = await _calendar_for(ctx, d, conn)
        d.needs_verification = needs_verification
        d.department_id = dept.id  # type: ignore[attr-defined]
        d.received_at = ctx.clock.now()
        d.appointment_at = cal.due(d.received_at, _limit(proc, d))
        d.supplement_items = []
        return {
            "appointment_at": d.appointment_at,
            "received_at": d.received_at,
            "department": dept.name,
            "form": "receipt",
        }

    return await _act(ctx, actor, dossier_id, Action.ACCEPT, version=version, change=change)


# -- processing (giải quyết) -------------------------------------------------------------
async def assign(
    ctx: ServiceContext, actor: Actor, dossier_id: int, specialist_id: int, *, version: int | None = None
) -> Dossier:
    """Assign a specialist (phân công thụ lý)."""

    async def change(d: Dossier, conn: BaseDBAsyncClient) -> dict[str, Any]:
        s = await Officer.get_or_none(id=specialist_id, active=True).using_db(conn)
        if s is None or s.role != Role.SPECIALIST or s.department_id != d.department_id:  # type: ignore[attr-defined]
            raise InvalidInput("Chỉ phân công được cho chuyên viên của phòng xử lý hồ sơ.")
        d.assignee_id = s.id  # type: ignore[attr-defined]
        return {"specialist": s.full_name, "specialist_id": s.id}

    return await _act(ctx, actor, dossier_id, Action.ASSIGN, version=version, change=change)


async def consult(
    ctx: ServiceContext,
    actor: Actor,
    dossier_id: int,
    agency_name: str,
    question: str,
    deadline: datetime,
    *,
    version: int | None = None,
) -> Dossier:
    """Ask another agency's opinion (lấy ý kiến) by a deadline."""
    agency_name = _required(agency_name, "Vui lòng nêu cơ quan được lấy ý kiến.")
    question = _required(question, "Vui lòng nêu nội dung cần lấy ý kiến.")
    if deadline <= ctx.clock.now():
        raise InvalidInput("Thời hạn trả lời phải sau thời điểm hiện tại.")

    async def change(d: Dossier, conn: BaseDBAsyncClient) -> dict[str, Any]:
        d.consultation = {"agency": agency_name, "question": question, "deadline": deadline.isoformat(), "answer": None}
        return {"agency": agency_name, "deadline": deadline}

    return await _act(ctx, actor, dossier_id, Action.CONSULT, version=version, note=question, change=change)


async def answer_consultation(
    ctx: ServiceContext, actor: Actor, dossier_id: int, answer: str, *, version: int | None = None
) -> Dossier:
    """Record the consulted agency's answer; appraisal resumes."""
    answer = _required(answer, "Vui lòng ghi nội dung ý kiến nhận được.")

    async def change(d: Dossier, conn: BaseDBAsyncClient) -> dict[str, Any]:
        d.consultation = {**(d.consultation or {}), "answer": answer, "answered_at": ctx.clock.now().isoformat()}
        return {}

    return await _act(ctx, actor, dossier_id, Action.ANSWER_CONSULTATION, version=version, note=answer, change=change)


async def draft_result(
    ctx: ServiceContext,
    actor: Actor,
    dossier_id: int,
    *,
    refuse: bool = False,
    note: str = "",
    version: int | None = None,
) -> Dossier:
    """Appraise (thẩm định) and submit the draft result — or a refusal with its reason."""
    if refuse:
        note = _required(note, "Dự thảo từ chối phải nêu rõ lý do.")

    async def change(d: Dossier, conn: BaseDBAsyncClient) -> dict[str, Any]:
        d.result_kind = "refusal" if refuse else "grant"
        d.result_note = note.strip()
        return {"result_kind": d.result_kind}

    return await _act(ctx, actor, dossier_id, Action.DRAFT_RESULT, version=version, note=note, change=change)


async def approve(ctx: ServiceContext, actor: Actor, dossier_id: int, *, version: int | None = None) -> Dossier:
    """Approve the draft (xét duyệt) and pass it for signature."""
    return await _act(ctx, actor, dossier_id, Action.APPROVE, version=version)


async def send_back_draft(
    ctx: ServiceContext, actor: Actor, dossier_id: int, reason: str, *, version: int | None = None
) -> Dossier:
    """Not approved: back to the specialist to appraise again."""
    reason = _required(reason, "Vui lòng nêu lý do không duyệt.")
    return await _act(ctx, actor, dossier_id, Action.SEND_BACK_DRAFT, version=version, note=reason)


async def sign(ctx: ServiceContext, actor: Actor, dossier_id: int, *, version: int | None = None) -> Dossier:
    """Sign the result (ký duyệt)."""
    return await _act(ctx, actor, dossier_id, Action.SIGN, version=version)


async def send_back_signature(
    ctx: ServiceContext, actor: Actor, dossier_id: int, reason: str, *, version: int | None = None
) -> Dossier:
    """Not signed: back to the department head to review again."""
    reason = _required(reason, "Vui lòng nêu lý do không ký.")
    return await _act(ctx, actor, dossier_id, Action.SEND_BACK_SIGNATURE, version=version, note=reason)


async def forward_result(ctx: ServiceContext, actor: Actor, dossier_id: int, *, version: int | None = None) -> Dossier:
    """Hand the signed result to the clerk (chuyển văn thư)."""
    return await _act(ctx, actor, dossier_id, Action.FORWARD_RESULT, version=version)


async def stamp(ctx: ServiceContext, actor: Actor, dossier_id: int, *, version: int | None = None) -> Dossier:
    """Stamp (đóng dấu) and pass to the one-stop desk: the work is finished; tell the citizen."""

    async def change(d: Dossier, conn: BaseDBAsyncClient) -> dict[str, Any]:
        d.finished_at = ctx.clock.now()
        return {"result_kind": d.result_kind, "note": d.result_note if d.result_kind == "refusal" else ""}

    return await _act(ctx, actor, dossier_id, Action.STAMP, version=version, change=change)


async def return_result(ctx: ServiceContext, actor: Actor, dossier_id: int, *, version: int | None = None) -> Dossier:
    """Hand over the result (trả kết quả) after comparing the originals and taking the fee."""
    return await _act(ctx, actor, dossier_id, Action.RETURN_RESULT, version=version)


async def close(ctx: ServiceContext, actor: Actor, dossier_id: int, *, version: int | None = None) -> Dossier:
    """Close the dossier (kết thúc)."""

    async def change(d: Dossier, conn: BaseDBAsyncClient) -> None:
        d.closed_at = ctx.clock.now()

    return await _act(ctx, actor, dossier_id, Action.CLOSE, version=version, change=change)


async def extend(
    ctx: ServiceContext,
    actor: Actor,
    dossier_id: int,
    new_appointment: datetime,
    reason: str,
    *,
    version: int | None = None,
) -> Dossier:
    """Extend once (gia hạn, 004 Điều 12.8): a day ahead at least, with an apology and new date."""
    reason = _required(reason, "Vui lòng nêu lý do gia hạn.")

    async def change(d: Dossier, conn: BaseDBAsyncClient) -> dict[str, Any]:
        if d.extension_used:
            raise WorkflowError("Hồ sơ đã được gia hạn một lần; không được gia hạn thêm.")
        if d.appointment_at is None:
            raise WorkflowError("Hồ sơ chưa có ngày hẹn trả.")
        cal = await _calendar_for(ctx, d, conn)
        if not cal.can_extend(ctx.clock.now(), d.appointment_at):
            raise WorkflowError("Phải đề nghị gia hạn chậm nhất 01 ngày làm việc trước ngày hẹn trả.")
        if new_appointment <= d.appointment_at:
            raise InvalidInput("Ngày hẹn mới phải sau ngày hẹn cũ.")
        old_date = d.appointment_at
        d.appointment_at = new_appointment
        d.extension_used = True
        return {
            "old_appointment_at": old_date,
            "new_appointment_at": new_appointment,
            "reason": reason,
            "form": "apology",
        }

    return await _act(ctx, actor, dossier_id, Action.EXTEND, version=version, note=reason, change=change)


async def rate(ctx: ServiceContext, actor: Actor, dossier_id: int, score: int, comment: str = "") -> Dossier:
    """The citizen rates the service once the result is returned (đánh giá)."""
    if not 1 <= int(score) <= 5:
        raise InvalidInput("Mức đánh giá từ 1 đến 5.")

    async def change(d: Dossier, conn: BaseDBAsyncClient) -> dict[str, Any]:
        if d.rating is not None:
            raise WorkflowError("Anh/chị đã đánh giá hồ sơ này rồi. Cảm ơn anh/chị!")
        d.rating, d.rating_comment = int(score), comment.strip()
        return {"score": int(score)}

    return await _act(ctx, actor, dossier_id, Action.RATE, note=comment, change=change)


def _required(text: str, message: str) -> str:
    if not text or not text.strip():
        raise InvalidInput(message)
    return text.strip()
