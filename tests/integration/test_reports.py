"""Reports: counts and on-time rate by agency, procedure and month; late dossiers in days."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from backend.db.models import Dossier
from backend.domain.calendar import VN_TZ
from backend.services import dossiers as uc
from backend.services import reports
from backend.services.clock import SetClock
from tests.integration.conftest import World


async def finish(world: World, d: Dossier) -> None:
    """Take an accepted dossier through to the stamp (the result is at the desk)."""
    ctx, a = world.ctx, world.actor
    await uc.assign(ctx, a("truongphong"), d.id, world.officers["hoathanh.chuyenvien"].id)
    await uc.draft_result(ctx, a("chuyenvien"), d.id)
    await uc.approve(ctx, a("truongphong"), d.id)
    await uc.sign(ctx, a("lanhdao"), d.id)
    await uc.forward_result(ctx, a("chuyenvien"), d.id)
    await uc.stamp(ctx, a("vanthu"), d.id)


async def test_counts_rate_and_days_late(world: World, clock: SetClock) -> None:
    ctx, a = world.ctx, world.actor
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))  # Monday: birth registration is due today
    on_time, late, refused, open_late = [await world.submit_birth() for _ in range(4)]
    for d in (on_time, late, open_late):
        await uc.accept(ctx, a("motcua"), d.id)
    await uc.reject(ctx, a("motcua"), refused.id, "Không phải bản chính.")
    await finish(world, on_time)
    # Tuesday 24/11 is a day off (Ngày Văn hóa Việt Nam, as `holidays` knows it).
    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=VN_TZ))  # Wednesday: one working day late
    await finish(world, late)
    clock.set(datetime(2026, 11, 27, 10, 0, tzinfo=VN_TZ))  # Friday: the last one still open

    r = await reports.build(ctx, agency_id=world.commune.id, start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert len(r.rows) == 1
    row = r.rows[0]
    assert (row.agency, row.procedure, row.month) == ("UBND phường Hòa Thành", "Đăng ký khai sinh", "2026-11")
    assert (row.submitted, row.rejected, row.finished, row.on_time, row.late) == (4, 1, 2, 1, 1)
    assert (row.in_progress, row.overdue) == (1, 1)
    assert row.on_time_rate == 0.5 and r.total.submitted == 4
    assert [(x.code, x.days_late, x.finished_at is None) for x in r.late] == [
        (open_late.code, 3, True),
        (late.code, 1, False),
    ]

    rows = list(csv.reader(io.StringIO(reports.summary_csv(r).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Tháng", "Cơ quan", "Thủ tục"] and rows[1][-1] == "50.0"
    assert rows[-1][1] == "Tổng cộng"
    late_rows = list(csv.reader(io.StringIO(reports.late_csv(r).lstrip("\ufeff"))))
    assert late_rows[1][0] == open_late.code and late_rows[1][-1] == "3"

    # Another period, another agency: nothing.
    assert (await reports.build(ctx, start=date(2026, 10, 1), end=date(2026, 10, 31))).rows == []
    empty = await reports.build(ctx, agency_id=world.commune.id + 1)
    assert empty.rows == [] and empty.total.on_time_rate is None


async def test_morning_digest_once_a_working_day(world: World, clock: SetClock) -> None:
    from backend.db.models import OutboxMessage
    from backend.domain.messages import Text
    from backend.notify.render import make_renderer
    from backend.services.digest import queue_morning_digest

    ctx, a = world.ctx, world.actor
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))
    first, second = await world.submit_birth(), await world.submit_birth()
    await uc.accept(ctx, a("motcua"), second.id)
    clock.set(datetime(2026, 11, 25, 6, 30, tzinfo=VN_TZ))  # Wednesday, before 07:00
    assert await queue_morning_digest(ctx) == 0
    clock.set(datetime(2026, 11, 25, 7, 1, tzinfo=VN_TZ))
    assert await queue_morning_digest(ctx) == 2  # the one-stop officer and the department head
    assert await queue_morning_digest(ctx) == 0  # once a day
    rows = {r.officer.username: r for r in await OutboxMessage.filter(kind="digest").prefetch_related("officer")}
    assert set(rows) == {"hoathanh.motcua", "hoathanh.truongphong"}
    desk = rows["hoathanh.motcua"]
    assert desk.recipient == "officer" and desk.dossier_id is None
    assert desk.payload["total"] == 1 and desk.payload["codes"][0]["code"] == first.code
    head = rows["hoathanh.truongphong"].payload
    assert head["overdue"] == 1 and head["by_status"][0]["status"] == "awaiting_assignment"

    rendered = await make_renderer(ctx, "https://motcua.example")(rows["hoathanh.truongphong"], "telegram")
    assert len(rendered) == 1 and isinstance(rendered[0], Text)
    assert (
        "Ngày 25/11/2026" in rendered[0].text and second.code in rendered[0].text and "Quá hạn: 1" in rendered[0].text
    )

    clock.set(datetime(2026, 11, 28, 8, 0, tzinfo=VN_TZ))  # Saturday: no digest
    assert await queue_morning_digest(ctx) == 0
    clock.set(datetime(2026, 11, 30, 7, 0, tzinfo=VN_TZ))  # next Monday: a new one
    assert await queue_morning_digest(ctx) == 2
