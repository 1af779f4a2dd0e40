"""The reports page: counts and on-time rate by agency, procedure and month; late dossiers; CSV."""

from __future__ import annotations

from aiohttp import web

from backend.db.models import Agency
from backend.domain.calendar import VN_TZ
from backend.domain.workflow import Role
from backend.services import reports
from backend.web.app import RUNTIME
from backend.web.console.common import me, page, render
from backend.web.params import as_date, query_id

REPORT_ROLES = (Role.ADMIN, Role.ONE_STOP, Role.DEPARTMENT_HEAD, Role.AGENCY_HEAD)


async def _report(request: web.Request) -> tuple[reports.Report, dict]:
    """The report for the period asked; officers see their own agency, the admin any."""
    ctx = request.app[RUNTIME].ctx
    officer = me(request)
    today = ctx.clock.now().astimezone(VN_TZ).date()
    start = as_date(request.query.get("tu")) or today.replace(day=1)
    end = as_date(request.query.get("den")) or today
    agency_id = officer.agency_id  # type: ignore[attr-defined]
    if officer.role == Role.ADMIN:
        agency_id = query_id(request, "co_quan")
    report = await reports.build(ctx, agency_id=agency_id, start=start, end=end)
    return report, {"start": start, "end": end, "agency_id": agency_id}


@page(REPORT_ROLES)
async def reports_page(request: web.Request) -> web.StreamResponse:
    report, period = await _report(request)
    agencies = await Agency.all().order_by("name") if me(request).role == Role.ADMIN else []
    query = request.query_string
    return render(request, "reports.html", {"r": report, "agencies": agencies, "query": query, **period})


@page(REPORT_ROLES)
async def reports_csv(request: web.Request) -> web.StreamResponse:
    report, period = await _report(request)
    late = request.match_info["kind"] == "tre-han"
    body = reports.late_csv(report) if late else reports.summary_csv(report)
    name = f"{'ho-so-tre-han' if late else 'bao-cao'}-{period['start']:%Y%m%d}-{period['end']:%Y%m%d}.csv"
    return web.Response(
        text=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"},
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/console/reports", reports_page),
        web.get(r"/console/reports/{kind:tong-hop|tre-han}.csv", reports_csv),
    ]
