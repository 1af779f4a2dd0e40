"""Security headers on every response and the last-resort error page, for the whole app."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


def install(app: web.Application, *, https: bool) -> None:
    """Register the header hook and the error middleware on ``app`` (create_app calls this)."""

    async def headers(request: web.Request, response: web.StreamResponse) -> None:
        h = response.headers
        h["X-Content-Type-Options"] = "nosniff"
        if https:
            h["Strict-Transport-Security"] = HSTS
        if response.content_type == "text/html":
            h["Content-Security-Policy"] = CSP
            h["X-Frame-Options"] = "DENY"
            h.setdefault("Referrer-Policy", "no-referrer")  # ids and codes are in our URLs

    app.on_response_prepare.append(headers)
    app.middlewares.append(errors)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An unexpected exception becomes a plain 500 page: logged here, no traceback shown."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return web.Response(status=500, text=ERROR_PAGE, content_type="text/html", charset="utf-8")


ERROR_PAGE = (
    '<!doctype html><html lang="vi"><meta charset="utf-8"><title>Lỗi hệ thống</title>'
    "<p>Đã có lỗi xảy ra phía máy chủ. Vui lòng thử lại sau ít phút.</p></html>"
)
