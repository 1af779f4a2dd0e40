"""The real python-telegram-bot v22 against FakeBotApi: polling, buttons, files, flood control."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession, web
from PIL import Image
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram_bot_api import FakeBotApi

CHAT = 4242


def _png(size: tuple[int, int] = (320, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(f"Bạn vừa gõ: {update.message.text}")


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Khai sinh", callback_data="proc:birth"),
                InlineKeyboardButton("Khai tử", callback_data="proc:death"),
            ]
        ]
    )
    await update.message.reply_text("Chọn thủ tục:", reply_markup=keyboard)


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    await query.edit_message_text(f"Đã chọn {query.data}")


async def _photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    photo = update.message.photo[-1]
    tg_file = await context.bot.get_file(photo.file_id)
    data = await tg_file.download_as_bytearray()
    await update.message.reply_text(f"ảnh {photo.width}x{photo.height}, {len(data)} byte")
    await update.message.reply_document(bytes(data), filename="lai.png")


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def app(api: FakeBotApi) -> AsyncIterator[Application]:
    application = (
        ApplicationBuilder().token(api.token).base_url(f"{api.url}/bot").base_file_url(f"{api.url}/file/bot").build()
    )
    application.add_handler(CommandHandler("start", _start))
    application.add_handler(CallbackQueryHandler(_pressed))
    application.add_handler(MessageHandler(filters.PHOTO, _photo))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    await application.initialize()
    await application.start()
    await application.updater.start_polling(timeout=2, poll_interval=0)
    yield application
    await application.updater.stop()
    await application.stop()
    await application.shutdown()


async def test_echo_over_long_polling(api: FakeBotApi, app: Application) -> None:
    api.push_text(CHAT, "xin chào")
    reply = await api.wait_for(lambda m: m.method == "sendMessage", chat_id=CHAT)
    assert reply.text == "Bạn vừa gõ: xin chào"
    assert api.calls["getMe"] == 1 and api.calls["deleteWebhook"] == 1

    api.push_text(CHAT, "lần hai")
    second = await api.wait_for(lambda m: m.text == "Bạn vừa gõ: lần hai", chat_id=CHAT)
    assert second.message_id > reply.message_id
    assert api.texts_to(CHAT) == ["Bạn vừa gõ: xin chào", "Bạn vừa gõ: lần hai"]


async def test_command_buttons_and_callback(api: FakeBotApi, app: Application) -> None:
    api.push_text(CHAT, "/start")
    menu = await api.wait_for(lambda m: m.text == "Chọn thủ tục:", chat_id=CHAT)
    assert menu.button_data == ["proc:birth", "proc:death"]

    api.push_callback(CHAT, "proc:death", menu.message_id)
    edit = await api.wait_for(lambda m: m.method == "editMessageText", chat_id=CHAT)
    assert edit.text == "Đã chọn proc:death" and edit.message_id == menu.message_id
    assert edit.reply_markup is None
    assert api.calls["answerCallbackQuery"] == 1


async def test_photo_is_downloaded_through_get_file(api: FakeBotApi, app: Application) -> None:
    png = _png()
    file_id = api.add_file(png, "image/png")
    api.push_photo(CHAT, file_id, caption="giấy tờ")
    reply = await api.wait_for(lambda m: m.method == "sendMessage", chat_id=CHAT)
    assert reply.text == f"ảnh 320x200, {len(png)} byte"
    document = await api.wait_for(lambda m: m.method == "sendDocument", chat_id=CHAT)
    assert document.document == png and document.file_name == "lai.png"


async def test_updates_are_not_delivered_twice(api: FakeBotApi, app: Application) -> None:
    for i in range(5):
        api.push_text(CHAT, f"tin {i}")
    await api.wait_for(lambda m: m.text == "Bạn vừa gõ: tin 4", chat_id=CHAT)
    await asyncio.sleep(0.1)
    assert api.texts_to(CHAT) == [f"Bạn vừa gõ: tin {i}" for i in range(5)]


async def test_flood_control_surfaces_as_retry_after(api: FakeBotApi) -> None:
    api.fail_next("sendMessage", status=429, retry_after=7)
    async with ApplicationBuilder().token(api.token).base_url(f"{api.url}/bot").build().bot as bot:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(CHAT, "quá nhanh")
        assert caught.value.retry_after == dt.timedelta(seconds=7)
        assert api.sent == []
        message = await bot.send_message(CHAT, "lần sau được")  # the fault was for one call only
        assert message.text == "lần sau được" and message.chat.id == CHAT
        assert api.calls["sendMessage"] == 2


async def test_server_errors_and_blocked_users(api: FakeBotApi) -> None:
    api.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    async with ApplicationBuilder().token(api.token).base_url(f"{api.url}/bot").build().bot as bot:
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(CHAT, "a")
        api.block(CHAT)
        with pytest.raises(Forbidden):
            await bot.send_message(CHAT, "b")
        with pytest.raises(BadRequest):  # unknown methods answer 400, never 401/404
            await bot.do_api_request("noSuchMethod")


async def test_send_photo_and_document_directly(api: FakeBotApi) -> None:
    png, pdf = _png((2000, 1000)), b"%PDF-1.4 fake"
    async with ApplicationBuilder().token(api.token).base_url(f"{api.url}/bot").build().bot as bot:
        photo_msg = await bot.send_photo(CHAT, png, caption="Biên nhận")
        doc_msg = await bot.send_document(CHAT, pdf, filename="bien-nhan.pdf", caption="Giấy hẹn")
        await bot.send_photo(CHAT, photo_msg.photo[-1].file_id)  # resend by file_id
    assert photo_msg.photo[-1].width == 2000 and photo_msg.caption == "Biên nhận"
    assert doc_msg.document.file_name == "bien-nhan.pdf"
    photo, doc, resent = api.sent_to(CHAT)
    assert photo.photo == png and photo.caption == "Biên nhận"
    assert doc.document == pdf and doc.mime_type == "application/pdf" and doc.caption == "Giấy hẹn"
    assert resent.photo == png
    assert [m.message_id for m in (photo, doc, resent)] == [1, 2, 3]


async def test_webhook_info_and_update_for_webhook(api: FakeBotApi) -> None:
    async with ApplicationBuilder().token(api.token).base_url(f"{api.url}/bot").build().bot as bot:
        await bot.set_webhook("https://motcua.example/tg", secret_token="s3cret")
        info = await bot.get_webhook_info()
        assert info.url == "https://motcua.example/tg"
        update = api.push_text(CHAT, "qua webhook")
        assert Update.de_json(update, bot).message.text == "qua webhook"
        await bot.delete_webhook()
        assert (await bot.get_updates(timeout=0))[0].update_id == update["update_id"]


async def test_webhook_mode_inside_our_own_aiohttp_app(api: FakeBotApi) -> None:
    """PTB without its updater; our aiohttp view checks the secret header and feeds update_queue."""
    application = ApplicationBuilder().token(api.token).base_url(f"{api.url}/bot").updater(None).build()
    application.add_handler(MessageHandler(filters.TEXT, _echo))

    async def view(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != "s3cret":
            return web.Response(status=403)
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return web.Response()

    web_app = web.Application()
    web_app.router.add_post("/tg", view)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/tg"
    async with application:
        await application.start()
        await application.bot.set_webhook(hook, secret_token="s3cret")
        assert await api.deliver(api.push_text(CHAT, "qua webhook")) == 200
        reply = await api.wait_for(lambda m: m.method == "sendMessage", chat_id=CHAT)
        assert reply.text == "Bạn vừa gõ: qua webhook"
        async with ClientSession() as session:  # a caller without the secret is refused
            async with session.post(hook, json=api.push_text(CHAT, "giả")) as resp:
                assert resp.status == 403
        await application.stop()
    await runner.cleanup()
