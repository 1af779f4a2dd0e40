"""The officer's own account page: password link, chat accounts, their link tokens and links."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

from aiohttp import web

from backend.forms.qr import qr_png
from backend.services import officers
from backend.services.errors import NotFound
from backend.web.app import RUNTIME
from backend.web.console.common import error_page, me, page, render, see_other
from backend.web.params import as_id


async def _page(request: web.Request, token: str = "") -> web.StreamResponse:
    context: dict[str, object] = {"link_token": token, "deep_link": "", "link_qr": "",
                                  "links": await officers.chat_links(me(request).id)}
    if token:
        username = request.app[RUNTIME].extras.get("telegram_username") or ""
        if username:
            context["deep_link"] = f"https://t.me/{username}?start={officers.deep_link_payload(token)}"
        # The QR opens the bot with the token when the bot is known, else it carries the command.
        png = qr_png(str(context["deep_link"]) or f"/lienket {token}")
        context["link_qr"] = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return render(request, "account.html", context)


@page()
async def account(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@page()
async def link_code(request: web.Request) -> web.StreamResponse:
    """A one-time token to send to the bot, linking the officer's chat account (15 minutes)."""
    return await _page(request, await officers.new_link_code(request.app[RUNTIME].ctx, me(request).id))


async def _on_link(request: web.Request, change: Callable[[int], Awaitable[None]]) -> web.StreamResponse:
    """Apply ``change`` to one of the officer's own chat links; another's (or none) is a 404."""
    link_id = as_id(request.match_info["link_id"])
    try:
        if link_id is None:
            raise NotFound("Không tìm thấy liên kết này.")
        await change(link_id)
    except NotFound as exc:
        return error_page(request, 404, str(exc))
    return see_other("/console/account")


@page()
async def confirm_link(request: web.Request) -> web.StreamResponse:
    """The officer confirms a chat link of their own: tasks flow to it from now on."""
    ctx, officer_id = request.app[RUNTIME].ctx, me(request).id
    return await _on_link(request, lambda link_id: officers.confirm_link(ctx, officer_id, link_id))


@page()
async def unlink(request: web.Request) -> web.StreamResponse:
    officer_id = me(request).id
    return await _on_link(request, lambda link_id: officers.unlink(officer_id, link_id))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/console/account", account),
        web.post("/console/account/link-code", link_code),
        web.post(r"/console/account/links/{link_id:\d+}/confirm", confirm_link),
        web.post(r"/console/account/links/{link_id:\d+}/unlink", unlink),
    ]
