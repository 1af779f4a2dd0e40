"""One citizen walks a whole birth registration on Zalo: signed webhooks into our app, our
Zalo OA client against a local server that speaks the OA API, an officer acting through the
service layer. Each status message reaches the citizen once, also across a restart; the
token pair rotates and is persisted; forged webhooks are refused; an unreachable citizen's
notice is held, not retried in a loop, and delivered when they write again."""

from __future__ import annotations

import asyncio
import io
import itertools
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from PIL import Image as PImage

from backend.db.models import Dossier, KeyValue, Officer, OutboxMessage
from backend.domain.calendar import VN_TZ
from backend.domain.workflow import Status
from backend.services import dossiers as uc
from backend.services.officers import actor_of
from backend.settings import Settings, ZaloSettings
from backend.web.app import RUNTIME, create_app
from tests.e2e.test_telegram_citizen import BIRTH_ANSWERS, RunningClock
from tests.fakes.zalo_oa_api import FakeZaloOa, ZaloSent, image_attachment
from tests.steps import process_to_result

CITIZEN = "8400001"
_ids = itertools.count(1)


def jpeg(seed: int) -> bytes:
    buf = io.BytesIO()
    PImage.new("RGB", (640, 480), (30 * seed % 255, 90, 160)).save(buf, "JPEG")
    return buf.getvalue()


def zalo_app(oa: FakeZaloOa, db_url: str, data_dir: Path, clock: RunningClock):  # noqa: ANN201
    access, refresh = oa.pair
    settings = Settings(
        seed_demo=True, database_url=db_url, data_dir=data_dir, ocr_workers=0,
        zalo=ZaloSettings(app_id=oa.app_id, app_secret=oa.app_secret, oa_secret_key=oa.oa_secret_key,
                          refresh_token=refresh, access_token=access, api_base=oa.url, oauth_base=oa.url),
    )
    return create_app(settings, clock=clock)


class ZaloUser:
    """A Zalo user writing to the OA: each action is a signed webhook call to our app."""

    def __init__(self, oa: FakeZaloOa, url: str, user_id: str) -> None:
        self.oa, self.url, self.user_id = oa, url, user_id

    async def _call(self, event: str, match: Callable[[ZaloSent], bool] | None, **kw: object) -> ZaloSent:
        waiter = asyncio.ensure_future(self.oa.wait_for(match, timeout=10, user_id=self.user_id, new_only=True))
        await asyncio.sleep(0)
        raw, headers = self.oa.make_webhook(event, self.user_id, msg_id=f"m{next(_ids)}", **kw)  # type: ignore[arg-type]
        assert await self.oa.deliver(self.url, raw, headers) == 200
        return await waiter

    async def say(self, text: str, match: Callable[[ZaloSent], bool] | None = None) -> ZaloSent:
        return await self._call("user_send_text", match, text=text)

    async def photo(self, data: bytes, match: Callable[[ZaloSent], bool] | None = None) -> ZaloSent:
        url = self.oa.add_attachment(data, "image/jpeg", "photo.jpg")
        return await self._call("user_send_image", match, attachments=[image_attachment(url)])


def containing(fragment: str) -> Callable[[ZaloSent], bool]:
    return lambda m: fragment in (m.text or "")


async def settled(oa: FakeZaloOa, quiet: float = 0.3) -> None:
    count = -1
    while count != len(oa.sent):
        count = len(oa.sent)
        await asyncio.sleep(quiet)


async def test_birth_registration_on_zalo(fresh_db_url: str, tmp_path: Path) -> None:
    clock = RunningClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))
    async with FakeZaloOa() as oa:
        app = zalo_app(oa, fresh_db_url, tmp_path / "var", clock)
        async with TestClient(TestServer(app)) as client:
            url = str(client.make_url("/zalo/webhook"))
            rt = app[RUNTIME]
            ctx = rt.ctx
            citizen = ZaloUser(oa, url, CITIZEN)

            # A forged call is refused and starts nothing.
            raw, headers = oa.make_webhook("user_send_text", CITIZEN, text="xin chào", msg_id="forged", forged=True)
            assert await oa.deliver(url, raw, headers) == 401
            raw, _ = oa.make_webhook("user_send_text", CITIZEN, text="xin chào", msg_id="unsigned")
            assert await oa.deliver(url, raw, {"Content-Type": "application/json"}) == 401

            menu = await citizen.say("Xin chào")
            assert "Gõ 1 = " in (menu.text or "")  # the numbered menu works without buttons
            pick = await citizen.say("menu:submit")  # what oa.query.show echoes back
            assert "Đăng ký khai sinh" in (pick.text or "")
            number = re.search(r"(\d+) = [^,]*Đăng ký khai sinh", pick.text or "").group(1)  # type: ignore[union-attr]
            await citizen.say(number, containing("Giấy tờ 1/3"))  # picked by its menu number
            got = await citizen.photo(jpeg(1))
            assert "Đã nhận ảnh Giấy chứng sinh" in (got.text or "")
            assert "Giấy tờ 2/3" in ((await citizen.say("doc:next")).text or "")
            await citizen.photo(jpeg(2))
            await citizen.say("doc:next")
            await citizen.say("doc:skip")
            for answer in BIRTH_ANSWERS:
                await citizen.say(answer)
            review = await citizen.say("ans:father_residence:skip")
            assert "Nguyễn Ngọc Diệp" in (review.text or "")
            qr = await citizen.say("sub:confirm", lambda m: m.image is not None)
            assert qr.image is not None
            d = await Dossier.get()
            assert d.form_data["mother_birth_year"] == 1994 and len(await d.attachments.all()) == 2

            # Officers act; the citizen hears of each citizen-visible change.
            officers = {o.username: actor_of(o) for o in await Officer.all()}
            a = {k.split(".")[1]: v for k, v in officers.items() if k.startswith("hoathanh.")}
            await uc.accept(ctx, a["motcua"], d.id)
            rt.changed()
            await oa.wait_for(containing("đã được tiếp nhận"), user_id=CITIZEN)
            await oa.wait_for(lambda m: m.file is not None, user_id=CITIZEN)  # the receipt PDF

            # The access token expires: one refresh, the new pair persisted, the send retried.
            oa.expire_access_token()
            await process_to_result(ctx, d.id)
            rt.changed()
            await oa.wait_for(containing("đã có kết quả"), user_id=CITIZEN)
            assert oa.refresh_count == 1
            stored = await KeyValue.get(key="zalo.token_pair")
            assert (stored.value["access_token"], stored.value["refresh_token"]) == oa.pair

            # Outside the reply window: held with its reason, no retry loop.
            oa.outside_window(CITIZEN)
            await uc.return_result(ctx, a["motcua"], d.id)
            rt.changed()
            await settled(oa)
            await rt.dispatcher.run_once()
            held = await OutboxMessage.get(kind="returned")
            assert held.status == "held" and "-230" in held.last_error
            calls = oa.calls["/v3.0/oa/message/cs"]
            await rt.dispatcher.run_once()
            assert oa.calls["/v3.0/oa/message/cs"] == calls
            await settled(oa)

        # Restart; the citizen writes again: the held notice goes out, once; nothing else resent.
        before = len(oa.sent_to(CITIZEN))
        oa.reachable(CITIZEN)
        app2 = zalo_app(oa, fresh_db_url, tmp_path / "var", clock)
        async with TestClient(TestServer(app2)) as client2:
            citizen.url = str(client2.make_url("/zalo/webhook"))
            done = await citizen.say("còn hồ sơ của tôi?", containing("đã trả kết quả"))
            assert done.text is not None
            await settled(oa)
            assert oa.refresh_count == 1  # the persisted pair was reused, not refreshed again
            rated = await citizen.say(f"rate:{d.code}:5", containing("Cảm ơn anh/chị đã đánh giá"))
            assert rated.text is not None
            await settled(oa)
            final = await Dossier.get()
            assert final.status == Status.RETURNED and final.rating == 5
            assert not await OutboxMessage.exclude(status="sent").exists()

    texts = [m.text or "" for m in oa.sent_to(CITIZEN)]
    for notice in ("đã được tiếp nhận", "đã có kết quả", "đã trả kết quả"):
        assert sum(notice in t for t in texts) == 1, notice
    assert sum(m.file is not None for m in oa.sent_to(CITIZEN)) == 1
    assert len(oa.sent_to(CITIZEN)) > before


async def test_repeated_webhook_is_handled_once(fresh_db_url: str, tmp_path: Path) -> None:
    clock = RunningClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))
    async with FakeZaloOa() as oa:
        app = zalo_app(oa, fresh_db_url, tmp_path / "var", clock)
        async with TestClient(TestServer(app)) as client:
            url = str(client.make_url("/zalo/webhook"))
            raw, headers = oa.make_webhook("user_send_text", CITIZEN, text="Xin chào", msg_id="same-id")
            assert await oa.deliver(url, raw, headers) == 200
            await oa.wait_for(None, user_id=CITIZEN)
            await settled(oa)
            first = len(oa.sent_to(CITIZEN))
            assert await oa.deliver(url, raw, headers) == 200  # Zalo retries the same event
            echo, h2 = oa.make_webhook("oa_send_text", CITIZEN, text="echo", msg_id="echo-1")
            assert await oa.deliver(url, echo, h2) == 200  # our own echo: ignored
            await settled(oa)
            assert len(oa.sent_to(CITIZEN)) == first
