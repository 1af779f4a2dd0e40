"""The data-exchange feed (002 Phụ lục): GET /api/exchange?since=ISO[&agency=CODE].

Behind a bearer token (Settings.exchange_token), compared in constant time. No token
configured means the feed is closed: every request is refused, never let through.
"""

from __future__ import annotations

import functools
import hmac
import json
from datetime import datetime

from aiohttp import web

from backend.db.models import Agency
from backend.domain.calendar import VN_TZ
from backend.services import exchange
from backend.web.app import RUNTIME, SETTINGS
from backend.web.params import query_text


def _refuse(status: int, message: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="motcua-exchange"'} if status == 401 else {}
    return web.json_response({"error": message}, status=status, headers=headers)


def authorised(request: web.Request) -> web.Response | None:
    """None when the bearer token matches; else the refusal to send."""
    expected = request.app[SETTINGS].exchange_token
    if not expected:
        return _refuse(403, "Chưa cấu hình khóa trao đổi dữ liệu: API đóng.")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return _refuse(401, "Thiếu khóa truy cập (Authorization: Bearer …).")
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        return _refuse(403, "Khóa truy cập không đúng.")
    return None


def parse_since(raw: str) -> datetime | None:
    """ISO 8601; a time without an offset is taken as Vietnamese time."""
    raw = raw.strip()
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:  # an unencoded '+' of the offset arrives as a space
        head, sep, offset = raw.rpartition(" ")
        if not sep:
            raise
        moment = datetime.fromisoformat(f"{head}+{offset}")
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)


async def exchange_feed(request: web.Request) -> web.Response:
    refusal = authorised(request)
    if refusal is not None:
        return refusal
    since = None
    if raw := request.query.get("since", ""):
        try:
            since = parse_since(raw)
        except ValueError:
            return _refuse(400, "Tham số since phải là thời điểm ISO 8601, ví dụ 2026-11-23T00:00:00+07:00.")
    agency_id = None
    if code := query_text(request, "agency", limit=16):
        agency = await Agency.get_or_none(code=code)
        if agency is None:
            return _refuse(404, "Không có cơ quan với mã này.")
        agency_id = agency.id
    records = await exchange.export(request.app[RUNTIME].ctx, since=since, agency_id=agency_id)
    return web.json_response(
        {"since": since.isoformat() if since else None, "count": len(records), "records": records},
        dumps=functools.partial(json.dumps, ensure_ascii=False),
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/api/exchange", exchange_feed)
