"""Bad input on Telegram (webhook mode, the real PTB against FakeBotApi): each gets a short
Vietnamese answer and nothing is lost. Also: the webhook's secret, repeated and out-of-order
updates, flood control (429) and a user who blocked the bot, and per-chat pacing."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import qrcode
from aiohttp.test_utils import TestClient, TestServer, unused_port
from PIL import Image as PImage

from backend.db.models import ConversationState, Dossier, Officer, OutboxMessage
from backend.domain.calendar import VN_TZ
from backend.domain.messages import DeliveryError, Text
from backend.services import dossiers as uc
from backend.services.officers import actor_of
from backend.settings import Settings, TelegramSettings
from backend.web.app import RUNTIME, create_app
from bot.channels.telegram import TelegramChannel
from tests.fakes.telegram_bot_api import FakeBotApi, SentMessage

from .test_telegram_citizen import BIRTH_ANSWERS

CHAT = 7100
SECRET = "s3cret-webhook-token"


class RunningClock:
    def __init__(self, start: datetime) -> None:
        self.start, self.t0 = start, time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.t0)


class QrReader:
    """Our OCR port with the real QR decoder in-process (no Tesseract pool for these tests)."""

    async def read(self, data: bytes) -> dict[str, Any]:
        return {"doc_type": "unknown", "fields": {}, "confidence": {}, "qr": None}

    async def decode_qr(self, data: bytes) -> str | None:
        from bot.ocr import decode_qr_sync

        return decode_qr_sync(data)


def jpeg(size: tuple[int, int] = (640, 480)) -> bytes:
    buf = io.BytesIO()
    PImage.new("RGB", size, (180, 160, 140)).save(buf, "JPEG")
    return buf.getvalue()


def qr_photo(payload: str) -> bytes:
    img = qrcode.make(payload, box_size=10, border=4).convert("RGB")
    canvas = PImage.new("RGB", (img.width + 200, img.height + 200), (255, 255, 255))
    canvas.paste(img, (100, 100))
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@dataclass
class Said:
    messages: list[SentMessage]

    @property
    def text(self) -> str:
        return "\n".join(m.text or m.caption or "" for m in self.messages)


@dataclass
class Bot:
    api: FakeBotApi
    client: TestClient
    app: Any

    async def deliver(self, update: dict[str, Any]) -> Said:
        """Deliver one update to the webhook; what the bot said in answer (all of the turn)."""
        n = len(self.api.sent_to(CHAT))
        assert await self.api.deliver(update) == 200
        await self.api.wait_for(lambda m: len(self.api.sent_to(CHAT)) > n, timeout=10, chat_id=CHAT)
        seen = -1
        while seen != len(self.api.sent_to(CHAT)):  # the turn's replies go out back to back
            seen = len(self.api.sent_to(CHAT))
            await asyncio.sleep(0.08)
        return Said(self.api.sent_to(CHAT)[n:])

    async def say(self, text: str) -> Said:
        return await self.deliver(self.api.push_text(CHAT, text))

    async def press(self, data: str) -> Said:
        return await self.deliver(self.api.push_callback(CHAT, data))

    async def photo(self, data: bytes) -> Said:
        return await self.deliver(self.api.push_photo(CHAT, self.api.add_file(data, "image/jpeg")))

    async def document(self, data: bytes, name: str, mime: str) -> Said:
        return await self.deliver(self.api.push_document(CHAT, self.api.add_file(data, mime, name), name, mime))

    async def step(self) -> str:
        return (await ConversationState.get(channel="telegram", user_id=str(CHAT))).step


@pytest.fixture
async def bot(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[Bot]:
    port = unused_port()
    async with FakeBotApi() as api:
        settings = Settings(
            seed_demo=True, database_url=fresh_db_url, data_dir=tmp_path / "var", public_url=f"http://127.0.0.1:{port}",
            telegram=TelegramSettings(token=api.token, api_base_url=f"{api.url}/bot",
                                      file_base_url=f"{api.url}/file/bot", mode="webhook",
                                      webhook_secret=SECRET),
        )
        app = create_app(settings, clock=RunningClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ)))
        app[RUNTIME].ocr = QrReader()
        app[RUNTIME].extras["telegram_options"] = {"per_chat_rate": 0}
        async with TestClient(TestServer(app, port=port)) as client:
            yield Bot(api, client, app)


async def test_bad_input_gets_a_short_answer_and_loses_nothing(bot: Bot) -> None:
    api = bot.api
    await bot.say("/start")
    # A sticker or a voice note at the menu.
    assert "nhãn dán" in (await bot.deliver(api.push_sticker(CHAT))).text
    assert "tin nhắn thoại" in (await bot.deliver(api.push_voice(CHAT))).text
    assert "vị trí" in (await bot.deliver(api.push_location(CHAT, 11.3, 106.1))).text

    await bot.press("menu:submit")
    await bot.press("proc:birth_registration")
    assert await bot.step() == "submit.docs"
    # The same button pressed twice: the second is on an old message.
    assert "tin nhắn cũ" in (await bot.press("proc:birth_registration")).text
    # A PDF where a photo is expected: refused without downloading it.
    gets = api.calls["getFile"]
    assert "không phải ảnh" in (await bot.document(b"%PDF-1.4 fake", "giay-chung-sinh.pdf", "application/pdf")).text
    # A 30 MB photo sent as a file: refused from its size, before any download.
    big = await bot.document(b"\xff\xd8\xff" + b"\0" * (30 * 1024 * 1024), "IMG_0001.jpg", "image/jpeg")
    assert "quá lớn (30 MB)" in big.text
    assert api.calls["getFile"] == gets
    # A corrupt JPEG (cut in half) and bytes that are no image at all.
    good = jpeg()
    assert "bị lỗi" in (await bot.photo(good[: len(good) // 2])).text
    assert "không phải ảnh" in (await bot.document(b"hello", "anh.jpg", "image/jpeg")).text
    assert "nhãn dán" in (await bot.deliver(api.push_sticker(CHAT))).text
    state = await ConversationState.get(channel="telegram", user_id=str(CHAT))
    assert state.step == "submit.docs" and state.data["files"] == {}  # nothing stored, nothing lost
    # A good photo sent as a file is taken.
    took = await bot.document(good, "IMG_0002.jpg", "image/jpeg")
    assert "Đã nhận ảnh Giấy chứng sinh (1 ảnh)" in took.text

    # Look-ups: an unknown code, a QR that is not ours, a photo with no QR.
    await bot.press("menu:lookup")
    assert "Không tìm thấy hồ sơ" in (await bot.say("000.31.57.H57-261123-0042")).text
    await bot.press("menu:lookup")
    assert "không phải mã hồ sơ" in (await bot.say("xin chào cán bộ")).text
    assert "không phải mã hồ sơ Một cửa" in (await bot.photo(qr_photo("https://example.com/khuyen-mai"))).text
    assert "Không tìm thấy mã QR" in (await bot.photo(jpeg())).text
    found = await bot.photo(qr_photo("http://127.0.0.1/tra-cuu?ma=000.31.57.H57-261123-0042"))
    assert "Không tìm thấy hồ sơ" in found.text
    # Back at the menu: an old button from the submission is refused, the menu is intact.
    await bot.say("menu")
    assert "tin nhắn cũ" in (await bot.press("doc:next")).text
    assert await bot.step() == "menu"


async def test_webhook_secret_repeats_and_order(bot: Bot) -> None:
    api, client = bot.api, bot.client
    update = api.push_text(CHAT, "/start")
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        resp = await client.post("/telegram/webhook", json=update, headers=headers)
        assert resp.status == 403
    assert api.sent_to(CHAT) == []
    # The same update delivered twice (Telegram retries): answered once.
    await bot.deliver(update)
    assert await api.deliver(update) == 200
    await asyncio.sleep(0.3)
    assert len(api.sent_to(CHAT)) == 1
    # Two updates out of order: both are handled, nothing is lost.
    await bot.press("menu:submit")
    await bot.press("proc:birth_registration")
    await bot.photo(jpeg())
    first, second = api.push_callback(CHAT, "doc:next"), api.push_text(CHAT, "hủy")
    n = len(api.sent_to(CHAT))
    assert await api.deliver(second) == 200
    assert await api.deliver(first) == 200
    for _ in range(50):
        if len(api.sent_to(CHAT)) >= n + 3:
            break
        await asyncio.sleep(0.05)
    said = api.texts_to(CHAT)[n:]
    assert any("Đã hủy" in t for t in said) and any("tin nhắn cũ" in t for t in said)


async def test_blocked_user_and_flood_control(bot: Bot) -> None:
    """Notifications: a blocked user's are held and sent once the user writes again; a 429 is
    retried after the server's wait. Each arrives exactly once."""
    api, rt = bot.api, bot.app[RUNTIME]
    await bot.say("/start")
    await bot.press("menu:submit")
    await bot.press("proc:birth_registration")
    await bot.photo(jpeg())
    await bot.press("doc:next")
    await bot.photo(jpeg((500, 400)))
    await bot.press("doc:next")
    await bot.press("doc:skip")
    for answer in BIRTH_ANSWERS:
        await bot.say(answer)
    await bot.press("ans:father_residence:skip")
    await bot.press("sub:confirm")
    d = await Dossier.get()
    officers = {o.username: actor_of(o) for o in await Officer.filter(username__startswith="hoathanh.")}

    api.block(CHAT)
    await uc.accept(rt.ctx, officers["hoathanh.motcua"], d.id)
    rt.changed()
    for _ in range(100):
        row = await OutboxMessage.get(kind="accepted")
        if row.status == "held":
            break
        await asyncio.sleep(0.05)
    assert row.status == "held" and "forbidden" in row.last_error
    api.blocked.discard(str(CHAT))
    waiter = asyncio.ensure_future(api.wait_for(lambda m: "đã được tiếp nhận" in (m.text or ""),
                                                timeout=10, chat_id=CHAT))
    await bot.say("/start")  # writing again releases what was held
    await waiter

    api.fail_next("sendMessage", status=429, retry_after=1)
    await uc.assign(rt.ctx, officers["hoathanh.truongphong"], d.id, officers["hoathanh.chuyenvien"].officer_id)
    await uc.draft_result(rt.ctx, officers["hoathanh.chuyenvien"], d.id)
    await uc.approve(rt.ctx, officers["hoathanh.truongphong"], d.id)
    await uc.sign(rt.ctx, officers["hoathanh.lanhdao"], d.id)
    await uc.forward_result(rt.ctx, officers["hoathanh.chuyenvien"], d.id)
    waiter = asyncio.ensure_future(api.wait_for(lambda m: "đã có kết quả" in (m.text or ""),
                                                timeout=10, chat_id=CHAT))
    t0 = time.monotonic()
    await uc.stamp(rt.ctx, officers["hoathanh.vanthu"], d.id)
    rt.changed()
    await waiter
    assert time.monotonic() - t0 >= 0.9  # the server's retry_after was honoured
    await asyncio.sleep(0.3)
    texts = api.texts_to(CHAT)
    assert sum("đã được tiếp nhận" in t for t in texts) == 1
    assert sum("đã có kết quả" in t for t in texts) == 1


async def test_sending_is_paced_per_chat_and_errors_are_typed() -> None:
    """Three messages go at once, then one a second; 429 and 403 become DeliveryError."""
    async with FakeBotApi() as api:
        settings = TelegramSettings(token=api.token, api_base_url=f"{api.url}/bot",
                                    file_base_url=f"{api.url}/file/bot", mode="webhook",
                                    webhook_secret=SECRET)

        async def ignore(_inbound: object) -> None:
            return None

        channel = TelegramChannel(settings, ignore, per_chat_rate=1.0, per_chat_burst=3)
        await channel.start()
        try:
            t0 = time.monotonic()
            await asyncio.gather(*(channel.send(str(CHAT), Text(f"tin {i}")) for i in range(5)),
                                 channel.send("7200", Text("chat khác: không phải đợi")))
            times = [m.time - t0 for m in api.sent_to(CHAT)]
            assert [m.text for m in api.sent_to(CHAT)] == [f"tin {i}" for i in range(5)]
            assert times[2] < 0.5 and times[3] >= 0.9 and times[4] >= 1.9
            assert api.sent_to(7200)[0].time - t0 < times[4]
            api.fail_next("sendMessage", status=429, retry_after=7)
            with pytest.raises(DeliveryError) as err:
                await channel.send("7300", Text("x"))
            assert err.value.retryable and err.value.retry_after == 7
            api.block(7300)
            with pytest.raises(DeliveryError) as err:
                await channel.send("7300", Text("x"))
            assert not err.value.retryable
        finally:
            await channel.stop()


async def test_webhook_without_a_configured_secret_refuses_everything() -> None:
    """No secret set is a refusal, not a pass (whatever header the caller sends)."""
    from aiohttp import web

    async with FakeBotApi() as api:
        settings = TelegramSettings(token=api.token, api_base_url=f"{api.url}/bot",
                                    file_base_url=f"{api.url}/file/bot", mode="webhook", webhook_secret="")
        seen: list[object] = []

        async def record(inbound: object) -> None:
            seen.append(inbound)

        channel = TelegramChannel(settings, record)
        await channel.start()
        app = web.Application()
        app.router.add_post("/telegram/webhook", channel.webhook)
        try:
            async with TestClient(TestServer(app)) as client:
                update = api.push_text(CHAT, "/start")
                for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": ""},
                                {"X-Telegram-Bot-Api-Secret-Token": "anything"}):
                    assert (await client.post("/telegram/webhook", json=update, headers=headers)).status == 403
            assert seen == []
        finally:
            await channel.stop()
