"""The morning digest (bản tin đầu ngày): each officer's pending tasks, once a working day.

One outbox row per officer with tasks (kind ``digest``, recipient ``officer``); the
dispatcher sends it to the officer's linked chats. A marker row in ``key_value``, written
in the same transaction, makes the day's digest happen once, whichever process gets there
first; each row's dedupe key (``digest:<officer>:<day>``) holds even if the marker is gone.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.db.models import KeyValue, Officer, OutboxMessage
from backend.domain.workflow import STATUS_NAMES_VI, TASK_HOLDER, Status
from backend.services.context import ServiceContext
from backend.services.lookup import tasks_for
from backend.services.officers import actor_of

DIGEST_AT = time(7, 0)  # Vietnamese time
MAX_CODES = 15  # codes listed in one message; the rest are counted


async def queue_morning_digest(ctx: ServiceContext) -> int:
    """Queue today's digests if it is a working day, past 07:00, and not done yet; how many."""
    now = ctx.clock.now()
    cal = ctx.calendar(None)
    local = now.astimezone(cal.tz)
    if local.time() < DIGEST_AT or not cal.is_working_day(local.date()):
        return 0
    day = local.date().isoformat()
    key = f"digest:{day}"
    if await KeyValue.exists(key=key):
        return 0
    roles = sorted({role.value for role, _ in TASK_HOLDER.values()})
    rows: list[tuple[int, dict[str, Any]]] = []
    for officer in await Officer.filter(active=True, role__in=roles, agency_id__not_isnull=True).order_by("id"):
        tasks = await tasks_for(ctx, actor_of(officer))
        if tasks:
            rows.append((officer.id, _payload(day, tasks)))
    try:
        async with in_transaction() as conn:
            await KeyValue.create(key=key, value={"officers": len(rows), "at": now.isoformat()}, using_db=conn)
            for officer_id, payload in rows:
                await OutboxMessage.create(
                    kind="digest", recipient="officer", officer_id=officer_id, payload=payload,
                    dedupe_key=f"digest:{officer_id}:{day}", using_db=conn,
                )
    except IntegrityError:  # another process queued today's digest first
        return 0
    return len(rows)


def _payload(day: str, tasks: list) -> dict[str, Any]:  # list[lookup.Task]
    by_status: dict[str, int] = {}
    for t in tasks:
        by_status[t.dossier.status] = by_status.get(t.dossier.status, 0) + 1
    return {
        "date": day,
        "total": len(tasks),
        "overdue": sum(t.overdue for t in tasks),
        "due_soon": sum(t.due_soon and not t.overdue for t in tasks),
        "by_status": [{"status": s, "status_vi": STATUS_NAMES_VI[Status(s)], "count": n} for s, n in by_status.items()],
        "codes": [
            {"code": t.dossier.code, "dossier_id": t.dossier.id, "overdue": t.overdue, "due_soon": t.due_soon}
            for t in tasks[:MAX_CODES]
        ],
    }
