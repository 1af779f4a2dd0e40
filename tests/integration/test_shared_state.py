"""State shared across workers: web chat wake-ups, the Zalo token refresh, offered Zalo
buttons, reminders and digests queued once, catalogue reloads (issue 10, Build item 3)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from tortoise import Tortoise

from backend.db.models import KeyValue, OutboxMessage, WebchatSession
from backend.domain.calendar import VN_TZ
from backend.domain.messages import Button, Inbound, Text
from backend.services import catalogue as catalogue_service
from backend.services import dossiers as uc
from backend.services import locks, wakeups
from backend.services.catalogue import DEFAULT_DIR, Catalogue
from backend.services.clock import SetClock
from backend.services.digest import queue_morning_digest
from backend.services.keyvalue import get_value, set_value
from backend.services.lookup import remind_due
from backend.settings import Settings, ZaloSettings
from backend.web.app import RUNTIME, create_app
from bot.channels.zalo import KeyValueOffers, KeyValueTokenStore, ZaloChannel
from bot.channels.zalo_client import TokenPair, ZaloOaClient
from tests.fakes.zalo_oa_api import FakeZaloOa
from tests.integration.test_console import Console

from .conftest import World

USER = "2468013579246801357"


def _app(db_url: str, data: Path, catalogue: Catalogue | None = None):  # noqa: ANN202
    settings = Settings(database_url=db_url, data_dir=data, ocr_workers=0, seed_demo=True)
    return create_app(settings, clock=SetClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ)), catalogue=catalogue)


async def _wait_until(pred, within: float) -> float:  # noqa: ANN001
    """Seconds until ``pred()`` held; fails after ``within`` seconds."""
    start = time.monotonic()
    while not pred():
        assert time.monotonic() - start < within, "not within the time allowed"
        await asyncio.sleep(0.01)
    return time.monotonic() - start


# -- web chat wake-ups ----------------------------------------------------------------------
async def test_webchat_notice_reaches_a_poll_held_by_another_worker(fresh_db_url: str, tmp_path: Path) -> None:
    postgres = not fresh_db_url.startswith("sqlite")
    async with TestClient(TestServer(_app(fresh_db_url, tmp_path / "a"))) as a, \
            TestClient(TestServer(_app(fresh_db_url, tmp_path / "b"))) as b:
        # SQLite serves one process: the poll is held by the worker that sends.
        holder = b if postgres else a
        web_a = a.server.app[RUNTIME].senders["webchat"]
        held = holder.server.app[RUNTIME].senders["webchat"]
        held.poll_timeout = 5.0
        assert holder.server.app[RUNTIME].extras["wakeups"].enabled is postgres
        assert (await holder.post("/chat/api/session")).status == 200
        (user_key,) = await WebchatSession.all().values_list("user_key", flat=True)
        first = await (await holder.get("/chat/api/poll?after=0")).json()  # the greeting, if any
        after = first["last"]

        async def poll() -> tuple[float, dict]:
            start = time.monotonic()
            resp = await holder.get(f"/chat/api/poll?after={after}")
            return time.monotonic() - start, await resp.json()

        waiting = asyncio.create_task(poll())
        await asyncio.sleep(0.3)  # the poll is waiting on the holder now
        await web_a.send(user_key, Text("Hồ sơ của bạn đã được tiếp nhận."))
        elapsed, data = await asyncio.wait_for(waiting, 6)
        assert [m["text"] for m in data["messages"]] == ["Hồ sơ của bạn đã được tiếp nhận."]
        assert elapsed - 0.3 < 1.0, f"the notice took {elapsed - 0.3:.2f} s"


async def test_wakeup_listener_comes_back_after_its_connection_is_killed(db: str) -> None:
    hub = wakeups.Wakeups(db)
    got: list[str] = []
    resyncs: list[str] = []
    hub.subscribe(wakeups.WEBCHAT, got.append, resync=resyncs.append)
    await hub.start()
    if db.startswith("sqlite"):  # one process: nothing to listen to, publishing is a no-op
        assert not hub.enabled and hub._task is None
        await wakeups.publish(wakeups.WEBCHAT, "k")
        return
    try:
        await wakeups.publish(wakeups.WEBCHAT, "before")
        await _wait_until(lambda: got == ["before"], 1.0)
        pid = hub._conn.get_server_pid()
        await Tortoise.get_connection("default").execute_query("SELECT pg_terminate_backend($1)", [pid])
        await _wait_until(lambda: resyncs == [""], 5.0)  # reconnected, and told it may have missed some
        await wakeups.publish(wakeups.WEBCHAT, "after")
        await _wait_until(lambda: got == ["before", "after"], 1.0)
    finally:
        await hub.stop()


# -- Zalo: the refresh token is spent once ---------------------------------------------------
@pytest.fixture
async def oa() -> AsyncIterator[FakeZaloOa]:
    async with FakeZaloOa() as server:
        yield server


def _zalo_client(oa: FakeZaloOa, session: aiohttp.ClientSession) -> ZaloOaClient:
    """One worker's client: its own memory and process lock, the shared store and lock."""
    return ZaloOaClient(session, app_id=oa.app_id, app_secret=oa.app_secret, api_base=oa.url, oauth_base=oa.url,
                        token_store=KeyValueTokenStore(get_value, set_value),
                        refresh_lock=lambda work: locks.exclusively(locks.ZALO_TOKEN, work))


async def test_zalo_refresh_token_spent_once_by_two_workers(db: str, oa: FakeZaloOa) -> None:
    await KeyValueTokenStore(get_value, set_value).save(TokenPair(*oa.pair))
    async with aiohttp.ClientSession() as s1, aiohttp.ClientSession() as s2:
        one, two = _zalo_client(oa, s1), _zalo_client(oa, s2)
        await asyncio.gather(one.send_text(USER, "trước 1"), two.send_text(USER, "trước 2"))
        oa.expire_access_token()
        await asyncio.gather(one.send_text(USER, "sau 1"), two.send_text(USER, "sau 2"))
    assert oa.refresh_count == 1
    assert sorted(m.text for m in oa.sent_to(USER)) == ["sau 1", "sau 2", "trước 1", "trước 2"]
    stored = await KeyValueTokenStore(get_value, set_value).load()
    assert (stored.access_token, stored.refresh_token) == oa.pair
    assert one._pair == two._pair == stored


# -- Zalo: offered buttons outlive the worker that offered them ------------------------------
async def test_zalo_button_offered_by_one_worker_is_understood_by_a_new_one(db: str, oa: FakeZaloOa) -> None:
    await KeyValueTokenStore(get_value, set_value).save(TokenPair(*oa.pair))
    settings = ZaloSettings(oa.app_id, oa.app_secret, oa.oa_secret_key, api_base=oa.url, oauth_base=oa.url)

    def channel() -> ZaloChannel:
        async def handle(_: Inbound) -> None:
            return None
        return ZaloChannel(settings, handle, KeyValueTokenStore(get_value, set_value),
                           offers=KeyValueOffers(get_value, set_value))

    first = channel()
    await first.start()
    menu = ((Button("Nộp hồ sơ", "menu:submit"), Button("Tra cứu", "menu:lookup")),)
    await first.send(USER, Text("Bạn cần gì?", buttons=menu))
    await first.stop()
    restarted = channel()  # another worker, or the same after a restart
    pressed = await restarted.as_button(Inbound("zalo", USER, "m1", text="Tra cứu"))
    assert (pressed.button, pressed.text) == ("menu:lookup", None)
    await restarted.start()
    await restarted.send(USER, Text("Nhập mã hồ sơ:"))  # a question without buttons: "Tra cứu" is text again
    await restarted.stop()
    typed = await channel().as_button(Inbound("zalo", USER, "m2", text="Tra cứu"))
    assert (typed.button, typed.text) == (None, "Tra cứu")


# -- reminders and digests: two passes at once queue one ------------------------------------
async def test_two_reminder_passes_at_once_queue_one_reminder(world: World) -> None:
    ctx, clock = world.ctx, world.ctx.clock
    d = await world.submit_birth()
    await uc.accept(ctx, world.actor("motcua"), d.id)  # due Mon 23/11 17:00
    clock.set(datetime(2026, 11, 23, 14, 0, tzinfo=VN_TZ))  # 3 office hours ahead
    await asyncio.gather(*(OutboxMessage.filter(kind="x").count() for _ in range(4)))  # a warm pool: real overlap
    counts = await asyncio.gather(*(remind_due(ctx, hours=4) for _ in range(4)))
    assert sorted(counts) == [0, 0, 0, 1]
    (row,) = await OutboxMessage.filter(kind="due_reminder")
    assert row.dedupe_key and row.dedupe_key.startswith(f"due:{d.id}:")


async def test_two_digest_passes_at_once_queue_one_digest(world: World) -> None:
    ctx, clock = world.ctx, world.ctx.clock
    await world.submit_birth()
    clock.set(datetime(2026, 11, 25, 7, 30, tzinfo=VN_TZ))  # a working Wednesday, past 07:00
    await asyncio.gather(*(OutboxMessage.filter(kind="x").count() for _ in range(4)))  # a warm pool: real overlap
    counts = await asyncio.gather(*(queue_morning_digest(ctx) for _ in range(4)))
    rows = await OutboxMessage.filter(kind="digest")
    assert len(rows) >= 1 and sorted(counts) == [0, 0, 0, len(rows)]
    assert len({r.officer_id for r in rows}) == len(rows)  # type: ignore[attr-defined]
    assert all(r.dedupe_key == f"digest:{r.officer_id}:2026-11-25" for r in rows)  # type: ignore[attr-defined]


# -- catalogue reloads --------------------------------------------------------------------
def _rename(directory: Path, old: str, new: str) -> None:
    path = directory / "birth_registration.yaml"
    text = path.read_text(encoding="utf-8")
    assert f"\nname: {old}\n" in text
    path.write_text(text.replace(f"\nname: {old}\n", f"\nname: {new}\n", 1), encoding="utf-8")


async def test_catalogue_reload_on_one_worker_reloads_the_other(fresh_db_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_DIR, directory)
    cat_a, cat_b = Catalogue(directory), Catalogue(directory)  # each worker reads its own copy
    name = cat_a.get("birth_registration").name
    async with TestClient(TestServer(_app(fresh_db_url, tmp_path / "a", cat_a))) as a, \
            TestClient(TestServer(_app(fresh_db_url, tmp_path / "b", cat_b))):
        admin = Console(a)
        await admin.login("admin")
        _rename(directory, name, "Đăng ký khai sinh (mẫu mới)")
        resp, text = await admin.post("/console/admin/catalogue/reload")  # on worker A only
        assert resp.status == 200 and "Đã nạp lại danh mục" in text
        assert cat_a.get("birth_registration").name == "Đăng ký khai sinh (mẫu mới)"
        if fresh_db_url.startswith("sqlite"):  # one process: B is reached by the stamp check only
            assert cat_b.get("birth_registration").name == name
            assert await catalogue_service.follow(cat_b)
        else:
            await _wait_until(lambda: cat_b.get("birth_registration").name != name, 1.0)
        assert cat_b.get("birth_registration").name == "Đăng ký khai sinh (mẫu mới)"
        # A worker that missed the notice (listener reconnecting) catches up on its next check.
        _rename(directory, "Đăng ký khai sinh (mẫu mới)", "Đăng ký khai sinh (lần ba)")
        cat_a.reload()
        await set_value(catalogue_service.VERSION_KEY, {"stamp": "missed"})  # a reload whose notice was lost
        assert await catalogue_service.follow(cat_b)
        assert cat_b.get("birth_registration").name == "Đăng ký khai sinh (lần ba)"
        assert not await catalogue_service.follow(cat_b)  # once per stamp
        assert await KeyValue.exists(key=catalogue_service.VERSION_KEY)


@pytest.mark.postgres
async def test_a_web_worker_wakes_the_background_workers_dispatcher(pg_url: str, tmp_path: Path) -> None:
    """A web worker runs no dispatcher: after a use case it tells the worker's over NOTIFY."""
    heard: asyncio.Queue[str] = asyncio.Queue()
    conn = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://"))
    await conn.add_listener(wakeups.OUTBOX, lambda _conn, _pid, channel, _payload: heard.put_nowait(channel))
    try:
        settings = Settings(database_url=pg_url, data_dir=tmp_path / "web", ocr_workers=0)
        app = create_app(settings, role="web")
        async with TestClient(TestServer(app)):
            app[RUNTIME].changed()  # what a view or a chat step calls after its use case commits
            assert await asyncio.wait_for(heard.get(), 2.0) == wakeups.OUTBOX
    finally:
        await conn.close()
