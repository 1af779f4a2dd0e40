"""The officer's own account page: password link, chat accounts and their link tokens."""

from __future__ import annotations

from aiohttp import web

from backend.services.officers import new_link_code
from backend.web.app import RUNTIME
from backend.web.console.common import me, page, render


@page()
async def account(request: web.Request) -> web.StreamResponse:
    return render(request, "account.html", {"link_code": ""})


@page()
async def link_code(request: web.Request) -> web.StreamResponse:
    """A one-time code to send to the bot, linking the officer's chat account (15 minutes)."""
    code = await new_link_code(request.app[RUNTIME].ctx, me(request).id)
    return render(request, "account.html", {"link_code": code})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/console/account", account),
        web.post("/console/account/link-code", link_code),
    ]
