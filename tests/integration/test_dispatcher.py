"""The outbox dispatcher: each notification once, in order, retried, held, across restarts."""

from __future__ import annotations

from datetime import timedelta

from backend.db.models import OfficerChannelLink, OutboxMessage
from backend.domain.messages import DeliveryError, Document, Text
from backend.domain.workflow import Role
from backend.notify.dispatcher import Dispatcher
from backend.notify.render import make_renderer
from backend.services import citizens
from backend.services import dossiers as uc
from backend.services.officers import create_officer
from tests.fakes.memory_sender import MemorySender
from tests.steps import process_to_result

from .conftest import World

CITIZEN = "5550001"  # the world's citizen on Telegram


def dispatcher(world: World, sender: MemorySender) -> Dispatcher:
    ctx = world.ctx
    return Dispatcher({"telegram": sender}, make_renderer(ctx, "http://console"), ctx.clock.now)


async def walk_to_return(world: World) -> int:
    ctx = world.ctx
    d = await world.submit_birth()
    await uc.accept(ctx, world.actor("motcua"), d.id)
    await process_to_result(ctx, d.id)
    await uc.return_result(ctx, world.actor("motcua"), d.id)
    return d.id


def texts_of(messages: list) -> list[str]:
    return [m.text.split("\n")[0] for m in messages if isinstance(m, Text)]


async def test_each_citizen_message_once_in_order_across_restart(world: World) -> None:
    sender = MemorySender()
    await OfficerChannelLink.create(officer=world.officers["hoathanh.motcua"], channel="telegram", external_id="9001",
                                     confirmed_at=world.ctx.clock.now())
    await walk_to_return(world)
    first = dispatcher(world, sender)
    # Stop after two rows, as if the process died, then start a new dispatcher.
    first.batch = 2
    await first.run_once()
    second = dispatcher(world, sender)
    while await second.run_once():
        pass
    assert await second.run_once() == 0
    msgs = sender.to(CITIZEN)
    heads = texts_of(msgs)
    assert [h.split(") ", 1)[1] for h in heads] == [
        "đã được tiếp nhận.",
        "đã có kết quả (Giấy khai sinh (bản chính) và bản sao nếu có yêu cầu).",
        "đã trả kết quả. Cảm ơn anh/chị đã sử dụng dịch vụ!",
    ]
    receipt = [m for m in msgs if isinstance(m, Document)]
    assert len(receipt) == 1 and receipt[0].filename.startswith("giay-tiep-nhan-hen-tra-")
    assert receipt[0].data[:5] == b"%PDF-"
    rating = [m for m in msgs if isinstance(m, Text) and m.buttons]
    assert rating[-1].buttons[0][0].data.startswith("rate:") and rating[-1].buttons[0][0].data.endswith(":5")
    # The one-stop officer's linked chat got the two one-stop tasks (check, return).
    officer = texts_of(sender.to("9001"))
    assert officer == ["Hồ sơ mới cần kiểm tra", "Hồ sơ chờ trả kết quả cho công dân"]
    assert await OutboxMessage.filter(status="pending").count() == 0


async def test_retry_after_failure_keeps_order(world: World) -> None:
    sender = MemorySender()
    sender.fail(CITIZEN, DeliveryError("429", retryable=True, retry_after=30))
    await walk_to_return(world)
    disp = dispatcher(world, sender)
    await disp.run_once()
    assert sender.to(CITIZEN) == []  # the first failed; the later ones waited behind it
    world.ctx.clock.advance(seconds=31)  # type: ignore[attr-defined]
    await disp.run_once()
    heads = texts_of(sender.to(CITIZEN))
    assert len(heads) == 3 and "tiếp nhận" in heads[0] and "trả kết quả" in heads[2]


async def test_unreachable_citizen_is_held_until_they_write_again(world: World) -> None:
    sender = MemorySender()
    sender.fail(CITIZEN, DeliveryError("outside the reply window", retryable=False))
    d = await world.submit_birth()
    await uc.accept(world.ctx, world.actor("motcua"), d.id)
    disp = dispatcher(world, sender)
    await disp.run_once()
    held = await OutboxMessage.get(dossier_id=d.id, kind="accepted")
    assert held.status == "held" and held.last_error == "outside the reply window"
    world.ctx.clock.advance(hours=2)  # type: ignore[attr-defined]
    await disp.run_once()
    assert sender.to(CITIZEN) == []  # no retry loop while held
    await citizens.identify(world.ctx, "telegram", CITIZEN)  # the citizen writes again
    await disp.run_once()
    assert len(texts_of(sender.to(CITIZEN))) == 1
    assert (await OutboxMessage.get(id=held.id)).status == "sent"


async def test_crash_mid_row_resends_nothing_already_delivered(world: World) -> None:
    """A pool task to two linked officers: the first got it, then the process died."""
    sender = MemorySender()
    await OfficerChannelLink.create(officer=world.officers["hoathanh.motcua"], channel="telegram", external_id="9001",
                                     confirmed_at=world.ctx.clock.now())
    other = await create_officer(
        username="hoathanh.motcua2",
        full_name="Lý Thị Hoa",
        role=Role.ONE_STOP,
        password="Lý-Thị-Hoa-trực-một-cửa",
        agency_id=world.commune.id,
    )
    await OfficerChannelLink.create(officer=other, channel="telegram", external_id="9002",
                                     confirmed_at=world.ctx.clock.now())
    sender.fail("9002", DeliveryError("connection reset", retryable=True))
    await world.submit_birth()
    disp = dispatcher(world, sender)
    await disp.run_once()
    row = await OutboxMessage.get(kind="task")
    assert row.delivered == ["telegram:9001#0"] and row.status == "pending"
    world.ctx.clock.advance(minutes=5)  # type: ignore[attr-defined]
    await dispatcher(world, sender).run_once()  # a new process
    assert len(sender.to("9001")) == 1 and len(sender.to("9002")) == 1
    assert (await OutboxMessage.get(id=row.id)).status == "sent"


async def test_two_dispatchers_never_send_the_same_row(world: World) -> None:
    import asyncio

    sender = MemorySender()
    await walk_to_return(world)
    a, b = dispatcher(world, sender), dispatcher(world, sender)
    await asyncio.gather(a.run_once(), b.run_once(), a.run_once(), b.run_once())
    world.ctx.clock.advance(minutes=5)  # type: ignore[attr-defined]
    await asyncio.gather(a.run_once(), b.run_once())
    texts = [m.text for m in sender.to(CITIZEN) if isinstance(m, Text)]
    assert len(texts) == len(set(texts)) == 3


async def test_lease_expiry_lets_a_stuck_row_go(world: World) -> None:
    sender = MemorySender()
    d = await world.submit_birth()
    await uc.accept(world.ctx, world.actor("motcua"), d.id)
    row = await OutboxMessage.get(dossier_id=d.id, kind="accepted")
    # A dispatcher claimed it and died before sending: attempts bumped, lease in the future.
    await OutboxMessage.filter(id=row.id).update(
        attempts=1, next_attempt_at=world.ctx.clock.now() + timedelta(minutes=2)
    )
    disp = dispatcher(world, sender)
    await disp.run_once()
    assert sender.to(CITIZEN) == []
    world.ctx.clock.advance(minutes=3)  # type: ignore[attr-defined]
    await disp.run_once()
    assert len(texts_of(sender.to(CITIZEN))) == 1


async def test_text_sent_then_pdf_failed_resends_only_the_pdf(world: World) -> None:
    class FailOnDocument(MemorySender):
        broken = True

        async def send(self, user_id: str, message) -> None:  # noqa: ANN001
            if isinstance(message, Document) and self.broken:
                self.broken = False
                raise DeliveryError("upload failed", retryable=True)
            await super().send(user_id, message)

    sender = FailOnDocument()
    d = await world.submit_birth()
    await uc.accept(world.ctx, world.actor("motcua"), d.id)
    disp = dispatcher(world, sender)
    await disp.run_once()
    world.ctx.clock.advance(minutes=5)  # type: ignore[attr-defined]
    await disp.run_once()
    kinds = [type(m).__name__ for m in sender.to(CITIZEN)]
    assert kinds == ["Text", "Document"]


async def test_officer_task_offers_its_quick_actions(world: World) -> None:
    sender = MemorySender()
    await OfficerChannelLink.create(officer=world.officers["hoathanh.motcua"], channel="telegram", external_id="9001",
                                     confirmed_at=world.ctx.clock.now())
    d = await world.submit_birth()
    await dispatcher(world, sender).run_once()
    (task,) = sender.to("9001")
    assert isinstance(task, Text)
    quick, link = task.buttons
    assert [b.data for b in quick] == [f"do:{a}:{d.id}:{d.version}" for a in ("accept", "request_supplement", "reject")]
    assert link[0].url == f"http://console/console/dossiers/{d.id}"


async def test_held_rows_do_not_starve_the_others(world: World) -> None:
    """Many notices held for an unreachable citizen must not fill the batch."""
    sender = MemorySender()
    sender.fail(CITIZEN, DeliveryError("outside the reply window", retryable=False), times=10)
    await OfficerChannelLink.create(officer=world.officers["hoathanh.motcua"], channel="telegram", external_id="9001",
                                     confirmed_at=world.ctx.clock.now())
    disp = dispatcher(world, sender)
    disp.batch = 3
    for _ in range(4):
        d = await world.submit_birth()
        await uc.accept(world.ctx, world.actor("motcua"), d.id)
    while await disp.run_once():
        pass
    assert await OutboxMessage.filter(status="held").count() == 4
    fresh = await world.submit_birth()  # a new task for the officer, queued after the held rows
    await disp.run_once()
    assert any(isinstance(m, Text) and fresh.code in m.text for m in sender.to("9001"))
