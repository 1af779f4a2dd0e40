"""The public status lookup (tra cứu hồ sơ, 002 Điều 23): GET /tra-cuu?ma=CODE.

The receipt's QR code points here. Anyone holding the code sees what the paper receipt
shows and no more: the submitter's name masked, no ID number, address or phone. Lookups are
rate-limited per client address (token bucket) so codes cannot be enumerated.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from backend.services import lookup
from backend.services.errors import NotFound
from backend.web.app import RUNTIME
from backend.web.console.common import render, setup_templates

LOOKUPS_PER_MINUTE = 20
MAX_TRACKED = 50_000  # client addresses remembered; the idlest are forgotten first


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """A token bucket per client address: ``rate`` per minute, bursts up to ``rate``."""

    def __init__(self, per_minute: int = LOOKUPS_PER_MINUTE, clock=time.monotonic) -> None:  # noqa: ANN001
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0
        self.clock = clock
        self.buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """Take one token: 0 when allowed, else the seconds until one is available."""
        now = self.clock()
        b = self.buckets.get(key)
        if b is None:
            if len(self.buckets) >= MAX_TRACKED:
                for k, _ in sorted(self.buckets.items(), key=lambda kv: kv[1].at)[: MAX_TRACKED // 10]:
                    del self.buckets[k]
            b = self.buckets[key] = _Bucket(self.capacity, now)
        b.tokens = min(self.capacity, b.tokens + (now - b.at) * self.refill)
        b.at = now
        if b.tokens >= 1:
            b.tokens -= 1
            return 0.0
        return (1 - b.tokens) / self.refill


LIMITER = web.AppKey("lookup_rate_limiter", RateLimiter)


def client_address(request: web.Request) -> str:
    """The client's address; X-Forwarded-For is believed only from a proxy on this host
    (deploy/nginx.conf sets it to the real peer)."""
    peer = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    try:
        local = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        local = False
    if local and forwarded:
        return forwarded.split(",")[-1].strip()[:64]
    return peer


async def lookup_page(request: web.Request) -> web.StreamResponse:
    raw = request.query.get("ma", "").strip()[:80]
    ctx: dict[str, Any] = {"code": raw, "view": None, "error": "", "qr": "", "me": None, "csrf": ""}
    if not raw:
        return _page(request, ctx)
    wait = request.app[LIMITER].take(client_address(request))
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
    resp.headers["Referrer-Policy"] = "no-referrer"  # the code is in the URL
    return resp


def setup(app: web.Application) -> None:
    setup_templates(app)
    app[LIMITER] = RateLimiter()
    app.router.add_get("/tra-cuu", lookup_page)
