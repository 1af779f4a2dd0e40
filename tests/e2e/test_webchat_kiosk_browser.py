"""The kiosk page in headless Chromium: after "Kết thúc phiên", and after the idle reset, the
page shows and holds nothing of the previous person."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Page, async_playwright

from backend.db.models import WebchatSession
from backend.domain.calendar import VN_TZ
from backend.settings import Settings, WebchatSettings
from backend.web.app import create_app
from tests.e2e.test_console_browser import CHROMIUM_ARGS, RunningClock, chromium  # noqa: F401

pytestmark = pytest.mark.browser
SECRET = "Nguyễn Văn An 072090001234"


async def fresh_menu(page: Page) -> None:
    """The new session's welcome is shown, and only it."""
    await page.wait_for_selector(".msg.bot")
    await page.wait_for_timeout(300)
    assert SECRET not in await page.inner_text("body")
    assert await page.evaluate("sessionStorage.length + document.querySelectorAll('.msg.me').length") == 0


async def test_kiosk_page_forgets_the_previous_person(chromium: str, fresh_db_url: str, tmp_path: Path) -> None:  # noqa: F811
    settings = Settings(database_url=fresh_db_url, data_dir=tmp_path / "var", ocr_workers=0, seed_demo=True,
                        webchat=WebchatSettings(kiosk_idle_seconds=4))
    app = create_app(settings, clock=RunningClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ)))
    async with TestClient(TestServer(app)) as client, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(str(client.make_url("/chat/kiosk")))
            await page.wait_for_selector(".msg.bot")
            assert await page.is_visible("#end") and await page.is_visible("#kiosk-note")
            await page.fill("#text", SECRET)
            await page.press("#text", "Enter")
            await page.locator(".msg.bot").nth(1).wait_for()  # the page's CSP forbids wait_for_function's eval
            assert SECRET in await page.inner_text("#log")
            async with page.expect_navigation():
                await page.click("#end")
            await fresh_menu(page)
            assert await WebchatSession.filter(ended_at__not_isnull=True).count() == 1

            # The idle reset: nobody touches the page for longer than kiosk_idle_seconds.
            await page.fill("#text", SECRET)
            await page.press("#text", "Enter")
            await page.get_by_text(SECRET).first.wait_for()
            async with page.expect_navigation(timeout=10_000):
                pass
            await fresh_menu(page)
            assert await WebchatSession.filter(ended_at__not_isnull=True).count() == 2
        finally:
            await browser.close()
