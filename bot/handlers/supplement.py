"""Answering a supplement request (bổ sung hồ sơ): send the missing photos, then «Gửi bổ sung»;
the dossier returns to the officer who asked."""

from __future__ import annotations

from backend.db.models import Dossier
from backend.domain.messages import Button, Conversation, Inbound, Outbound
from backend.domain.workflow import Role, Status
from backend.services import citizens, dossiers, idempotency
from backend.services.context import Actor
from bot import texts
from bot.handlers import photos
from bot.handlers.base import ChatError, Result, Services, Step, button_parts, column, photos_and_files, text

PICK, COLLECT = "supplement.pick", "supplement.collect"
WAITING = (Status.AWAITING_SUPPLEMENT.value, Status.APPRAISAL_SUPPLEMENT.value)


async def pending(svc: Services) -> list[Dossier]:
    """The citizen's dossiers waiting for a supplement."""
    return await Dossier.filter(citizen_id=svc.citizen_id, status__in=WAITING).order_by("id")


async def start(conv: Conversation, svc: Services, inbound: Inbound | None) -> Result:
    """Begin a supplement; a photo that came with the start is taken at once."""
    waiting = await pending(svc)
    if not waiting:
        from bot.handlers.menu import menu_buttons

        conv.data = {}
        return [text(texts.NO_SUPPLEMENT, *await menu_buttons(svc))], "menu"
    if len(waiting) > 1:
        conv.data = {}
        return await pick_prompt(conv, svc), PICK
    conv.data = {"dossier_id": waiting[0].id, "code": waiting[0].code, "files": []}
    if inbound is not None and photos_and_files(inbound):
        return await collect(inbound, conv, svc)
    return await collect_prompt(conv, svc), COLLECT


async def pick_prompt(conv: Conversation, svc: Services) -> list[Outbound]:
    buttons = [Button(d.code, f"sup:pick:{d.id}") for d in await pending(svc)]
    return [text(texts.PICK_SUPPLEMENT, *column(buttons, 1), nav=True)]


async def pick(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    parts = button_parts(inbound)
    chosen = next((d for d in await pending(svc)
                   if parts[:2] == ["sup", "pick"] and parts[2:] == [str(d.id)]), None)
    if chosen is None:
        if inbound.button:
            raise ChatError(texts.STALE_BUTTON)
        return await pick_prompt(conv, svc), PICK
    conv.data = {"dossier_id": chosen.id, "code": chosen.code, "files": []}
    return await collect_prompt(conv, svc), COLLECT


async def collect_prompt(conv: Conversation, svc: Services) -> list[Outbound]:
    d = await Dossier.get_or_none(id=conv.data.get("dossier_id"))
    if d is None:
        raise ChatError(texts.NO_SUPPLEMENT)
    items = "\n".join(f"{i}. {x}" for i, x in enumerate(d.supplement_items or [], 1))
    body = texts.SUPPLEMENT_PROMPT.format(code=d.code, items=items)
    row = [Button(texts.SUPPLEMENT_SEND, "sup:send")] if conv.data.get("files") else []
    return [text(body, row, nav=True)]


async def collect(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    if button_parts(inbound) == ["sup", "send"]:
        return await _send(conv, svc)
    if inbound.button:
        raise ChatError(texts.STALE_BUTTON)
    files = photos_and_files(inbound)
    if not files:
        return await collect_prompt(conv, svc), COLLECT
    for att in files:
        photo = await photos.receive(att, svc)
        stored = await citizens.store_attachment(
            svc.ctx, citizen_id=svc.citizen_id, data=photo.data, mime_type=photo.mime_type,
            filename=photo.filename, component="supplement")
        conv.data.setdefault("files", []).append(stored.id)
    body = texts.SUPPLEMENT_GOT.format(count=len(conv.data["files"]), code=conv.data.get("code", ""))
    return [text(body, [Button(texts.SUPPLEMENT_SEND, "sup:send")], nav=True)], COLLECT


async def _send(conv: Conversation, svc: Services) -> Result:
    if not conv.data.get("files"):
        raise ChatError(texts.SUPPLEMENT_NEED_PHOTO)
    actor = Actor(Role.CITIZEN, citizen_id=svc.citizen_id)
    d = await idempotency.once_dossier(svc.event_key, svc.ctx.clock.now(), lambda: dossiers.add_supplement(
        svc.ctx, actor, int(conv.data["dossier_id"]), conv.data["files"]))
    svc.changed()
    from bot.handlers.menu import menu_buttons

    conv.data = {}
    return [text(texts.SUPPLEMENT_DONE.format(code=d.code), *await menu_buttons(svc))], "menu"


STEPS = [Step(PICK, pick, pick_prompt), Step(COLLECT, collect, collect_prompt)]
