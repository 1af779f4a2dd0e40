"""The console end to end in headless Chromium (Playwright): each officer logs in, changes the
demo password, and does their step — accept, assign, appraise, approve, sign, forward, stamp,
return — on the real app, with Telegram served by FakeBotApi. The citizen's chat gets each
notice; each officer's linked chat gets each task (the one-stop officer links it with the
code the console shows). Screenshots of a queue and a dossier page go to /tmp.
"""

from __future__ import annotations

import asyncio
import io
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image as PImage
from PIL import ImageDraw
from playwright.async_api import Browser, Page, async_playwright

from backend.db.models import Agency, Dossier, Officer
from backend.domain.calendar import VN_TZ
from backend.domain.workflow import Status
from backend.services import citizens
from backend.services import dossiers as uc
from backend.services.officers import actor_of, link_chat, new_link_code
from backend.settings import Settings, TelegramSettings
from backend.web.app import RUNTIME, create_app
from tests.fakes.telegram_bot_api import FakeBotApi, SentMessage
from tests.integration.conftest import BIRTH_FORM
from tests.steps import confirm_chat_links

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path("/tmp")
CITIZEN = 7101
CHATS = {  # officer → their Telegram chat
    "hoathanh.motcua": 9101,
    "hoathanh.truongphong": 9102,
    "hoathanh.chuyenvien": 9103,
    "hoathanh.lanhdao": 9104,
    "hoathanh.vanthu": 9105,
}
NEW_PASSWORD = "Mot-cua-2026!"


class RunningClock:
    """Real time from a Monday 14:00 in Tây Ninh: today's appointments are due within hours."""

    def __init__(self, start: datetime) -> None:
        self.start, self.t0 = start, time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.t0)


def paper_photo(title: str, seed: int) -> bytes:
    img = PImage.new("RGB", (640, 420), (246, 243, 235))
    draw = ImageDraw.Draw(img)
    draw.rectangle((16, 16, 624, 404), outline=(90, 90, 120), width=3)
    draw.text((40, 36), title, fill=(20, 20, 60))
    for i in range(9):
        y = 90 + i * 32
        draw.line((40, y, 600 - 40 * ((i + seed) % 4), y), fill=(120, 120, 140), width=2)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


async def submit(ctx, user: str) -> Dossier:  # noqa: ANN001
    """The citizen's submission, through the service layer, with two photos OCR read."""
    ident = await citizens.identify(ctx, "telegram", user, "An Nguyễn")
    ids = []
    for i, (comp, ocr) in enumerate(
        [
            ("birth_certificate", {"doc_type": "birth_certificate",
                                   "fields": {"mother_name": "Trần Thị Bích", "child_sex": "Nữ",
                                              "child_birth_datetime": "2026-11-05T08:30"},
                                   "confidence": {"mother_name": 0.94, "child_sex": 0.99,
                                                  "child_birth_datetime": 0.58}}),
            ("declarant_id", {"doc_type": "id_card",
                              "fields": {"id_number": "072090001234", "full_name": "Nguyễn Văn An"},
                              "confidence": {"id_number": 0.99, "full_name": 0.91}}),
        ]
    ):  # fmt: skip
        att = await citizens.store_attachment(
            ctx, citizen_id=ident.citizen_id, data=paper_photo(comp.upper(), i + len(user)),  # type: ignore[attr-defined]
            mime_type="image/jpeg", component=comp, ocr=ocr,
        )  # fmt: skip
        ids.append(att.id)
    agency = await Agency.get(code="000.31.57.H57")
    return await uc.submit(
        ctx, identity_id=ident.id, procedure_slug="birth_registration", agency_id=agency.id,
        form_data=dict(BIRTH_FORM), attachment_ids=ids,
    )  # fmt: skip


async def log_in(browser: Browser, base: str, username: str) -> Page:
    """A fresh browser context (its own cookies): log in and change the demo password."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = await context.new_page()
    await page.goto(f"{base}/console/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", "motcua-demo")
    await page.click("button.primary")
    await page.wait_for_url("**/console/password")
    assert "lần đăng nhập đầu tiên" in await page.inner_text("main")
    await page.fill("input[name=current]", "motcua-demo")
    await page.fill("input[name=new]", NEW_PASSWORD)
    await page.fill("input[name=again]", NEW_PASSWORD)
    await page.click("button.primary")
    await page.wait_for_url("**/console?msg=password")
    return page


async def do(page: Page, base: str, d: Dossier, action: str, *, fill: dict[str, str] | None = None) -> None:
    """From the queue: open the dossier, take the action, see it done."""
    await page.goto(f"{base}/console")
    await page.click(f"a:text('{d.code}')")
    await page.wait_for_url(f"**/console/dossiers/{d.id}")
    form = page.locator(f"form[data-action={action}]")
    for selector, value in (fill or {}).items():
        if selector.startswith("select"):
            await form.locator(selector).select_option(label=value)
        else:
            await form.locator(selector).fill(value)
    await form.locator("button").click()
    await page.wait_for_url(f"**/console/dossiers/{d.id}?done={action}")
    assert "Đã thực hiện" in await page.inner_text("p.ok")


def text_of(m: SentMessage) -> str:
    return m.text or m.caption or ""


@pytest.fixture
def chromium() -> str:
    """Debian's chromium; missing means the setup is broken, so fail rather than skip."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: ./dev installs Debian's chromium")
    return CHROMIUM


async def test_console_in_chromium(chromium: str, fresh_db_url: str, tmp_path: Path) -> None:
    clock = RunningClock(datetime(2026, 11, 23, 14, 0, tzinfo=VN_TZ))
    async with FakeBotApi() as api:
        settings = Settings(
            seed_demo=True, database_url=fresh_db_url, data_dir=tmp_path / "var", ocr_workers=0,
            telegram=TelegramSettings(token=api.token, api_base_url=f"{api.url}/bot",
                                      file_base_url=f"{api.url}/file/bot", mode="polling"),
        )  # fmt: skip
        app = create_app(settings, clock=clock)
        app[RUNTIME].extras["telegram_options"] = {"per_chat_rate": 0, "poll_timeout": 1.0}
        async with TestClient(TestServer(app)) as client, async_playwright() as pw:
            base = str(client.make_url("")).rstrip("/")
            rt = app[RUNTIME]
            ctx = rt.ctx
            officers = {o.username: o for o in await Officer.all()}
            browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                # The one-stop officer links her chat with the code the console shows.
                desk = await log_in(browser, base, "hoathanh.motcua")
                await desk.goto(f"{base}/console/account")
                await desk.click("form[action='/console/account/link-code'] button")
                code = (await desk.inner_text("#link-code")).strip()
                waiter = asyncio.ensure_future(api.wait_for(chat_id=CHATS["hoathanh.motcua"], timeout=10))
                await asyncio.sleep(0)
                api.push_text(CHATS["hoathanh.motcua"], f"/lienket {code}")
                assert "Trần Thị Mai" in text_of(await waiter)
                for username, chat in CHATS.items():  # the others linked through the service
                    if username != "hoathanh.motcua":
                        await link_chat(ctx, await new_link_code(ctx, officers[username].id), "telegram", str(chat))
                for o in officers.values():
                    await confirm_chat_links(ctx, o.id)

                d = await submit(ctx, str(CITIZEN))
                # Another dossier, long overdue, to see the queue's highlighting.
                late = await submit(ctx, "7199")
                await uc.accept(ctx, actor_of(officers["hoathanh.motcua"]), late.id)
                await Dossier.filter(id=late.id).update(appointment_at=clock.now() - timedelta(days=3))
                rt.changed()

                await desk.goto(f"{base}/console/dossiers/{d.id}")
                await desk.wait_for_selector("img[alt='Giấy chứng sinh']")
                await images_loaded(desk)
                await desk.screenshot(path=str(SHOTS / "console-dossier.png"), full_page=True)
                await do(desk, base, d, "accept")

                head = await log_in(browser, base, "hoathanh.truongphong")
                await head.goto(f"{base}/console")
                await head.screenshot(path=str(SHOTS / "console-queue.png"), full_page=True)
                assert await head.locator("tr.late").count() == 1 and await head.locator("tr.soon").count() == 1
                await head.set_viewport_size({"width": 390, "height": 844})
                await head.screenshot(path=str(SHOTS / "console-queue-phone.png"), full_page=True)
                await head.set_viewport_size({"width": 1280, "height": 900})
                await do(head, base, d, "assign", fill={"select[name=specialist]": "Phạm Ngọc Ánh"})

                specialist = await log_in(browser, base, "hoathanh.chuyenvien")
                await do(specialist, base, d, "draft_result", fill={"textarea[name=text]": "Đủ điều kiện."})
                await do(head, base, d, "approve")
                chief = await log_in(browser, base, "hoathanh.lanhdao")
                await do(chief, base, d, "sign")
                await do(specialist, base, d, "forward_result")
                clerk = await log_in(browser, base, "hoathanh.vanthu")
                await do(clerk, base, d, "stamp")
                await do(desk, base, d, "return_result")
                assert await desk.inner_text("#status") == "Đã trả kết quả"
                history = await desk.inner_text("ol.history")
                for who in ("Trần Thị Mai", "Lê Văn Hùng", "Phạm Ngọc Ánh", "Nguyễn Văn Phúc", "Bùi Thị Lan"):
                    assert who in history
                await desk.screenshot(path=str(SHOTS / "console-dossier-returned.png"), full_page=True)
                await desk.goto(f"{base}/console/reports")
                assert "Đăng ký khai sinh" in await desk.inner_text("#summary")
                await desk.screenshot(path=str(SHOTS / "console-reports.png"), full_page=True)
                # A stranger scanning the receipt's QR: status, no personal data.
                stranger = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
                await stranger.goto(f"{base}/tra-cuu?ma={d.code}")
                shown = await stranger.inner_text("main")
                assert "Đã trả kết quả" in shown and "Nguyễn V. A." in shown
                assert "Nguyễn Văn An" not in shown and "072090001234" not in shown
                await stranger.screenshot(path=str(SHOTS / "lookup-phone.png"), full_page=True)
            finally:
                await browser.close()

            assert (await Dossier.get(id=d.id)).status == Status.RETURNED
            # The citizen's chat: accepted (with the receipt), result ready, returned.
            for notice in ("đã được tiếp nhận", "đã có kết quả", "đã trả kết quả"):
                await api.wait_for(lambda m, n=notice: d.code in text_of(m) and n in text_of(m), chat_id=CITIZEN)
            receipt = await api.wait_for(lambda m: m.method == "sendDocument", chat_id=CITIZEN)
            assert receipt.document and receipt.document.startswith(b"%PDF")
            # Each officer's chat: each task as it reached them.
            tasks = [
                ("hoathanh.motcua", "Hồ sơ mới cần kiểm tra"),
                ("hoathanh.truongphong", "Hồ sơ chờ phân công"),
                ("hoathanh.chuyenvien", "Hồ sơ được giao thẩm định"),
                ("hoathanh.truongphong", "Hồ sơ chờ xét duyệt"),
                ("hoathanh.lanhdao", "Hồ sơ chờ ký duyệt"),
                ("hoathanh.chuyenvien", "Hồ sơ đã ký, cần chuyển văn thư"),
                ("hoathanh.vanthu", "Hồ sơ chờ đóng dấu"),
                ("hoathanh.motcua", "Hồ sơ chờ trả kết quả cho công dân"),
            ]
            for username, title in tasks:
                await api.wait_for(
                    lambda m, t=title: t in text_of(m) and d.code in text_of(m), chat_id=CHATS[username], timeout=10
                )
            assert not any(d.code in t for t in api.texts_to(CHATS["hoathanh.vanthu"]) if "thẩm định" in t)


async def images_loaded(page, seconds: float = 10.0) -> None:  # noqa: ANN001
    """Poll from Python: the console's CSP forbids eval, which wait_for_function needs to poll."""
    script = "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
    for _ in range(int(seconds / 0.1)):
        if await page.evaluate(script):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the dossier page's photos did not load")
