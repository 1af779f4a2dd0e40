"""The conversation engine on SQLite and PostgreSQL, through an in-memory channel of our own
port: state persisted, events de-duplicated, a restart continues the chat, back / cancel /
start over, one user's updates in order, OCR prefill and confirmation, supplement, lookup,
officers acting from chat."""

from __future__ import annotations

import asyncio
import io
import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image as PImage

from backend.db.models import Attachment as AttachmentRow
from backend.db.models import ConversationState, Dossier, InboundUpdate, Officer
from backend.domain.messages import Attachment, Image, Inbound, Outbound, Text
from backend.domain.workflow import Status
from backend.services import dossiers as uc
from backend.services.context import ServiceContext
from backend.services.officers import actor_of, new_link_code
from backend.services.seed import seed_demo
from bot.engine import Engine
from tests.steps import confirm_chat_links

BIRTH_ANSWERS = [
    "Nguyễn Văn An",
    "072090001234",
    "Ấp Long Bình, phường Hòa Thành, tỉnh Tây Ninh",
    "Cha",
    "0912345678",
    "Nguyễn Ngọc Diệp",
    "Nữ",
    "05/11/2026 08:30",
    "Bệnh viện Đa khoa tỉnh Tây Ninh",
    "Kinh",
    "Việt Nam",
    "Tây Ninh",
    "Trần Thị Bích",
    "1994",
    "Ấp Long Bình, phường Hòa Thành, tỉnh Tây Ninh",
    "Có",
    "Nguyễn Văn An",
    "1990",
    "Ấp Long Bình",
]


class MemoryChannel:
    """Our ChannelSender port plus the file store the channel would download from."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Outbound]] = []
        self.files: dict[str, bytes] = {}
        self.fetched: list[str] = []

    async def send(self, user_id: str, message: Outbound) -> None:
        self.sent.append((user_id, message))

    async def fetch(self, att: Attachment) -> bytes:
        self.fetched.append(att.ref)
        return self.files[att.ref]


@dataclass
class FakeOcr:
    """Our OCR port: answers by the photo's bytes (what the test registered)."""

    results: dict[bytes, dict[str, Any]]
    qr: dict[bytes, str | None]

    async def read(self, data: bytes) -> dict[str, Any]:
        return self.results.get(data, {"doc_type": "unknown", "fields": {}, "confidence": {}, "qr": None})

    async def decode_qr(self, data: bytes) -> str | None:
        return self.qr.get(data)


def jpeg(seed: int) -> bytes:
    buf = io.BytesIO()
    PImage.new("RGB", (200, 160), (seed * 37 % 255, 90, 160)).save(buf, "JPEG")
    return buf.getvalue()


class User:
    """One chat user talking to an engine; ``replies`` are what this turn produced."""

    ids = itertools.count(1)

    def __init__(self, engine: Engine, channel: MemoryChannel, user_id: str = "u1") -> None:
        self.engine, self.channel, self.user_id = engine, channel, user_id

    async def send(
        self,
        text: str | None = None,
        button: str | None = None,
        photo: bytes | None = None,
        event_id: str | None = None,
        attachment: Attachment | None = None,
    ) -> list[Outbound]:
        atts: tuple[Attachment, ...] = ()
        if photo is not None:
            ref = f"f{next(self.ids)}"
            self.channel.files[ref] = photo
            atts = (Attachment("image", ref, "image/jpeg", len(photo)),)
        if attachment is not None:
            atts = (attachment,)
        n = len(self.channel.sent)
        await self.engine.handle(
            Inbound("mem", self.user_id, event_id or f"e{next(self.ids)}", text=text, button=button, attachments=atts)
        )
        return [m for u, m in self.channel.sent[n:] if u == self.user_id]


def body(replies: list[Outbound]) -> str:
    return "\n".join(m.text for m in replies if isinstance(m, Text))


def datas(replies: list[Outbound]) -> list[str]:
    return [b.data for m in replies if isinstance(m, Text) for row in m.buttons for b in row]


def new_engine(ctx: ServiceContext, ocr: Any = None) -> tuple[Engine, MemoryChannel]:
    engine, channel = Engine(ctx, ocr=ocr), MemoryChannel()
    engine.register("mem", channel, channel.fetch)
    return engine, channel


@pytest.fixture
async def seeded(db: str) -> None:
    await seed_demo(password="test-password")


async def _to_fields(user: User) -> None:
    await user.send("/start")
    await user.send(button="menu:submit")
    await user.send(button="proc:birth_registration")
    await user.send(photo=jpeg(1))
    await user.send(button="doc:next")
    await user.send(photo=jpeg(2))
    await user.send(button="doc:next")
    await user.send(button="doc:skip")


async def test_state_persists_across_restart_and_events_dedupe(seeded: None, ctx: ServiceContext) -> None:
    engine, channel = new_engine(ctx)
    user = User(engine, channel)
    await _to_fields(user)
    first = await user.send(BIRTH_ANSWERS[0], event_id="dup-1")
    assert "Số căn cước" in body(first)
    # The same event again (a webhook retried): nothing happens, nothing is said.
    assert await user.send(BIRTH_ANSWERS[0], event_id="dup-1") == []
    assert await InboundUpdate.filter(event_id="dup-1").count() == 1
    row = await ConversationState.get(channel="mem", user_id="u1")
    assert row.step == "submit.field" and row.data["form"]["declarant_name"] == "Nguyễn Văn An"

    # A new process (new engine) days later continues where the citizen stopped.
    engine2, channel2 = new_engine(ctx)
    user2 = User(engine2, channel2)
    back = await user2.send("/start")
    assert "tiếp tục" in body(back) and "Số căn cước" in body(back)
    for answer in BIRTH_ANSWERS[1:]:
        await user2.send(answer)
    review = await user2.send("/start")
    assert "sub:confirm" in datas(review)
    done = await user2.send(button="sub:confirm")
    d = await Dossier.get()
    assert d.code in body(done) and any(isinstance(m, Image) for m in done)
    assert d.form_data["declarant_name"] == "Nguyễn Văn An" and d.form_data["father_birth_year"] == 1990
    assert (await ConversationState.get(channel="mem", user_id="u1")).step == "menu"
    # The confirm button pressed again: no second dossier.
    assert "tin nhắn cũ" in body(await user2.send(button="sub:confirm"))
    assert await Dossier.all().count() == 1


async def test_back_cancel_start_over_help(seeded: None, ctx: ServiceContext) -> None:
    engine, channel = new_engine(ctx)
    user = User(engine, channel)
    await _to_fields(user)
    await user.send("Nguyễn Văn An")
    await user.send("072090001234")
    back = await user.send("quay lại")
    assert "Đã quay lại" in body(back) and "Số căn cước" in body(back)
    row = await ConversationState.get(channel="mem", user_id="u1")
    assert "declarant_id_number" not in row.data["form"]
    # Back through the questions into the photos: the last photo is undone too.
    for _ in range(3):
        await user.send(button="nav:back")
    row = await ConversationState.get(channel="mem", user_id="u1")
    assert row.step == "submit.docs" and row.data["comp"] == 1
    assert "Hướng dẫn" in body(await user.send("trợ giúp"))
    assert (await ConversationState.get(channel="mem", user_id="u1")).step == "submit.docs"
    restart = await user.send("làm lại")
    assert "Bắt đầu lại" in body(restart) and "Giấy tờ 1/3" in body(restart)
    row = await ConversationState.get(channel="mem", user_id="u1")
    assert row.data["files"] == {} and row.data["proc"] == "birth_registration"
    cancel = await user.send(button="nav:cancel")
    assert "Đã hủy" in body(cancel) and "menu:submit" in datas(cancel)
    row = await ConversationState.get(channel="mem", user_id="u1")
    assert row.step == "menu" and set(row.data) <= {"_choices"}
    assert "Không có việc gì" in body(await user.send("hủy"))


async def test_one_users_updates_in_order(seeded: None, ctx: ServiceContext) -> None:
    engine, channel = new_engine(ctx)
    user = User(engine, channel)
    await _to_fields(user)
    # Three answers arrive at once (a fast typist, or a webhook burst): handled in order.
    await asyncio.gather(*(user.send(a) for a in BIRTH_ANSWERS[:3]))
    row = await ConversationState.get(channel="mem", user_id="u1")
    form = row.data["form"]
    assert form["declarant_name"] == BIRTH_ANSWERS[0]
    assert form["declarant_id_number"] == BIRTH_ANSWERS[1]
    assert form["declarant_residence"] == BIRTH_ANSWERS[2]
    assert not engine._puts._locks and not engine._turns._locks  # locks of idle users are dropped


async def test_two_workers_do_not_lose_a_turn(seeded: None, ctx: ServiceContext) -> None:
    """Two engines (two processes) on one user's state: the version check re-runs the loser."""
    (e1, c1), (e2, c2) = new_engine(ctx), new_engine(ctx)
    u1, u2 = User(e1, c1), User(e2, c2)
    await _to_fields(u1)
    before = await ConversationState.get(channel="mem", user_id="u1")
    await asyncio.gather(u1.send(BIRTH_ANSWERS[0], event_id="w1"), u2.send(BIRTH_ANSWERS[1], event_id="w2"))
    after = await ConversationState.get(channel="mem", user_id="u1")
    assert await InboundUpdate.filter(event_id__in=["w1", "w2"], handled_at__isnull=False).count() == 2
    form = after.data["form"]
    # Either order, but never one answer overwriting the other: the first answers the name,
    # the second the next question; the ID number typed at the name question is refused, and
    # the name typed after it is then taken.
    assert (form.get("declarant_name"), form.get("declarant_id_number")) in [
        (BIRTH_ANSWERS[0], BIRTH_ANSWERS[1]), (BIRTH_ANSWERS[0], None)]
    assert after.version > before.version


async def test_ocr_prefills_and_asks_only_what_is_missing_or_uncertain(seeded: None, ctx: ServiceContext) -> None:
    cert, card = jpeg(11), jpeg(12)
    ocr = FakeOcr(
        {
            cert: {
                "doc_type": "birth_certificate",
                "qr": None,
                "fields": {
                    "mother_name": "Trần Thị Bích",
                    "mother_birth_year": 1994,
                    "mother_residence": "Ấp Long Bình, phường Hòa Thành, tỉnh Tây Ninh",
                    "ethnicity": "Kinh",
                    "child_birth_datetime": "2026-11-05T08:30",
                    "birth_place": "Bệnh viện Đa khoa tỉnh Tây Ninh",
                    "child_sex": "Nữ",
                    "child_intended_name": "Nguyễn Ngọc Diệp",
                },
                "confidence": {
                    "mother_name": 0.95,
                    "mother_birth_year": 0.5,
                    "ethnicity": 0.9,
                    "child_birth_datetime": 0.9,
                    "birth_place": 0.9,
                    "child_sex": 0.9,
                    "child_intended_name": 0.9,
                    "mother_residence": 0.9,
                },
            },
            card: {
                "doc_type": "id_card",
                "qr": None,
                "fields": {
                    "full_name": "Nguyễn Văn An",
                    "id_number": "072090001234",
                    "place_of_residence": "Ấp Long Bình, phường Hòa Thành, tỉnh Tây Ninh",
                },
                "confidence": {"full_name": 0.97, "id_number": 0.99, "place_of_residence": 0.9},
            },
        },
        {},
    )
    engine, channel = new_engine(ctx, ocr)
    user = User(engine, channel)
    await user.send(button="menu:submit")
    await user.send(button="proc:birth_registration")
    # The ID card sent where the birth certificate is expected: filed under the right paper.
    misplaced = await user.send(photo=card)
    assert "có vẻ là Căn cước" in body(misplaced) and "Nguyễn Văn An" in body(misplaced)
    read = await user.send(photo=cert)
    assert "Trần Thị Bích" in body(read) and "(?)" in body(read)  # the unsure year is marked
    await user.send(button="doc:next")
    await user.send(button="doc:next")  # the card is already there
    first = await user.send(button="doc:skip")
    assert "cháu bé" in body(first) and "declarant_relationship" in datas(first)[0]  # relationship
    await user.send(button="ans:declarant_relationship:0")
    asked = [body(await user.send(button="ans:declarant_phone:skip"))]
    while True:
        state = await ConversationState.get(channel="mem", user_id="u1")
        if state.step != "submit.field":
            break
        key = state.data["asking"]
        if key == "mother_birth_year":
            assert "1994" in asked[-1] and "Đúng không" in asked[-1]
            asked.append(body(await user.send(button="ans:mother_birth_year:ok")))
        elif key == "child_nationality":
            asked.append(body(await user.send(button="ans:child_nationality:0")))
        elif key == "parents_married":
            asked.append(body(await user.send(button="ans:parents_married:1")))  # Không
        else:
            asked.append(body(await user.send(button=f"ans:{key}:skip")))
    assert state.step == "submit.review"
    form = state.data["form"]
    assert form["mother_birth_year"] == 1994 and form["child_nationality"] == "Việt Nam"
    assert form["parents_married"] == "Không" and "father_name" not in form
    # Only the missing or uncertain were asked: no question about names OCR read with confidence.
    assert not any("Họ và tên người mẹ" in q for q in asked)
    atts = await AttachmentRow.all().order_by("id")
    assert [a.component for a in atts] == ["declarant_id", "birth_certificate"]
    assert atts[1].ocr["fields"]["mother_name"] == "Trần Thị Bích"


async def test_edit_from_review_asks_what_the_change_needs(seeded: None, ctx: ServiceContext) -> None:
    engine, channel = new_engine(ctx)
    user = User(engine, channel)
    await _to_fields(user)
    answers = BIRTH_ANSWERS[:15] + ["Không"]
    for a in answers:
        await user.send(a)
    review = await user.send("/start")
    assert "sub:confirm" in datas(review)
    edit = await user.send(button="sub:edit")
    assert "edit:parents_married" in datas(edit)
    await user.send(button="edit:parents_married")
    nxt = await user.send(button="ans:parents_married:0")  # now married: the father is needed
    assert "người cha" in body(nxt)
    await user.send("Nguyễn Văn An")
    back_to_review = await user.send("1990")
    assert "sub:confirm" in datas(back_to_review)
    bad = await user.send(button="edit:child_birth_datetime")
    assert "Hiện tại: 08:30 05/11/2026" in body(bad)
    assert "ví dụ 05/11/2026 08:30" in body(await user.send("hôm qua"))
    assert "tương lai" in body(await user.send("05/11/2030 08:30"))
    assert "sub:confirm" in datas(await user.send("5/11/2026 9h15"))
    state = await ConversationState.get(channel="mem", user_id="u1")
    assert state.data["form"]["child_birth_datetime"] == "2026-11-05T09:15"


async def test_supplement_lookup_and_officer_reasons(seeded: None, ctx: ServiceContext) -> None:
    engine, channel = new_engine(ctx)
    citizen, officer = User(engine, channel, "c1"), User(engine, channel, "o1")
    await _to_fields(citizen)
    for a in BIRTH_ANSWERS:
        await citizen.send(a)
    await citizen.send(button="sub:confirm")
    d = await Dossier.get()

    # The officer links his chat and asks for a supplement from it, typing the items.
    one_stop = await Officer.get(username="hoathanh.motcua")
    assert "Trần Thị Mai" in body(await officer.send(f"/lienket {await new_link_code(ctx, one_stop.id)}"))
    await confirm_chat_links(ctx, one_stop.id)
    ask = await officer.send(button=f"do:request_supplement:{d.id}:{d.version}")
    assert "mỗi nội dung một dòng" in body(ask)
    done = await officer.send("Ảnh giấy chứng sinh bị mờ\nẢnh mặt sau căn cước")
    assert "Yêu cầu bổ sung" in body(done)
    d = await Dossier.get()
    assert d.status == Status.AWAITING_SUPPLEMENT and len(d.supplement_items) == 2

    # The citizen sees it in a lookup, sends photos from the menu, then sends the supplement.
    view = await citizen.send(d.code.lower())
    assert "Cần bổ sung" in body(view) and "menu:supplement" in datas(view)
    got = await citizen.send(photo=jpeg(21))
    assert "Đã nhận 1 ảnh bổ sung" in body(got)
    await citizen.send(photo=jpeg(22))
    sent = await citizen.send(button="sup:send")
    assert "Đã gửi bổ sung" in body(sent)
    d = await Dossier.get()
    assert d.status == Status.SUBMITTED
    assert await AttachmentRow.filter(dossier_id=d.id, supplement_round=1).count() == 2

    # A stranger's lookup shows a masked name; an unknown code is said so.
    stranger = User(engine, channel, "s1")
    seen = body(await stranger.send(d.code))
    assert "Nguyễn V. A." in seen and "Nguyễn Văn An" not in seen
    assert "Không tìm thấy hồ sơ" in body(await stranger.send("000.31.57.H57-261123-0999"))

    # A stranger pressing an officer button is refused; the officer rejects with a reason.
    assert "chưa liên kết" in body(await stranger.send(button=f"do:reject:{d.id}:{d.version}"))
    await officer.send(button=f"do:reject:{d.id}:{d.version}")
    assert "Từ chối" in body(await officer.send("Không đúng thẩm quyền"))
    d = await Dossier.get()
    assert d.status == Status.REJECTED
    # A reason typed for an action that is no longer possible: said so, and the chat moves on.
    await officer.send(button=f"do:reject:{d.id}:{d.version}")
    assert "Không thể" in body(await officer.send("Lý do khác"))
    assert (await ConversationState.get(channel="mem", user_id="o1")).step == "menu"


async def test_assign_offers_the_departments_specialists(seeded: None, ctx: ServiceContext) -> None:
    engine, channel = new_engine(ctx)
    citizen, head = User(engine, channel, "c1"), User(engine, channel, "h1")
    await _to_fields(citizen)
    for a in BIRTH_ANSWERS:
        await citizen.send(a)
    await citizen.send(button="sub:confirm")
    d = await Dossier.get()
    d = await uc.accept(ctx, actor_of(await Officer.get(username="hoathanh.motcua")), d.id)
    boss = await Officer.get(username="hoathanh.truongphong")
    await head.send(f"/lienket {await new_link_code(ctx, boss.id)}")
    await confirm_chat_links(ctx, boss.id)
    offer = await head.send(button=f"do:assign:{d.id}:{d.version}")
    names = [b.label for m in offer if isinstance(m, Text) for row in m.buttons for b in row]
    assert names == ["Phạm Ngọc Ánh", "Võ Minh Tâm"]
    done = await head.send(button=datas(offer)[0])
    assert "Phân công" in body(done)
    assert (await Dossier.get()).status == Status.APPRAISING


async def test_typed_numbers_choose_the_buttons_offered(seeded: None, ctx: ServiceContext) -> None:
    """For channels that show buttons as a numbered list (Zalo without buttons): "2" is the
    second button of the last message — except where a number is itself the answer."""
    engine, channel = new_engine(ctx)
    user = User(engine, channel)
    menu = await user.send("/start")
    assert datas(menu)[0] == "menu:submit"
    procs = await user.send("1")
    assert "proc:birth_registration" in datas(procs)
    await user.send(str(datas(procs).index("proc:birth_registration") + 1))
    assert (await ConversationState.get(channel="mem", user_id="u1")).step == "submit.docs"
    await user.send(photo=jpeg(1))
    await user.send("1")  # «Xong giấy này»
    await user.send(photo=jpeg(2))
    await user.send("1")
    await user.send("1")  # «Không có, bỏ qua» (the marriage certificate)
    await user.send(BIRTH_ANSWERS[0])
    await user.send(BIRTH_ANSWERS[1])
    await user.send(BIRTH_ANSWERS[2])
    await user.send("2")  # relationship: the second choice, «Mẹ»
    state = await ConversationState.get(channel="mem", user_id="u1")
    assert state.data["form"]["declarant_relationship"] == "Mẹ"
    # Where the answer is a number, a number is the answer (here a bad phone number).
    assert "Số điện thoại chưa đúng" in body(await user.send("1"))
