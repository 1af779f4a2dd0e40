"""Reminders before a due date: once per task holder and appointment, only within the window."""

from __future__ import annotations

from datetime import datetime

from backend.db.models import OutboxMessage
from backend.domain.calendar import VN_TZ
from backend.services import dossiers as uc
from backend.services.lookup import remind_due, tasks_for

from .conftest import World


async def test_due_reminder_once_to_the_task_holder(world: World) -> None:
    ctx, clock = world.ctx, world.ctx.clock
    d = await world.submit_birth()
    d = await uc.accept(ctx, world.actor("motcua"), d.id)  # due Mon 23/11 17:00
    clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=VN_TZ))  # 7 office hours ahead
    assert await remind_due(ctx, hours=4) == 0
    clock.set(datetime(2026, 11, 23, 14, 0, tzinfo=VN_TZ))  # 3 hours ahead
    assert await remind_due(ctx, hours=4) == 1
    assert await remind_due(ctx, hours=4) == 0  # not twice
    row = await OutboxMessage.get(kind="due_reminder")
    assert (row.recipient, row.pool_role, row.pool_department_id) == ("pool", "department_head", d.department_id)  # type: ignore[attr-defined]
    (task,) = await tasks_for(ctx, world.actor("truongphong"))
    assert task.due_soon and not task.overdue
    # Assigned: the specialist now holds it and gets a reminder of their own.
    await uc.assign(ctx, world.actor("truongphong"), d.id, world.officers["hoathanh.chuyenvien"].id)
    assert await remind_due(ctx, hours=4) == 1
    rows = await OutboxMessage.filter(kind="due_reminder").order_by("id")
    assert rows[-1].recipient == "officer" and rows[-1].officer_id == world.officers["hoathanh.chuyenvien"].id  # type: ignore[attr-defined]
    clock.set(datetime(2026, 11, 23, 17, 30, tzinfo=VN_TZ))  # past due: no reminder, overdue in the queue
    assert await remind_due(ctx, hours=4) == 0
    (late,) = await tasks_for(ctx, world.actor("chuyenvien"))
    assert late.overdue
