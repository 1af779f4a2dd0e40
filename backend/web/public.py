"""The public status lookup (tra cứu hồ sơ, 002 Điều 23): GET /tra-cuu?ma=CODE.

The receipt's QR code points here. Anyone holding the code sees what the paper receipt
shows and no more: the submitter's name masked, no ID number, address or phone. Lookups are
rate-limited per client address, in buckets shared with the chats' lookups and with every
worker (``backend.services.ratelimits``), so codes cannot be enumerated.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from aiohttp import web

from backend.services import lookup, ratelimits
from backend.services.errors import NotFound
from backend.web.app import RUNTIME, SETTINGS
from backend.web.console.common import render, setup_templates
from backend.web.netaddr import client_address


async def lookup_page(request: web.Request) -> web.StreamResponse:
    raw = request.query.get("ma", "").strip()[:80]
    ctx: dict[str, Any] = {"code": raw, "view": None, "error": "", "qr": "", "me": None, "csrf": ""}
    if not raw:
        return _page(request, ctx)
    source = client_address(request, request.app[SETTINGS].trusted_proxies)
    wait = await ratelimits.take(ratelimits.LOOKUP, "ip:" + source)
    if wait:
        ctx["error"] = f"Anh/chị tra cứu quá nhiều lần trong thời gian ngắn. Vui lòng thử lại sau {int(wait) + 1} giây."
        resp = _page(request, ctx, status=429)
        resp.headers["Retry-After"] = str(int(wait) + 1)
        return resp
    try:
        # A stranger holding only the code: masked, whoever asks (officers use the console).
        view = await lookup.lookup(request.app[RUNTIME].ctx, raw, viewer=None)
    except NotFound as exc:
        ctx["error"] = str(exc)
        return _page(request, ctx, status=404)
    from backend.forms.qr import qr_png  # the PDF layer's QR; imported late

    png = await asyncio.to_thread(qr_png, view.lookup_url)
    ctx |= {"view": view, "code": view.code, "qr": "data:image/png;base64," + base64.b64encode(png).decode()}
    return _page(request, ctx)


def _page(request: web.Request, ctx: dict, *, status: int = 200) -> web.Response:
    resp = render(request, "lookup.html", ctx, status=status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def setup(app: web.Application) -> None:
    setup_templates(app)
    app.router.add_get("/tra-cuu", lookup_page)
