"""ZaloOaClient against FakeZaloOa: sending, uploads, token refresh, error mapping."""

from __future__ import annotations

import asyncio
import io
import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from PIL import Image

from backend.domain.messages import Button
from bot.channels.zalo_client import (
    FileTokenStore,
    MemoryTokenStore,
    TokenPair,
    ZaloError,
    ZaloOaClient,
    ZaloRateLimited,
    ZaloTokenError,
    ZaloTransportError,
    ZaloUnreachableUser,
    menu_choice,
    split_text,
)
from bot.channels.zalo_webhook import parse_event, verify_signature
from tests.fakes.zalo_oa_api import FakeZaloOa

USER = "2468013579246801357"


@pytest.fixture
async def oa() -> AsyncIterator[FakeZaloOa]:
    async with FakeZaloOa() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def _client(oa: FakeZaloOa, session: aiohttp.ClientSession, store: object | None = None, **kw: object) -> ZaloOaClient:
    store = store or MemoryTokenStore(TokenPair(*oa.pair))
    kw.setdefault("rate_limit_backoff", 0.01)
    return ZaloOaClient(
        session,
        app_id=oa.app_id,
        app_secret=oa.app_secret,
        api_base=oa.url,
        oauth_base=oa.url,
        token_store=store,
        **kw,  # type: ignore[arg-type]
    )


def _noisy_jpeg(size: tuple[int, int]) -> bytes:
    """A JPEG that stays big: random pixels do not compress."""
    rnd = random.Random(7)
    img = Image.frombytes("RGB", size, rnd.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=98)
    return out.getvalue()


async def test_send_text_with_buttons_and_menu_fallback(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    client = _client(oa, session)
    buttons = (
        (Button("Khai sinh", "proc:birth"), Button("Khai tử", "proc:death")),
        (Button("Tra cứu trực tuyến", "x", url="https://motcua.example/tra-cuu"),),
    )
    [message_id] = await client.send_text(USER, "Chọn thủ tục:", buttons)
    sent = oa.sent_to(USER)[0]
    assert sent.message_id == message_id
    assert sent.text == (
        "Chọn thủ tục:\n\nGõ 1 = Khai sinh, 2 = Khai tử\nTra cứu trực tuyến: https://motcua.example/tra-cuu"
    )
    assert [(b["type"], b["payload"]) for b in sent.buttons] == [
        ("oa.query.show", "proc:birth"),
        ("oa.query.show", "proc:death"),
        ("oa.open.url", {"url": "https://motcua.example/tra-cuu"}),
    ]
    assert menu_choice("2", [b for row in buttons for b in row]).data == "proc:death"


async def test_buttons_can_be_turned_off_or_reshaped(session: aiohttp.ClientSession) -> None:
    async with FakeZaloOa(button_payload="object") as oa:
        plain = _client(oa, session, buttons_enabled=False)
        await plain.send_text(USER, "Bạn cần gì?", [Button("Nộp hồ sơ", "menu:submit")])
        assert oa.sent[-1].buttons == [] and oa.sent[-1].text.endswith("Gõ 1 = Nộp hồ sơ")
        shaped = _client(oa, session, button_payload=lambda b: {"content": b.data}, button_template_type="button")
        await shaped.send_text(USER, "Bạn cần gì?", [Button("Nộp hồ sơ", "menu:submit")])
        assert oa.sent[-1].button_payloads == [{"content": "menu:submit"}]
        assert oa.sent[-1].raw["attachment"]["payload"]["template_type"] == "button"


async def test_long_text_is_split_under_2000(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    paragraph = "Hồ sơ đăng ký khai sinh gồm tờ khai và giấy chứng sinh. " * 20
    text = "\n\n".join([paragraph.strip()] * 4)
    ids = await _client(oa, session).send_text(USER, text, [Button("Đồng ý", "ok")])
    sent = oa.sent_to(USER)
    assert len(ids) == len(sent) >= 3
    assert all(len(m.text) <= 2000 for m in sent)
    assert [bool(m.buttons) for m in sent] == [False] * (len(sent) - 1) + [True]
    assert (
        "".join(m.text for m in sent)
        .replace("\n", "")
        .replace(" ", "")
        .startswith(text.replace("\n", "").replace(" ", ""))
    )
    for piece in split_text("a" * 4500):
        assert len(piece) <= 2000


async def test_send_image_and_file(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    client = _client(oa, session)
    small = io.BytesIO()
    Image.new("RGB", (64, 64), "blue").save(small, "PNG")
    await client.send_image(USER, small.getvalue(), caption="Mã QR tra cứu")
    pdf = b"%PDF-1.4\n" + b"0" * 1000
    await client.send_file(USER, pdf, "bien-nhan.pdf")
    image, caption, document = oa.sent_to(USER)
    assert image.image == small.getvalue()
    assert caption.text == "Mã QR tra cứu"
    assert document.file == pdf and document.filename == "bien-nhan.pdf"
    with pytest.raises(ZaloError, match="5 MB"):
        await client.send_file(USER, b"%PDF" + b"0" * (5 * 1024 * 1024), "lon.pdf")


async def test_big_image_is_recompressed_under_1mb(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    big = _noisy_jpeg((1400, 1000))
    assert len(big) > 1024 * 1024
    await _client(oa, session).send_image(USER, big)
    sent = oa.sent_to(USER)[0].image
    assert sent is not None and len(sent) <= 1024 * 1024 and sent.startswith(b"\xff\xd8\xff")
    assert Image.open(io.BytesIO(sent)).size[0] >= 500


async def test_expired_upload_is_uploaded_again(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    oa.expire_next_uploads(1)
    await _client(oa, session).send_file(USER, b"%PDF-1.4 x", "a.pdf")
    assert oa.calls["/v2.0/oa/upload/file"] == 2 and len(oa.sent_to(USER)) == 1


async def test_expired_token_refreshes_once_and_retries(
    oa: FakeZaloOa, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    store = FileTokenStore(tmp_path / "zalo" / "token.json")
    await store.save(TokenPair(*oa.pair))
    client = _client(oa, session, store)
    await client.send_text(USER, "trước")
    oa.expire_access_token()
    await client.send_text(USER, "sau")
    assert oa.refresh_count == 1
    assert [m.text for m in oa.sent_to(USER)] == ["trước", "sau"]
    saved = json.loads((tmp_path / "zalo" / "token.json").read_text())
    assert (saved["access_token"], saved["refresh_token"]) == oa.pair
    assert datetime.fromisoformat(saved["expires_at"]) > datetime.now(UTC) + timedelta(hours=24)
    assert oct((tmp_path / "zalo" / "token.json").stat().st_mode & 0o777) == "0o600"
    assert list((tmp_path / "zalo").iterdir()) == [tmp_path / "zalo" / "token.json"]  # no temp files left


async def test_new_pair_is_persisted_before_it_is_used(
    oa: FakeZaloOa, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    seen_at_save: list[int] = []

    class WatchedStore(FileTokenStore):
        async def save(self, pair: TokenPair) -> None:
            seen_at_save.append(oa.token_uses[pair.access_token])  # calls the fake saw with the new token
            await super().save(pair)

    store = WatchedStore(tmp_path / "token.json")
    await store.save(TokenPair(*oa.pair))
    seen_at_save.clear()
    oa.expire_access_token()
    await _client(oa, session, store).send_text(USER, "xin chào")
    assert seen_at_save == [0]
    assert oa.token_uses[oa.access_token] == 1
    assert (await FileTokenStore(tmp_path / "token.json").load()).refresh_token == oa.refresh_token


async def test_concurrent_sends_share_one_refresh(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    client = _client(oa, session)
    oa.expire_access_token()
    await asyncio.gather(*(client.send_text(f"u{i}", f"tin {i}") for i in range(20)))
    assert oa.refresh_count == 1
    assert len(oa.sent) == 20


async def test_refresh_token_is_single_use(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    stale = TokenPair(*oa.pair)
    await _client(oa, session).get_display_name(USER)
    oa.expire_access_token()
    await _client(oa, session, MemoryTokenStore(stale)).send_text(USER, "một")  # spends stale.refresh_token
    oa.expire_access_token()
    with pytest.raises(ZaloTokenError):
        await _client(oa, session, MemoryTokenStore(stale)).send_text(USER, "hai")
    assert oa.refresh_count == 1


async def test_token_refused_after_refresh_is_a_token_error(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    client = _client(oa, session)
    oa.expire_access_token()
    oa.fail_next(-216, "Access token is invalid", times=1, path="/v3.0/oa/message/cs")  # the retry fails too
    with pytest.raises(ZaloTokenError):
        await client.send_text(USER, "a")
    assert oa.refresh_count == 1 and oa.sent == []


async def test_token_near_expiry_is_refreshed_before_the_call(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=1)
    client = _client(oa, session, MemoryTokenStore(TokenPair(*oa.pair, expires_at=soon)))
    await client.send_text(USER, "a")
    assert oa.refresh_count == 1 and oa.calls["/v3.0/oa/message/cs"] == 1


async def test_unreachable_user_is_not_retried(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    oa.outside_window(USER, code=-230)
    client = _client(oa, session)
    with pytest.raises(ZaloUnreachableUser) as caught:
        await client.send_text(USER, "Hồ sơ của bạn đã có kết quả")
    assert caught.value.code == -230 and not caught.value.retryable
    assert oa.calls["/v3.0/oa/message/cs"] == 1 and oa.refresh_count == 0
    oa.reachable(USER)
    await client.send_text(USER, "Hồ sơ của bạn đã có kết quả")
    assert len(oa.sent_to(USER)) == 1


async def test_rate_limit_backs_off_then_gives_up(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    client = _client(oa, session, rate_limit_retries=2)
    oa.rate_limit(times=2)
    await client.send_text(USER, "qua được")
    assert oa.calls["/v3.0/oa/message/cs"] == 3 and len(oa.sent) == 1
    oa.rate_limit(times=3)
    with pytest.raises(ZaloRateLimited) as caught:
        await client.send_text(USER, "không qua")
    assert caught.value.retryable and caught.value.retry_after is not None
    assert len(oa.sent) == 1


async def test_display_name_and_download(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    oa.add_user(USER, "Nguyễn Thị Bình")
    client = _client(oa, session, download_limit=1000)
    assert await client.get_display_name(USER) == "Nguyễn Thị Bình"
    url = oa.add_attachment(b"\x89PNG fake", "image/png", "anh.png")
    assert await client.download(url) == b"\x89PNG fake"
    with pytest.raises(ZaloError, match="limit"):
        await client.download(oa.add_attachment(b"x" * 2000, "image/png"))
    with pytest.raises(ZaloTransportError):
        await client.download(f"{oa.url}/files/nothing/here.png")


async def test_transport_failure_is_wrapped(session: aiohttp.ClientSession) -> None:
    async with FakeZaloOa() as oa:
        pair = oa.pair
        url = oa.url
    client = ZaloOaClient(
        session,
        app_id="1",
        app_secret="s",
        api_base=url,
        oauth_base=url,
        token_store=MemoryTokenStore(TokenPair(*pair)),
    )
    with pytest.raises(ZaloTransportError) as caught:
        await client.send_text(USER, "a")
    assert isinstance(caught.value.__cause__, aiohttp.ClientError) and caught.value.retryable


async def test_no_token_stored(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    with pytest.raises(ZaloTokenError, match="no Zalo OA token"):
        await _client(oa, session, MemoryTokenStore()).send_text(USER, "a")


async def test_signed_webhook_round_trip(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    """A webhook view in the house shape: verify, parse, answer at once, reply in the background."""
    client = _client(oa, session)
    tasks: set[asyncio.Task[object]] = set()

    async def view(request: web.Request) -> web.Response:
        raw = await request.read()
        if not verify_signature(raw, request.headers.get("X-ZEvent-Signature"), oa.oa_secret_key):
            return web.Response(status=403)
        inbound = parse_event(json.loads(raw))
        if inbound is not None and inbound.text:
            task = asyncio.create_task(client.send_text(inbound.user_id, f"Đã nhận: {inbound.text}"))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/zalo", view)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/zalo"
    try:
        assert await oa.deliver(url, *oa.make_webhook("user_send_text", USER, text="1")) == 200
        assert await oa.deliver(url, *oa.make_webhook("user_send_text", USER, text="2", forged=True)) == 403
        assert await oa.deliver(url, *oa.make_webhook("oa_send_text", USER, text="echo")) == 200
        reply = await oa.wait_for(lambda m: m.text.startswith("Đã nhận"), 2, user_id=USER)
        assert reply.text == "Đã nhận: 1"
        await asyncio.sleep(0.05)
        assert [m.text for m in oa.sent] == ["Đã nhận: 1"]
    finally:
        await runner.cleanup()


async def test_expired_image_upload_and_bad_image(oa: FakeZaloOa, session: aiohttp.ClientSession) -> None:
    client = _client(oa, session)
    oa.expire_next_uploads(1)
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(png, "PNG")
    await client.send_image(USER, png.getvalue())
    assert oa.calls["/v2.0/oa/upload/image"] == 2 and oa.sent_to(USER)[0].image == png.getvalue()
    with pytest.raises(ZaloError, match="not an image"):
        await client.send_image(USER, b"GIF89a not really")


def test_split_text_prefers_paragraphs_then_sentences() -> None:
    first, second = "Đoạn một. " * 150, "Đoạn hai. " * 60  # 2,101 characters
    assert split_text(f"{first.strip()}\n\n{second.strip()}") == [first.strip(), second.strip()]
    sentences = "Câu này dài vừa phải. " * 120  # one paragraph of 2,640 characters
    pieces = split_text(sentences)
    assert all(p.endswith(".") and len(p) <= 2000 for p in pieces) and len(pieces) == 2
    assert split_text("x" * 4100) == ["x" * 2000, "x" * 2000, "x" * 100]
