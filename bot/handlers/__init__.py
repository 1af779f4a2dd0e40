"""The conversation's steps and buttons, registered in one place, and the router.

Routing order: the navigation words and buttons (menu, back, cancel, start over, help),
then buttons that work from anywhere (menu, rating, officer tasks, a dossier in a list),
then the current step. "Quay lại" restores a snapshot the router keeps before each change.
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from typing import Any

from backend.domain.messages import Conversation, Inbound, Text
from bot import texts
from bot.handlers import lookup, menu, officer, rating, submit, supplement
from bot.handlers.base import Handler, Result, Services, Step, button_parts, text, typed, unsupported_reply
from bot.handlers.fields import fold

STEPS: dict[str, Step] = {s.name: s for m in (menu, submit, lookup, supplement, officer) for s in m.STEPS}
BUTTONS: dict[str, Handler] = {**menu.BUTTONS, **lookup.BUTTONS, **rating.BUTTONS, **officer.BUTTONS}

HISTORY_DEPTH = 20  # snapshots kept for "quay lại"
_HIST = "_hist"
_CHOICES = "_choices"  # the data of the buttons last offered, for typed numbers

NAV_WORDS = {
    "menu": "menu", "/menu": "menu", "trang chu": "menu",
    "/start": "start", "bat dau": "start", "xin chao": "start", "chao": "start", "hi": "start",
    "huy": "cancel", "/huy": "cancel", "/cancel": "cancel", "thoat": "cancel",
    "quay lai": "back", "/quaylai": "back", "/back": "back", "tro lai": "back",
    "lam lai": "restart", "/lamlai": "restart", "bat dau lai": "restart",
    "tro giup": "help", "/trogiup": "help", "/help": "help", "huong dan": "help", "giup": "help",
    "help": "help",
}


def _nav(inbound: Inbound) -> str | None:
    parts = button_parts(inbound)
    if parts[0] == "nav" and len(parts) == 2:
        return parts[1]
    if inbound.button or inbound.attachments:
        return None
    return NAV_WORDS.get(fold(typed(inbound)))


async def route(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    """Run the turn; the engine saves ``conv`` and sends the replies afterwards."""
    inbound = _numbered_choice(inbound, conv, svc)
    replies, next_step = await _route(inbound, conv, svc)
    offered = [b.data for m in replies if isinstance(m, Text) for row in m.buttons for b in row if not b.url]
    if offered:
        conv.data[_CHOICES] = offered
    else:
        conv.data.pop(_CHOICES, None)
    return replies, next_step


def _numbered_choice(inbound: Inbound, conv: Conversation, svc: Services) -> Inbound:
    """A typed "2" is the second button of the last message, for channels (or people) that
    show buttons as a numbered list; not where a number is the answer itself."""
    raw = typed(inbound)
    choices = conv.data.get(_CHOICES) or []
    if inbound.button or inbound.attachments or not re.fullmatch(r"\d{1,2}", raw):
        return inbound
    if not 1 <= int(raw) <= len(choices) or submit.expects_number(conv, svc):
        return inbound
    return replace(inbound, text=None, button=choices[int(raw) - 1])


async def _route(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    if not inbound.button and officer.DEEP_LINK.match(typed(inbound)):  # before /start is a nav word
        return await officer.link_command(inbound, conv, svc)
    nav = _nav(inbound)
    if nav is not None:
        return await _navigate(nav, conv, svc)
    odd = unsupported_reply(inbound)
    if odd is not None:
        return [text(odd)], conv.step
    before = (conv.step, copy.deepcopy(_own(conv.data)))
    history = list(conv.data.get(_HIST, []))
    replies, next_step = await _dispatch(inbound, conv, svc)
    if next_step == menu.MENU:
        conv.data = {}  # a finished or abandoned flow leaves nothing to go back into
    elif (next_step, _own(conv.data)) != before:
        if before[0] != menu.MENU:
            history.append({"step": before[0], "data": before[1]})
        conv.data[_HIST] = history[-HISTORY_DEPTH:]
    return replies, next_step


async def _dispatch(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    prefix = button_parts(inbound)[0]
    if inbound.button and prefix in BUTTONS:
        return await BUTTONS[prefix](inbound, conv, svc)
    raw = typed(inbound)
    if officer.LINK_COMMAND.match(raw):
        return await officer.link_command(inbound, conv, svc)
    step = STEPS.get(conv.step) or STEPS[menu.MENU]
    return await step.handle(inbound, conv, svc)


def _own(data: dict[str, Any]) -> dict[str, Any]:
    """The step's own data, without what the router keeps beside it."""
    return {k: v for k, v in data.items() if k not in (_HIST, _CHOICES)}


async def prompt_of(step: str, conv: Conversation, svc: Services) -> list:
    return await (STEPS.get(step) or STEPS[menu.MENU]).prompt(conv, svc)


async def _navigate(nav: str, conv: Conversation, svc: Services) -> Result:
    if nav == "back":
        history = conv.data.get(_HIST) or []
        if not history:
            if conv.step == menu.MENU:
                return [text(texts.CANNOT_GO_BACK), *await menu.prompt(conv, svc)], menu.MENU
            conv.data = {}
            return await menu.prompt(conv, svc), menu.MENU
        last = history.pop()
        conv.data = {**last["data"], _HIST: history}
        return [text(texts.WENT_BACK), *await prompt_of(last["step"], conv, svc)], last["step"]
    if nav == "cancel" or nav == "menu":
        busy = conv.step != menu.MENU
        conv.data = {}
        head = [text(texts.CANCELLED)] if busy and nav == "cancel" else []
        if nav == "cancel" and not busy:
            head = [text(texts.NOTHING_TO_CANCEL)]
        return [*head, *await menu.prompt(conv, svc)], menu.MENU
    if nav == "restart":
        if conv.data.get("proc"):
            replies, step = await submit.restart(conv, svc)
            return [text(texts.RESTARTED), *replies], step
        conv.data = {}
        return [text(texts.RESTARTED), *await menu.prompt(conv, svc)], menu.MENU
    if nav == "help":
        return [text(texts.HELP), *await prompt_of(conv.step, conv, svc)], conv.step
    if nav == "start":  # /start, or a greeting: carry on where the citizen stopped
        if conv.step == menu.MENU:
            return await menu.prompt(conv, svc), menu.MENU
        return [text(texts.WELCOME_BACK), *await prompt_of(conv.step, conv, svc)], conv.step
    return [text(texts.STALE_BUTTON)], conv.step
