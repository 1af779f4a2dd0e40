"""Submitting a dossier by chat (nộp hồ sơ): pick the procedure, photograph each paper, answer
what OCR could not read, review, confirm.

State in ``conversation.data``: ``proc`` (slug), ``agency_id``, ``comp`` (index of the paper
being photographed), ``files`` ({component: [attachment ids]}), ``form`` (the e-form),
``unsure`` (OCR readings to confirm), ``skipped`` (optional questions passed), ``asking``
(the field asked now), ``editing`` (back to the review after the answer).
"""

from __future__ import annotations

import io
from typing import Any

from backend.db.models import Agency
from backend.domain.catalogue import DocumentComponent, FormField, Procedure
from backend.domain.messages import Button, Conversation, Image, Inbound, Outbound
from backend.services import citizens, dossiers
from bot import texts
from bot.handlers import fields, photos
from bot.handlers.base import (
    ChatError,
    Result,
    Services,
    Step,
    button_parts,
    column,
    photos_and_files,
    text,
    typed,
)

PICK, AGENCY, DOCS, FIELD, REVIEW = "submit.pick", "submit.agency", "submit.docs", "submit.field", "submit.review"


def _proc(conv: Conversation, svc: Services) -> Procedure:
    slug = conv.data.get("proc")
    if not slug or slug not in svc.ctx.catalogue.procedures:
        raise ChatError(texts.STALE_BUTTON)
    return svc.ctx.catalogue.get(slug)


# -- choosing the procedure and the agency -------------------------------------------------
async def pick_prompt(conv: Conversation, svc: Services) -> list[Outbound]:
    procs = svc.ctx.catalogue.all()
    return [text(texts.PICK_PROCEDURE, *column([Button(p.name, f"proc:{p.slug}") for p in procs]),
                 nav=True)]


async def pick(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    parts = button_parts(inbound)
    slug = parts[1] if parts[0] == "proc" and len(parts) == 2 else _match_procedure(typed(inbound), svc)
    if slug is None:
        if inbound.button:
            raise ChatError(texts.STALE_BUTTON)
        return await pick_prompt(conv, svc), PICK
    return await start(slug, conv, svc)


def _match_procedure(raw: str, svc: Services) -> str | None:
    words = fields.fold(raw)
    if not words:
        return None
    for p in svc.ctx.catalogue.all():
        if words in fields.fold(p.name) or fields.fold(p.name) in words:
            return p.slug
    return None


async def start(slug: str, conv: Conversation, svc: Services) -> Result:
    """Begin a procedure: choose the agency (asked only when there is a choice), then papers."""
    if slug not in svc.ctx.catalogue.procedures:
        raise ChatError(texts.STALE_BUTTON)
    proc = svc.ctx.catalogue.get(slug)
    conv.data = {"proc": slug, "comp": 0, "files": {}, "form": {}, "unsure": [], "skipped": []}
    agencies = await Agency.filter(level=proc.agency_level, active=True).order_by("id")
    if not agencies:
        raise ChatError(texts.NO_AGENCY.format(procedure=proc.name))
    intro = text(texts.PROCEDURE_INTRO.format(
        name=proc.name, time=_time_limit(proc), fee=proc.fee,
        count=len(proc.components)))
    if len(agencies) > 1:
        return [intro, *await agency_prompt(conv, svc)], AGENCY
    conv.data["agency_id"] = agencies[0].id
    return [intro, *await docs_prompt(conv, svc)], DOCS


def _time_limit(proc: Procedure) -> str:
    if proc.time_limit_note:
        return proc.time_limit_note
    unit = {"working_days": "ngày làm việc", "days": "ngày", "working_hours": "giờ làm việc"}
    return f"{proc.time_limit.value} {unit.get(proc.time_limit.unit, proc.time_limit.unit)}"


async def agency_prompt(conv: Conversation, svc: Services) -> list[Outbound]:
    proc = _proc(conv, svc)
    agencies = await Agency.filter(level=proc.agency_level, active=True).order_by("id")
    return [text(texts.PICK_AGENCY.format(procedure=proc.name),
                 *column([Button(a.name, f"ag:{a.id}") for a in agencies]), nav=True)]


async def agency(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    parts = button_parts(inbound)
    if parts[0] != "ag" or len(parts) != 2 or not parts[1].isdigit():
        if inbound.button:
            raise ChatError(texts.STALE_BUTTON)
        return await agency_prompt(conv, svc), AGENCY
    proc = _proc(conv, svc)
    if not await Agency.exists(id=int(parts[1]), level=proc.agency_level, active=True):
        raise ChatError(texts.STALE_BUTTON)
    conv.data["agency_id"] = int(parts[1])
    return await docs_prompt(conv, svc), DOCS


# -- photographing the papers ------------------------------------------------------------
def _component(conv: Conversation, proc: Procedure) -> DocumentComponent:
    return proc.components[min(conv.data.get("comp", 0), len(proc.components) - 1)]


async def docs_prompt(conv: Conversation, svc: Services) -> list[Outbound]:
    proc = _proc(conv, svc)
    comp = _component(conv, proc)
    have = len(conv.data.get("files", {}).get(comp.key, []))
    optional = "" if comp.mandatory else texts.DOC_OPTIONAL.format(
        condition=f", {comp.condition}" if comp.condition else "")
    body = texts.DOC_PROMPT.format(i=proc.components.index(comp) + 1, n=len(proc.components),
                                   name=comp.name, optional=optional, purpose=comp.purpose)
    if have:
        body += "\n" + texts.PHOTO_STORED.format(name=comp.name, count=have) + " " + texts.DOC_MORE
    return [text(body, _doc_buttons(comp, have), nav=True)]


def _doc_buttons(comp: DocumentComponent, have: int) -> list[Button]:
    row = []
    if have:
        row.append(Button(texts.DOC_DONE, "doc:next"))
    elif not comp.mandatory:
        row.append(Button(texts.DOC_SKIP, "doc:skip"))
    return row


async def docs(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    proc = _proc(conv, svc)
    comp = _component(conv, proc)
    parts = button_parts(inbound)
    if parts[0] == "doc":
        have = conv.data.get("files", {}).get(comp.key, [])
        if parts[1:] == ["next"] and have:
            return await _next_component(conv, svc)
        if parts[1:] == ["skip"] and not comp.mandatory and not have:
            return await _next_component(conv, svc)
        if parts[1] in ("next", "skip") and comp.mandatory and not have:
            raise ChatError(texts.DOC_NEED_PHOTO.format(name=comp.name))
        raise ChatError(texts.STALE_BUTTON)
    if inbound.button:
        raise ChatError(texts.STALE_BUTTON)
    files = photos_and_files(inbound)
    if not files:
        if fields.fold(typed(inbound)) in ("xong", "tiep", "tiep theo", "ok"):
            return await docs(_as_button(inbound, "doc:next"), conv, svc)
        return await docs_prompt(conv, svc), DOCS
    notes = [await _take_photo(att, conv, svc, proc, comp) for att in files]
    have = len(conv.data["files"].get(comp.key, []))
    body = "\n".join([*notes, texts.DOC_MORE])
    return [text(body, _doc_buttons(comp, have), nav=True)], DOCS


def _as_button(inbound: Inbound, data: str) -> Inbound:
    from dataclasses import replace

    return replace(inbound, text=None, button=data)


async def _take_photo(att: Any, conv: Conversation, svc: Services, proc: Procedure,
                      comp: DocumentComponent) -> str:
    """Check, store and read one photo; returns what to tell the citizen about it."""
    photo = await photos.receive(att, svc)
    ocr = await photos.read(photo, svc)
    notes: list[str] = []
    doc_type = (ocr or {}).get("doc_type", "unknown")
    if ocr and doc_type != "unknown" and comp.doc_type not in (doc_type, "unknown"):
        other = next((c for c in proc.components if c.doc_type == doc_type), None)
        if other is not None:
            notes.append(texts.PHOTO_OTHER_DOC.format(found=other.name))
            comp = other
        else:
            notes.append(texts.PHOTO_WRONG_DOC.format(name=comp.name))
    stored = await citizens.store_attachment(
        svc.ctx, citizen_id=svc.citizen_id, data=photo.data, mime_type=photo.mime_type,
        filename=photo.filename, component=comp.key, ocr=ocr)
    files = conv.data.setdefault("files", {}).setdefault(comp.key, [])
    files.append(stored.id)
    body = texts.PHOTO_STORED.format(name=comp.name, count=len(files))
    read = _prefill(conv, proc, comp, ocr) if ocr else []
    if read:
        body += "\n" + texts.PHOTO_READ + "\n" + "\n".join(read)
    elif comp.doc_type != "unknown":
        body += "\n" + texts.PHOTO_UNREAD
    if notes:
        body += "\n" + "\n".join(notes)
    return body


def _prefill(conv: Conversation, proc: Procedure, comp: DocumentComponent,
             ocr: dict[str, Any]) -> list[str]:
    """Fill the e-form from what OCR read on this paper; uncertain readings get confirmed."""
    form, unsure = conv.data.setdefault("form", {}), conv.data.setdefault("unsure", [])
    read_fields, confidence = ocr.get("fields") or {}, ocr.get("confidence") or {}
    lines = []
    for f in proc.form:
        if not f.source or f.source.split(".", 1)[0] != comp.key:
            continue
        name = f.source.split(".", 1)[1]
        if read_fields.get(name) in (None, "") or form.get(f.key) not in (None, ""):
            continue
        value = fields.from_ocr(f, read_fields[name])
        if value in (None, ""):  # a reading that fails the field's check is asked instead
            continue
        form[f.key] = value
        doubt = float(confidence.get(name, 1.0)) < fields.UNSURE_BELOW
        if doubt and f.key not in unsure:
            unsure.append(f.key)
        lines.append(f"• {f.label}: {fields.shown(f, form[f.key])}{' (?)' if doubt else ''}")
    return lines


async def _next_component(conv: Conversation, svc: Services) -> Result:
    proc = _proc(conv, svc)
    conv.data["comp"] = conv.data.get("comp", 0) + 1
    if conv.data["comp"] < len(proc.components):
        return await docs_prompt(conv, svc), DOCS
    return await _ask_next(conv, svc)


# -- the e-form ----------------------------------------------------------------------------
async def _ask_next(conv: Conversation, svc: Services) -> Result:
    proc = _proc(conv, svc)
    f = fields.next_field(proc, conv.data)
    if conv.data.get("editing") and f is not None and not fields.is_needed(f, conv.data.get("form", {})):
        f = None  # after an edit, ask only what the change made necessary
    if f is None:
        conv.data.pop("asking", None)
        conv.data.pop("editing", None)
        return await review_prompt(conv, svc), REVIEW
    conv.data["asking"] = f.key
    return await field_prompt(conv, svc), FIELD


def expects_number(conv: Conversation, svc: Services) -> bool:
    """Whether the question being asked takes a number (a year, an ID, a phone) as its answer."""
    if conv.step != FIELD or conv.data.get("proc") not in svc.ctx.catalogue.procedures:
        return False
    key = conv.data.get("asking")
    f = next((f for f in _proc(conv, svc).form if f.key == key), None)
    return f is not None and f.type in ("number", "id_number", "phone", "date", "datetime")


def _asked(conv: Conversation, proc: Procedure) -> FormField:
    key = conv.data.get("asking")
    for f in proc.form:
        if f.key == key:
            return f
    f2 = fields.next_field(proc, conv.data)
    if f2 is None:
        raise ChatError(texts.STALE_BUTTON)
    conv.data["asking"] = f2.key
    return f2


async def field_prompt(conv: Conversation, svc: Services) -> list[Outbound]:
    proc = _proc(conv, svc)
    f = _asked(conv, proc)
    form = conv.data.get("form", {})
    value = form.get(f.key)
    question = f.question or f"{f.label}?"
    buttons = [Button(o[:60], f"ans:{f.key}:{i}") for i, o in enumerate(fields.options(f, form))]
    if value not in (None, "") and f.key in conv.data.get("unsure", []):
        question = texts.CONFIRM_READ.format(label=f.label.lower(), value=fields.shown(f, value))
        buttons.insert(0, Button(texts.YES_RIGHT, f"ans:{f.key}:ok"))
    elif value not in (None, ""):  # editing from the review
        question += f"\n(Hiện tại: {fields.shown(f, value)})"
    if not fields.is_needed(f, form) and value in (None, ""):
        question += "\n" + texts.ASK_OPTIONAL
        buttons.append(Button(texts.SKIP, f"ans:{f.key}:skip"))
    per_row = 2 if all(len(b.label) <= 14 for b in buttons) else 1
    return [text(question, *column(buttons, per_row), nav=True)]


async def field(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    proc = _proc(conv, svc)
    f = _asked(conv, proc)
    form = conv.data.setdefault("form", {})
    parts = button_parts(inbound)
    if inbound.button:
        if parts[0] != "ans" or len(parts) != 3 or parts[1] != f.key:
            raise ChatError(texts.STALE_BUTTON)
        choice = parts[2]
        if choice == "ok" and form.get(f.key) not in (None, ""):
            pass
        elif choice == "skip" and not fields.is_needed(f, form):
            conv.data.setdefault("skipped", []).append(f.key)
            form.pop(f.key, None)
        else:
            opts = fields.options(f, form)
            if not choice.isdigit() or int(choice) >= len(opts):
                raise ChatError(texts.STALE_BUTTON)
            form[f.key] = opts[int(choice)]
    elif photos_and_files(inbound):
        raise ChatError(texts.PHOTO_NOT_EXPECTED)
    else:
        raw = typed(inbound)
        if not raw:
            return await field_prompt(conv, svc), FIELD
        form[f.key] = fields.parse(f, raw, svc.ctx.clock.now().date())
        if f.key in conv.data.get("skipped", []):
            conv.data["skipped"].remove(f.key)
    if f.key in conv.data.get("unsure", []):
        conv.data["unsure"].remove(f.key)
    conv.data.pop("asking", None)
    return await _ask_next(conv, svc)


# -- review and submission ---------------------------------------------------------------------
async def review_prompt(conv: Conversation, svc: Services) -> list[Outbound]:
    proc = _proc(conv, svc)
    form = conv.data.get("form", {})
    lines = [f"• {f.label}: {fields.shown(f, form.get(f.key))}" for f in proc.form
             if form.get(f.key) not in (None, "") or fields.is_needed(f, form)]
    docs = ", ".join(f"{c.name} ({len(conv.data.get('files', {}).get(c.key, []))} ảnh)"
                     for c in proc.components if conv.data.get("files", {}).get(c.key))
    body = texts.REVIEW.format(lines="\n".join(lines)) + "\n" + texts.REVIEW_DOCS.format(docs=docs or "-")
    return [text(body, [Button(texts.SUBMIT_CONFIRM, "sub:confirm"), Button(texts.SUBMIT_EDIT, "sub:edit")],
                 nav=True)]


async def review(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    proc = _proc(conv, svc)
    parts = button_parts(inbound)
    if parts == ["sub", "confirm"]:
        return await _submit(conv, svc, proc)
    if parts == ["sub", "edit"]:
        buttons = [Button(f.label[:60], f"edit:{f.key}") for f in proc.form]
        return [text(texts.PICK_EDIT, *column(buttons, 1), nav=True)], REVIEW
    if parts[0] == "edit" and len(parts) == 2 and any(f.key == parts[1] for f in proc.form):
        conv.data["asking"], conv.data["editing"] = parts[1], True
        return await field_prompt(conv, svc), FIELD
    if inbound.button:
        raise ChatError(texts.STALE_BUTTON)
    return await review_prompt(conv, svc), REVIEW


async def _submit(conv: Conversation, svc: Services, proc: Procedure) -> Result:
    form = {f.key: v for f in proc.form if (v := conv.data.get("form", {}).get(f.key)) not in (None, "")}
    ids = [i for ids in conv.data.get("files", {}).values() for i in ids]
    d = await dossiers.submit(svc.ctx, identity_id=svc.identity_id, procedure_slug=proc.slug,
                              agency_id=int(conv.data.get("agency_id") or 0), form_data=form,
                              attachment_ids=ids, submission_key=svc.event_key or None)
    svc.changed()
    agency = await Agency.get(id=d.agency_id)  # type: ignore[attr-defined]
    conv.data = {}
    from bot.handlers.menu import menu_buttons

    done = text(texts.SUBMITTED.format(procedure=proc.name, code=d.code, agency=agency.name,
                                       time=_time_limit(proc)), *await menu_buttons(svc))
    return [done, Image(qr_png(svc.ctx.lookup_url(d.code)), f"qr-{d.code}.png",
                        caption=texts.QR_CAPTION.format(code=d.code))], "menu"


def qr_png(payload: str) -> bytes:
    """The lookup QR as a PNG (the same payload as on the paper receipt)."""
    import qrcode

    img = qrcode.make(payload, box_size=8, border=2)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue()


STEPS = [
    Step(PICK, pick, pick_prompt),
    Step(AGENCY, agency, agency_prompt),
    Step(DOCS, docs, docs_prompt),
    Step(FIELD, field, field_prompt),
    Step(REVIEW, review, review_prompt),
]


async def restart(conv: Conversation, svc: Services) -> Result:
    """'Làm lại': the same procedure from its first paper."""
    slug = conv.data.get("proc")
    if not slug:
        return await pick_prompt(conv, svc), PICK
    return await start(slug, conv, svc)
