"""Officers in chat: link the chat to an account (/lienket <token>, or Telegram's
/start lk_<token> deep link), confirm it in the console, then act on task messages with their
buttons ``do:<action>:<dossier id>:<version>``; the use case runs as that officer.
A rejection or a supplement request asks for the reason as the next message."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from backend.domain.messages import Button, Conversation, Inbound, Outbound
from backend.domain.workflow import (
    ACTION_NAMES_VI,
    ROLE_NAMES_VI,
    STATUS_NAMES_VI,
    Action,
    Status,
    WorkflowError,
)
from backend.services import dossiers, idempotency, officers
from backend.services.context import Actor
from backend.services.errors import Conflict, Forbidden, NotFound
from backend.services.lookup import specialists_of
from bot import texts
from bot.handlers.base import ChatError, Result, Services, Step, button_parts, column, text, typed

REASON = "officer.reason"

# One-tap actions: (use case, keyword arguments beyond the version).
SIMPLE = {
    "accept": dossiers.accept, "approve": dossiers.approve, "sign": dossiers.sign,
    "forward_result": dossiers.forward_result, "stamp": dossiers.stamp,
    "return_result": dossiers.return_result, "close": dossiers.close,
    "draft_result": dossiers.draft_result,
}
WITH_REASON = {"reject", "request_supplement", "send_back_draft", "send_back_signature"}


LINK_COMMAND = re.compile(r"^/(?:lienket|link)(?:@\w+)?(?:\s+(.*?))?\s*$", re.IGNORECASE | re.DOTALL)
DEEP_LINK = re.compile(r"^/start\s+" + re.escape(officers.LINK_PREFIX) + r"([A-Za-z0-9_-]{1,61})$")


async def link(code: str, inbound: Inbound, svc: Services) -> list[Outbound]:
    linked = await officers.link_chat(svc.ctx, code, svc.channel, svc.user_id,
                                      display_name=inbound.display_name, origin=svc.origin)
    return [text(texts.LINKED.format(name=linked.officer_name, role=ROLE_NAMES_VI[linked.role]))]


async def link_command(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    """``/lienket <token>`` typed, or ``/start lk_<token>`` from a Telegram deep link."""
    raw = typed(inbound)
    m = DEEP_LINK.match(raw) or LINK_COMMAND.match(raw)
    code = (m.group(1) or "") if m else ""
    if not code:
        raise ChatError(texts.NOT_LINKED)
    return await link(code, inbound, svc), conv.step


async def _once(svc: Services, run: Callable[[], Awaitable[Any]]) -> Any:
    """The officer's action once per chat event: a turn run again gets the first result."""
    return await idempotency.once_dossier(svc.event_key, svc.ctx.clock.now(), run)


async def _actor(svc: Services) -> Actor:
    """The officer acting from this chat; refused until the link is confirmed and settled."""
    who = await officers.chat_officer(svc.ctx, svc.channel, svc.user_id)
    if who.state == "pending":
        raise ChatError(texts.LINK_UNCONFIRMED)
    if who.state == "settling":
        raise ChatError(texts.LINK_SETTLING)
    if who.actor is None:
        raise ChatError(texts.NOT_LINKED)
    return who.actor


def _done(action: str, d: Any) -> list[Outbound]:
    return [text(texts.OFFICER_DONE.format(action=ACTION_NAMES_VI[Action(action)], code=d.code,
                                           status=STATUS_NAMES_VI[Status(d.status)]))]


async def do_button(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    """``do:<action>:<id>:<version>[:<specialist id>]`` from a task message."""
    parts = button_parts(inbound)
    if len(parts) not in (4, 5) or not all(p.isdigit() for p in parts[2:]):
        raise ChatError(texts.STALE_BUTTON)
    action, dossier_id, version = parts[1], int(parts[2]), int(parts[3])
    actor = await _actor(svc)
    if action in SIMPLE:
        d = await _once(svc, lambda: SIMPLE[action](svc.ctx, actor, dossier_id, version=version))
        svc.changed()
        return _done(action, d), conv.step
    if action == "assign":
        if len(parts) == 5:
            d = await _once(svc, lambda: dossiers.assign(svc.ctx, actor, dossier_id, int(parts[4]), version=version))
            svc.changed()
            return _done(action, d), conv.step
        return await _pick_specialist(dossier_id, version, actor), conv.step
    if action in WITH_REASON:
        d = await officers.task_dossier(dossier_id)
        if d is None or d.version != version:
            raise ChatError(texts.STALE_BUTTON)
        conv.data = {"pending": {"action": action, "dossier_id": dossier_id, "version": version,
                                 "code": d.code}}
        return await reason_prompt(conv, svc), REASON
    raise ChatError(texts.OFFICER_UNKNOWN_ACTION)


async def _pick_specialist(dossier_id: int, version: int, actor: Actor) -> list[Outbound]:
    d = await officers.task_dossier(dossier_id)
    if d is None:
        raise ChatError(texts.STALE_BUTTON)
    dept = d.department_id or actor.department_id
    people = await specialists_of(dept) if dept else []
    if not people:
        raise ChatError(texts.OFFICER_NO_SPECIALIST)
    buttons = [Button(p.full_name, f"do:assign:{dossier_id}:{version}:{p.id}") for p in people]
    return [text(texts.OFFICER_PICK_SPECIALIST.format(code=d.code), *column(buttons, 1))]


async def reason_prompt(conv: Conversation, svc: Services) -> list[Outbound]:
    p: dict[str, Any] = conv.data.get("pending") or {}
    what = texts.OFFICER_REASON_WHAT.get(p.get("action", ""), "lý do")
    return [text(texts.OFFICER_ASK_REASON.format(code=p.get("code", ""), what=what), nav=True)]


async def reason(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    p = conv.data.get("pending") or {}
    raw = typed(inbound)
    if inbound.button or not raw:
        raise ChatError(texts.OFFICER_NEED_TEXT if not inbound.button else texts.STALE_BUTTON)
    actor = await _actor(svc)
    action, dossier_id, version = p["action"], int(p["dossier_id"]), int(p["version"])
    try:
        if action == "request_supplement":
            items = [line.strip(" -•\t") for line in raw.replace(";", "\n").splitlines()]
            d = await _once(svc, lambda: dossiers.request_supplement(svc.ctx, actor, dossier_id, items,
                                                                     version=version))
        else:
            use_case = {"reject": dossiers.reject, "send_back_draft": dossiers.send_back_draft}.get(
                action, dossiers.send_back_signature)
            d = await _once(svc, lambda: use_case(svc.ctx, actor, dossier_id, raw, version=version))
    except (Conflict, NotFound, Forbidden, WorkflowError) as exc:
        conv.data = {}  # the dossier moved on: the pending action is void, say why and stop
        return [text(str(exc))], "menu"
    svc.changed()
    conv.data = {}
    return _done(action, d), "menu"


STEPS = [Step(REASON, reason, reason_prompt)]
BUTTONS = {"do": do_button}
