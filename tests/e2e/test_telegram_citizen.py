"""One citizen walks a whole birth registration on Telegram: the real PTB Application (polling)
against FakeBotApi, our create_app on an empty database, an officer accepting from his own
chat and the others acting through the service layer. Every status message reaches the
citizen exactly once, also across a restart of the app (dispatcher included)."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from PIL import Image as PImage

from backend.db.models import Dossier, Officer, OutboxMessage
from backend.domain.calendar import VN_TZ
from backend.domain.workflow import Status
from backend.services import dossiers as uc
from backend.services.officers import actor_of, deep_link_payload, new_link_code
from backend.settings import Settings, TelegramSettings
from backend.web.app import RUNTIME, create_app
from tests.fakes.telegram_bot_api import FakeBotApi, SentMessage
from tests.steps import confirm_chat_links, process_to_result

CITIZEN = 7001
OFFICER = 9001
BIRTH_ANSWERS = [
    "Nguyễn Văn An", "072090001234", "Ấp Long Bình, phường Hòa Thành, tỉnh Tây Ninh", "Cha",
    "0912345678", "Nguyễn Ngọc Diệp", "Nữ", "05/11/2026 08:30", "Bệnh viện Đa khoa tỉnh Tây Ninh",
    "Kinh", "Việt Nam", "Tây Ninh", "Trần Thị Bích", "1994",
    "Ấp Long Bình, phường Hòa Thành, tỉnh Tây Ninh", "Có", "Nguyễn Văn An", "1990",
]


class RunningClock:
    """Real time, starting on a Monday 09:00 in Tây Ninh (retries and leases still expire)."""

    def __init__(self, start: datetime) -> None:
        self.start, self.t0 = start, time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.t0)


def jpeg(seed: int = 0) -> bytes:
    buf = io.BytesIO()
    PImage.new("RGB", (640, 480), (40 * seed % 255, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


def telegram_app(api: FakeBotApi, db_url: str, data_dir: Path, clock: RunningClock):  # noqa: ANN201
    settings = Settings(
        seed_demo=True, database_url=db_url, data_dir=data_dir, ocr_workers=0,
        telegram=TelegramSettings(token=api.token, api_base_url=f"{api.url}/bot",
                                  file_base_url=f"{api.url}/file/bot", mode="polling"),
    )
    app = create_app(settings, clock=clock)
    app[RUNTIME].extras["telegram_options"] = {"per_chat_rate": 0, "poll_timeout": 2.0}
    return app


class Chat:
    """A Telegram user typing into the fake server and reading what the bot sent."""

    def __init__(self, api: FakeBotApi, chat_id: int) -> None:
        self.api, self.chat_id = api, chat_id

    async def _next(self, push: Callable[[], object], match: Callable[[SentMessage], bool] | None) -> SentMessage:
        waiter = asyncio.ensure_future(self.api.wait_for(match, timeout=10, chat_id=self.chat_id, new_only=True))
        await asyncio.sleep(0)  # the waiter is registered before the update is queued
        push()
        return await waiter

    async def say(self, text: str, match: Callable[[SentMessage], bool] | None = None) -> SentMessage:
        return await self._next(lambda: self.api.push_text(self.chat_id, text), match)

    async def press(self, data: str, match: Callable[[SentMessage], bool] | None = None) -> SentMessage:
        return await self._next(lambda: self.api.push_callback(self.chat_id, data), match)

    async def photo(self, data: bytes, match: Callable[[SentMessage], bool] | None = None) -> SentMessage:
        file_id = self.api.add_file(data, "image/jpeg")
        return await self._next(lambda: self.api.push_photo(self.chat_id, file_id), match)


def containing(fragment: str) -> Callable[[SentMessage], bool]:
    return lambda m: fragment in (m.text or m.caption or "")


async def test_birth_registration_on_telegram(fresh_db_url: str, tmp_path: Path) -> None:
    clock = RunningClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))
    async with FakeBotApi() as api:
        app = telegram_app(api, fresh_db_url, tmp_path / "var", clock)
        async with TestClient(TestServer(app)):
            rt = app[RUNTIME]
            ctx = rt.ctx
            officers = {o.username: o for o in await Officer.all()}

            # The one-stop officer links his chat with a code from the console.
            code = await new_link_code(ctx, officers["hoathanh.motcua"].id)
            officer = Chat(api, OFFICER)
            # ... opened through the console's deep link: Telegram sends "/start lk_<token>".
            assert re.fullmatch(r"motcua\d+_bot", rt.extras["telegram_username"])
            assert "Trần Thị Mai" in (await officer.say(f"/start {deep_link_payload(code)}")).text
            await confirm_chat_links(ctx, officers["hoathanh.motcua"].id)

            citizen = Chat(api, CITIZEN)
            menu = await citizen.say("/start")
            assert "menu:submit" in menu.button_data
            pick = await citizen.press("menu:submit")
            assert "proc:birth_registration" in pick.button_data
            await citizen.press("proc:birth_registration", containing("Giấy tờ 1/3"))
            got = await citizen.photo(jpeg(1))
            assert "Đã nhận ảnh Giấy chứng sinh" in got.text and "doc:next" in got.button_data
            await citizen.photo(jpeg(2))  # a second photo of the same paper (the back)
            assert "Giấy tờ 2/3" in (await citizen.press("doc:next")).text
            await citizen.photo(jpeg(3))
            assert "doc:skip" in (await citizen.press("doc:next")).button_data
            await citizen.press("doc:skip")
            for answer in BIRTH_ANSWERS:
                await citizen.say(answer)
            review = await citizen.press("ans:father_residence:skip")
            assert "Nguyễn Ngọc Diệp" in review.text and "sub:confirm" in review.button_data
            qr = await citizen.press("sub:confirm", lambda m: m.method == "sendPhoto")
            assert qr.photo is not None and qr.photo.startswith(b"\x89PNG")
            d = await Dossier.get()
            assert any(d.code in t for t in api.texts_to(CITIZEN))
            assert d.form_data["child_birth_datetime"] == "2026-11-05T08:30"
            assert d.form_data["mother_birth_year"] == 1994 and "father_residence" not in d.form_data
            assert len(await d.attachments.all()) == 3

            # The officer gets the task with its button and accepts from the chat.
            task = await api.wait_for(containing("Hồ sơ mới cần kiểm tra"), chat_id=OFFICER)
            accept = next(x for x in task.button_data if x.startswith("do:accept:"))
            assert "Tiếp nhận" in (await officer.press(accept, containing("Đã thực hiện"))).text
            # A second press on the same (now old) button changes nothing.
            again = await officer.press(accept)
            assert "vừa được cập nhật" in again.text
            await api.wait_for(lambda m: m.method == "sendDocument", chat_id=CITIZEN)

            await process_to_result(ctx, d.id)
            rt.changed()
            await api.wait_for(containing("đã có kết quả"), chat_id=CITIZEN)
            await _settled(api)

        # Restart: a new app (new dispatcher, new PTB) on the same database resends nothing.
        before = len(api.sent_to(CITIZEN))
        app2 = telegram_app(api, fresh_db_url, tmp_path / "var", clock)
        async with TestClient(TestServer(app2)):
            rt2 = app2[RUNTIME]
            await rt2.dispatcher.run_once()
            await _settled(api)
            assert len(api.sent_to(CITIZEN)) == before
            await uc.return_result(rt2.ctx, actor_of(officers["hoathanh.motcua"]), d.id)
            rt2.changed()
            done = await api.wait_for(containing("đã trả kết quả"), chat_id=CITIZEN)
            assert f"rate:{d.code}:5" in done.button_data
            thanks = await citizen.press(f"rate:{d.code}:5", containing("Cảm ơn anh/chị đã đánh giá"))
            assert "★★★★★" in thanks.text
            again = await citizen.press(f"rate:{d.code}:4")
            assert "đã đánh giá hồ sơ này rồi" in again.text
            await _settled(api)
            final = await Dossier.get()
            assert final.status == Status.RETURNED and final.rating == 5
            assert not await OutboxMessage.exclude(status="sent").exists()

        texts = api.texts_to(CITIZEN)
        for notice in ("đã được tiếp nhận", "đã có kết quả", "đã trả kết quả"):
            assert sum(notice in t for t in texts) == 1, notice
        assert sum(m.method == "sendDocument" for m in api.sent_to(CITIZEN)) == 1  # the receipt


async def _settled(api: FakeBotApi, quiet: float = 0.3) -> None:
    """Wait until the bot has sent nothing for ``quiet`` seconds."""
    count = -1
    while count != len(api.sent):
        count = len(api.sent)
        await asyncio.sleep(quiet)
