"""Both of PTB's transports we can run on — our aiohttp one (the default) and PTB's httpx one
(``TELEGRAM_HTTP=httpx``) — carry every call the adapter makes, against the local Bot API."""

from __future__ import annotations

import asyncio
import io

import pytest
from aiohttp import web
from PIL import Image as PImage
from telegram.error import TimedOut

from backend.domain.messages import Attachment, Button, DeliveryError, Document, Image, Text
from backend.settings import TelegramSettings
from bot.channels import telegram_http
from bot.channels.telegram import TelegramChannel, _delivery_error
from tests.fakes.serving import serve
from tests.fakes.telegram_bot_api import FakeBotApi

CHAT = 7600


def png() -> bytes:
    buf = io.BytesIO()
    PImage.new("RGB", (64, 48), (200, 30, 35)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("http", ["aiohttp", "httpx"])
async def test_every_call_goes_through(http: str) -> None:
    async with FakeBotApi() as api:
        settings = TelegramSettings(token=api.token, api_base_url=f"{api.url}/bot",
                                    file_base_url=f"{api.url}/file/bot", mode="webhook",
                                    webhook_secret="s", http=http)

        async def ignore(_inbound: object) -> None:
            return None

        channel = TelegramChannel(settings, ignore, per_chat_rate=0)
        await channel.start()  # getMe and setWebhook
        try:
            image, pdf = png(), b"%PDF-1.4 test document"
            await channel.send(str(CHAT), Text("Chào bạn – tiếng Việt có dấu", ((Button("Tra cứu", "menu:lookup"),),)))
            await channel.send(str(CHAT), Image(image, "qr.png", caption="Mã hồ sơ"))
            await channel.send(str(CHAT), Document(pdf, "giay-hen.pdf", caption="Giấy hẹn"))
            text, photo, document = api.sent_to(CHAT)
            assert text.text == "Chào bạn – tiếng Việt có dấu" and text.button_data == ["menu:lookup"]
            assert photo.photo == image and photo.caption == "Mã hồ sơ"
            assert (document.document, document.file_name, document.caption) == (pdf, "giay-hen.pdf", "Giấy hẹn")

            file_id = api.add_file(image, "image/png", "anh.png")
            assert await channel.fetch(Attachment(kind="photo", ref=file_id)) == image

            api.fail_next("sendMessage", status=429, retry_after=3)
            with pytest.raises(DeliveryError) as err:
                await channel.send(str(CHAT), Text("x"))
            assert err.value.retryable and err.value.retry_after == 3
            api.block(CHAT)
            with pytest.raises(DeliveryError) as err:
                await channel.send(str(CHAT), Text("x"))
            assert not err.value.retryable
        finally:
            await channel.stop()


async def test_a_server_that_does_not_answer_is_a_retryable_timeout() -> None:
    """The aiohttp transport's read timeout becomes PTB's TimedOut, then a retryable DeliveryError."""
    release = asyncio.Event()

    async def stall(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", stall)
    runner, _port, url = await serve(app, "127.0.0.1", 0)
    request = telegram_http.AiohttpRequest(pool_size=2, read_timeout=0.3)
    await request.initialize()
    try:
        with pytest.raises(TimedOut) as err:
            await request.post(f"{url}/botTOKEN/sendMessage")
        assert _delivery_error(err.value).retryable
    finally:
        release.set()
        await request.shutdown()
        await runner.cleanup()


def test_proxy_comes_from_the_environment_and_no_proxy_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.tinh.local:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    telegram_http._origin_proxy.cache_clear()
    try:
        assert telegram_http._proxy_for("https://api.telegram.org/bot1:x/getMe") == "http://proxy.tinh.local:3128"
        assert telegram_http._proxy_for("http://127.0.0.1:8081/bot1:x/getMe") is None
    finally:
        telegram_http._origin_proxy.cache_clear()
