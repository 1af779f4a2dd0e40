"""Looking a dossier up (tra cứu) by its typed code or a photo of the receipt's QR, and the
citizen's own list. Shows what 002 Điều 23 lists; strangers see masked personal data."""

from __future__ import annotations

from backend.domain.codes import find_code
from backend.domain.messages import Button, Conversation, Image, Inbound, Outbound
from backend.domain.workflow import Role, Status
from backend.services import citizens, ratelimits
from backend.services.context import Actor
from backend.services.lookup import DossierView
from backend.services.lookup import lookup as lookup_view
from bot import texts
from bot.handlers import photos
from bot.handlers.base import ChatError, Result, Services, Step, column, photos_and_files, text, typed

ASK = "lookup.ask"


async def ask_prompt(conv: Conversation, svc: Services) -> list[Outbound]:
    return [text(texts.ASK_CODE, nav=True)]


async def ask(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    if inbound.button:
        raise ChatError(texts.STALE_BUTTON)
    if photos_and_files(inbound):
        return await by_photo(inbound, conv, svc)
    raw = typed(inbound)
    if not raw:
        return await ask_prompt(conv, svc), ASK
    if not find_code(raw):
        raise ChatError(texts.NOT_A_CODE)
    return await show(raw, svc), "menu"


async def by_photo(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    """A photo of a receipt: read its QR (the lookup URL carries the code)."""
    photo = await photos.receive(photos_and_files(inbound)[0], svc)
    payload = await photos.decode_qr(photo, svc)
    if payload is None:
        raise ChatError(texts.QR_NONE)
    if not find_code(payload):
        raise ChatError(texts.QR_NOT_OURS)
    return await show(payload, svc), "menu"


async def show(raw: str, svc: Services) -> list[Outbound]:
    """The lookup answer; ``NotFound`` (a reply) for an unknown code. Under the same shared
    limit as the public page: per chat, and per client address where the channel knows it."""
    subjects = [f"chat:{svc.channel}:{svc.user_id}", f"ip:{svc.origin}" if svc.origin else ""]
    if wait := await ratelimits.take_all(ratelimits.LOOKUP, subjects):
        raise ChatError(texts.LOOKUP_LIMITED.format(seconds=int(wait) + 1))
    viewer = Actor(Role.CITIZEN, citizen_id=svc.citizen_id)
    view = await lookup_view(svc.ctx, raw, viewer=viewer)
    from bot.handlers.submit import qr_png

    return [_view_text(view), Image(qr_png(view.lookup_url), f"qr-{view.code}.png",
                                    caption=texts.QR_CAPTION.format(code=view.code))]


def _view_text(v: DossierView) -> Outbound:
    from backend.notify.texts import when

    values = {
        "code": v.code, "procedure": v.procedure, "agency": v.agency, "department": v.department,
        "organisation": v.organisation, "submitter": v.submitter,
        "received_at": when(v.received_at.isoformat()) if v.received_at else "",
        "appointment_at": when(v.appointment_at.isoformat()) if v.appointment_at else "",
        "status_vi": v.status_vi, "progress": v.progress,
    }
    lines = [f"{label}: {values[key]}" for label, key in texts.VIEW_LINES if values.get(key)]
    rows: list[tuple[Button, ...]] = []
    if v.supplement_items:
        items = "\n".join(f"{i}. {x}" for i, x in enumerate(v.supplement_items, 1))
        lines.append(texts.VIEW_SUPPLEMENT.format(items=items) if v.is_owner else
                     texts.VIEW_SUPPLEMENT.format(items=items).split("\n")[0] + "\n" + items)
        if v.is_owner:
            rows.append((Button(texts.MENU_SUPPLEMENT, "menu:supplement"),))
    if v.rejection_reason:
        lines.append(texts.VIEW_REJECTED.format(reason=v.rejection_reason))
    if v.is_owner and v.status in (Status.RETURNED, Status.CLOSED):
        if v.rating:
            lines.append(texts.VIEW_RATED.format(stars="★" * v.rating))
        else:
            lines.append(texts.VIEW_RATE)
            rows += column([Button("★" * n, f"rate:{v.code}:{n}") for n in (5, 4, 3, 2, 1)], 1)
    return text("\n".join(lines), *rows)


async def mine(svc: Services) -> list[Outbound]:
    """The citizen's own dossiers, newest first, each a button to see it."""
    from backend.domain.workflow import STATUS_NAMES_VI

    rows = await citizens.dossiers_of(svc.citizen_id, limit=10)
    if not rows:
        return [text(texts.NO_DOSSIERS)]
    lines = []
    for d in rows:
        name = svc.ctx.catalogue.procedures.get(d.procedure_slug)
        lines.append(f"• {d.code} — {name.name if name else d.procedure_slug}: "
                     f"{STATUS_NAMES_VI[Status(d.status)]}")
    buttons = [Button(d.code, f"look:{d.code}") for d in rows]
    return [text(texts.MY_DOSSIERS.format(lines="\n".join(lines)), *column(buttons, 1))]


async def look_button(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    code = (inbound.button or "").split(":", 1)[1] if ":" in (inbound.button or "") else ""
    if not find_code(code):
        raise ChatError(texts.STALE_BUTTON)
    return await show(code, svc), conv.step


STEPS = [Step(ASK, ask, ask_prompt)]
BUTTONS = {"look": look_button}
