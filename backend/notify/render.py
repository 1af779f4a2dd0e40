"""Turn an outbox row into the chat messages to send: the text, and the form as a PDF."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from backend.db.models import Agency, Attachment, Dossier, HistoryEntry, Officer, OutboxMessage
from backend.domain.messages import Button, Document, Outbound, Text
from backend.domain.workflow import ACTION_NAMES_VI, Action
from backend.notify import texts
from backend.notify.dispatcher import Renderer

# Which Circular 01/2018 form goes with which citizen notification.
FORM_OF_EVENT = {
    "accepted": "receipt",
    "supplement_requested": "supplement_request",
    "rejected": "refusal",
    "extended": "apology",
}
FORM_FILENAMES = {
    "receipt": "giay-tiep-nhan-hen-tra",
    "supplement_request": "phieu-yeu-cau-bo-sung",
    "refusal": "phieu-tu-choi",
    "apology": "phieu-xin-loi-hen-lai",
    "process_control": "phieu-kiem-soat",
}


def make_renderer(ctx: Any, console_url: str) -> Renderer:
    async def render(row: OutboxMessage, channel: str) -> list[Outbound]:
        p = row.payload
        if row.recipient != "citizen":
            return [texts.officer_digest(p) if row.kind == "digest" else texts.officer_task(row.kind, p, console_url)]
        out: list[Outbound] = []
        text = texts.citizen_text(row.kind, p)
        if row.kind == "returned":
            buttons = tuple((Button("★" * n, f"rate:{p['code']}:{n}"),) for n in (5, 4, 3, 2, 1))
            out.append(Text(text, buttons=buttons))
        else:
            out.append(Text(text))
        form = FORM_OF_EVENT.get(row.kind)
        if form:
            pdf = await form_pdf(ctx, row.dossier_id, form, p)  # type: ignore[attr-defined]
            out.append(Document(pdf, f"{FORM_FILENAMES[form]}-{p['code']}.pdf", caption=None))
        return out

    return render


async def form_pdf(ctx: Any, dossier_id: int, form: str, payload: dict[str, Any] | None = None) -> bytes:
    """Render one of the Circular 01/2018 forms for a dossier as it stands."""
    from backend import forms  # the PDF layer; imported late to keep start-up light

    d = await Dossier.get(id=dossier_id)
    data = await form_data(ctx, d, payload or {})
    return await asyncio.to_thread(forms.FORMS[form], data)  # ~45 ms of CPU: off the loop


async def form_data(ctx: Any, d: Dossier, payload: dict[str, Any]) -> Any:
    from backend import forms

    agency = await Agency.get(id=d.agency_id)  # type: ignore[attr-defined]
    proc = ctx.catalogue.get(d.procedure_slug)
    history = await HistoryEntry.filter(dossier_id=d.id).order_by("id").prefetch_related("actor_officer")
    accepted_by = next((h.actor_officer for h in history if h.action == "accept" and h.actor_officer), None)
    steps = tuple(
        forms.FormStep(
            at=h.at,
            actor=h.actor_officer.full_name if h.actor_officer else d.submitter_name,
            role=h.actor_role,
            action=_action_vi(h.action),
            note=h.note,
        )
        for h in history
    )
    sent = {a.component for a in await Attachment.filter(dossier_id=d.id)}
    docs = tuple((c.name, c.copies) for c in proc.components if c.mandatory or c.key in sent)
    new_appt = payload.get("new_appointment_at")
    return forms.FormData(
        code=d.code,
        agency_name=agency.name,
        agency_parent=agency.parent_name,
        procedure_name=proc.name,
        submitter_name=d.submitter_name,
        submitter_address=d.submitter_address,
        submitter_phone=d.submitter_phone,
        organisation=d.organisation,
        officer_name=accepted_by.full_name if isinstance(accepted_by, Officer) else "",
        received_at=d.received_at or d.submitted_at,
        appointment_at=d.appointment_at,
        new_appointment_at=datetime.fromisoformat(new_appt) if new_appt else None,
        documents=docs,
        missing_items=tuple(payload.get("items") or d.supplement_items or ()),
        reason=payload.get("reason") or d.rejection_reason or "",
        steps=steps,
        issued_at=ctx.clock.now(),
        lookup_base_url=ctx.public_base_url,
    )


def _action_vi(action: str) -> str:
    try:
        return ACTION_NAMES_VI[Action(action)]
    except ValueError:
        return action
