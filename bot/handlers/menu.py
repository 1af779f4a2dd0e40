"""The menu (trang đầu): submit, look up, my dossiers, help — and free text that is a code."""

from __future__ import annotations

from backend.domain.codes import find_code
from backend.domain.messages import Button, Conversation, Inbound, Outbound
from bot import texts
from bot.handlers import lookup, submit, supplement
from bot.handlers.base import ChatError, Result, Services, Step, button_parts, column, photos_and_files, text, typed

MENU = "menu"


async def menu_buttons(svc: Services) -> list[tuple[Button, ...]]:
    buttons = [Button(texts.MENU_SUBMIT, "menu:submit"), Button(texts.MENU_LOOKUP, "menu:lookup"),
               Button(texts.MENU_MINE, "menu:mine"), Button(texts.MENU_HELP, "menu:help")]
    if await supplement.pending(svc):
        buttons.insert(0, Button(texts.MENU_SUPPLEMENT, "menu:supplement"))
    return column(buttons, 2)


async def prompt(conv: Conversation, svc: Services) -> list[Outbound]:
    return [text(texts.MENU, *await menu_buttons(svc))]


async def handle(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    """Free input at the menu: a code is looked up, a photo is a supplement or a QR."""
    if inbound.button:
        raise ChatError(texts.STALE_BUTTON)
    if photos_and_files(inbound):
        if await supplement.pending(svc):
            return await supplement.start(conv, svc, inbound)
        return await lookup.by_photo(inbound, conv, svc)
    raw = typed(inbound)
    if find_code(raw):
        return await lookup.show(raw, svc), MENU
    slug = submit._match_procedure(raw, svc) if len(raw) >= 6 else None
    if slug:
        return await submit.start(slug, conv, svc)
    return [text(texts.NOT_UNDERSTOOD, *await menu_buttons(svc))], MENU


async def menu_button(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    """The menu's buttons work from any step (an explicit choice leaves what was being done)."""
    choice = button_parts(inbound)[1:2]
    if choice == ["submit"]:
        conv.data = {}
        return await submit.pick_prompt(conv, svc), submit.PICK
    if choice == ["lookup"]:
        conv.data = {}
        return await lookup.ask_prompt(conv, svc), lookup.ASK
    if choice == ["mine"]:
        return await lookup.mine(svc), conv.step
    if choice == ["help"]:
        return [text(texts.HELP, *await menu_buttons(svc))], conv.step
    if choice == ["supplement"]:
        conv.data = {}
        return await supplement.start(conv, svc, None)
    raise ChatError(texts.STALE_BUTTON)


STEPS = [Step(MENU, handle, prompt)]
BUTTONS = {"menu": menu_button}
