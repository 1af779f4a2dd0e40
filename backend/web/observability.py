"""Operations endpoints: request ids on every request, ``/metrics`` and ``/readyz``."""

from __future__ import annotations

import asyncio
import logging
import os
import pkgutil
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from tortoise import Tortoise
from tortoise.functions import Count

from backend.db.models import InboundUpdate, KeyValue, OutboxMessage
from backend.notify.dispatcher import HEARTBEAT_KEY
from backend.services import logctx

log = logging.getLogger(__name__)

HEARTBEAT_MAX_AGE = 60.0  # seconds: a dispatcher silent this long is not dispatching
DB_TIMEOUT = 2.0  # seconds for the readiness queries
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # a proxy's id is kept only if it is this sane


def setup(app: web.Application, now: Callable[[], datetime]) -> None:
    """Install the request-id middleware (outermost) and the ``/metrics`` and ``/readyz`` routes."""
    app.middlewares.insert(0, request_id)

    async def metrics_view(request: web.Request) -> web.Response:
        body = generate_latest(_process_registry())
        try:
            figures = await asyncio.wait_for(database_figures(now()), DB_TIMEOUT)
            body += generate_latest(_Families(figures))
        except Exception as exc:  # the process's own figures are still worth serving
            log.warning("metrics: database figures unavailable: %s", type(exc).__name__)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})

    async def readyz(request: web.Request) -> web.Response:
        checks = await readiness(now())
        ok = all(c["ok"] for c in checks.values())
        return web.json_response({"ok": ok, "checks": checks}, status=200 if ok else 503,
                                 headers={"Cache-Control": "no-store"})

    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/readyz", readyz)


@web.middleware
async def request_id(request: web.Request, handler: Callable) -> web.StreamResponse:
    """One id per request (a sane incoming X-Request-Id is kept), bound for logs and returned."""
    rid = request.headers.get("X-Request-Id", "")
    if not _REQUEST_ID.match(rid):
        rid = uuid.uuid4().hex
    with logctx.bind(request=rid):
        try:
            resp = await handler(request)
        except web.HTTPException as exc:
            exc.headers["X-Request-Id"] = rid
            raise
    resp.headers["X-Request-Id"] = rid
    return resp


# -- readiness -------------------------------------------------------------------------------
async def readiness(now: datetime) -> dict[str, dict]:
    """database answers, migrations current, dispatcher heartbeat recent: each with ok and why."""
    checks: dict[str, dict] = {}
    try:
        conn = Tortoise.get_connection("default")
        await asyncio.wait_for(conn.execute_query("SELECT 1"), DB_TIMEOUT)
        checks["database"] = {"ok": True}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": type(exc).__name__}
        checks["migrations"] = {"ok": False, "error": "database unreachable"}
        checks["dispatcher"] = {"ok": False, "error": "database unreachable"}
        return checks
    try:
        _, rows = await asyncio.wait_for(
            conn.execute_query("SELECT name FROM tortoise_migrations WHERE app = 'models'"), DB_TIMEOUT)
        missing = sorted(set(migration_files()) - {r["name"] for r in rows})
        checks["migrations"] = {"ok": not missing, **({"missing": missing} if missing else {})}
    except Exception as exc:
        checks["migrations"] = {"ok": False, "error": type(exc).__name__}
    try:
        row = await asyncio.wait_for(KeyValue.get_or_none(key=HEARTBEAT_KEY), DB_TIMEOUT)
        if row is None:
            checks["dispatcher"] = {"ok": False, "error": "no heartbeat yet"}
        else:
            age = (now - datetime.fromisoformat(row.value["at"])).total_seconds()
            checks["dispatcher"] = {"ok": age < HEARTBEAT_MAX_AGE, "heartbeat_age_seconds": round(age, 1)}
    except Exception as exc:
        checks["dispatcher"] = {"ok": False, "error": type(exc).__name__}
    return checks


@cache
def migration_files() -> tuple[str, ...]:
    """The migrations shipped with this code (backend/db/migrations/NNNN_*.py)."""
    from backend.db import migrations

    return tuple(m.name for m in pkgutil.iter_modules(migrations.__path__) if m.name[:4].isdigit())


# -- metrics ---------------------------------------------------------------------------------
def _process_registry() -> CollectorRegistry:
    """This process's metrics, or every worker's in prometheus_client's multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


async def database_figures(now: datetime) -> list[GaugeMetricFamily]:
    """Outbox depth and age, held notices, inbox queue: global figures, the same from any worker."""
    pending = GaugeMetricFamily("motcua_outbox_pending", "Notices and replies waiting to be sent",
                                labels=["recipient"])
    oldest = GaugeMetricFamily("motcua_outbox_oldest_pending_seconds", "Age of the oldest waiting outbox row",
                               labels=["recipient"])
    held = GaugeMetricFamily("motcua_outbox_held", "Notices held until the recipient writes again",
                             labels=["recipient"])
    failed = GaugeMetricFamily("motcua_outbox_failed", "Notices given up after every retry", labels=["recipient"])
    inbox = GaugeMetricFamily("motcua_inbox_pending", "Inbound updates stored but not yet handled",
                              labels=["channel"])
    inbox_oldest = GaugeMetricFamily("motcua_inbox_oldest_pending_seconds",
                                     "Age of the oldest unhandled inbound update", labels=["channel"])
    rows = await (OutboxMessage.filter(status__in=["pending", "held", "failed"])
                  .annotate(n=Count("id")).group_by("status", "recipient").values("status", "recipient", "n"))
    family = {"pending": pending, "held": held, "failed": failed}
    for r in rows:
        family[r["status"]].add_metric([r["recipient"]], r["n"])
    for r in rows:
        if r["status"] == "pending":
            first = await (OutboxMessage.filter(status="pending", recipient=r["recipient"])
                           .order_by("created_at").first().values_list("created_at", flat=True))
            oldest.add_metric([r["recipient"]], _age(now, first))
    waiting = await (InboundUpdate.filter(handled_at__isnull=True)
                     .annotate(n=Count("id")).group_by("channel").values("channel", "n"))
    for r in waiting:
        inbox.add_metric([r["channel"]], r["n"])
        first = await (InboundUpdate.filter(handled_at__isnull=True, channel=r["channel"])
                       .order_by("received_at").first().values_list("received_at", flat=True))
        inbox_oldest.add_metric([r["channel"]], _age(now, first))
    return [pending, oldest, held, failed, inbox, inbox_oldest]


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then else 0.0


class _Families:
    """A collector of families computed beforehand (scrape collectors cannot await)."""

    def __init__(self, families: Iterable[GaugeMetricFamily]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return self.families
