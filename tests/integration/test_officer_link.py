"""Officer chat linking that cannot be guessed, on SQLite and PostgreSQL: rate-limited attempts
that never link, one token links one chat, a link waits for the officer's confirmation in the
console (and a minute after it) before tasks flow and quick actions work, and unlinking."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import string
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from backend.db.models import Dossier, OfficerChannelLink, RateBucket
from backend.domain.messages import Inbound, Text
from backend.domain.workflow import Status
from backend.services import officers
from backend.services.clock import SetClock
from backend.services.context import ServiceContext
from backend.services.errors import InvalidInput
from backend.settings import Settings
from backend.web.app import RUNTIME, create_app
from bot import texts
from tests.fakes.memory_sender import MemorySender
from tests.integration.conftest import World
from tests.integration.test_console import Console, submit_birth
from tests.integration.test_engine import MemoryChannel, User, body, new_engine

WRONG = "không đúng"
LIMITED = "quá nhiều lần"
TOKEN_CHARS = string.ascii_letters + string.digits + "-_"


def guess(rng: random.Random, i: int) -> str:
    """A 6-digit code (the old format) or a token-shaped string, alternately."""
    if i % 2:
        return f"{rng.randrange(10**6):06d}"
    return "".join(rng.choice(TOKEN_CHARS) for _ in range(32))


async def test_brute_force_never_links(world: World, ctx: ServiceContext, caplog: pytest.LogCaptureFixture,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """10,000 guesses from 500 chats and 50 addresses while a live token exists: refused,
    mostly by the rate limits before any lookup; the live token is untouched."""
    monkeypatch.setattr(officers, "_last_alarm", -1000.0)
    caplog.set_level(logging.WARNING, logger="backend.services.officers")
    rng = random.Random(9)
    officer = world.officers["hoathanh.motcua"]
    live = await officers.new_link_code(ctx, officer.id)
    answers = {WRONG: 0, LIMITED: 0}
    started = time.monotonic()
    for i in range(10_000):
        chat, origin = f"att{i % 500}", f"203.0.113.{i % 50}"
        try:
            await officers.link_chat(ctx, guess(rng, i), "webchat", chat, origin=origin)
        except InvalidInput as exc:
            assert WRONG in str(exc) or LIMITED in str(exc), exc
            answers[LIMITED if LIMITED in str(exc) else WRONG] += 1
        else:
            raise AssertionError("a guess linked a chat")
    assert sum(answers.values()) == 10_000
    assert answers[LIMITED] >= 9_000  # the limits answered, the token table was barely asked
    # Through the engine too: typed commands, deep links and bare 6-digit codes at the menu.
    engine, channel = new_engine(ctx)
    replies = []
    for u in range(50):
        user = User(engine, channel, f"eng{u}")
        for g in range(4):
            code = guess(rng, g)
            said = ["/lienket " + code, f"/start lk_{code}", code, "/link " + code][g]
            replies.append(body(await user.send(said)))
    assert all(WRONG in r or LIMITED in r or texts.NOT_UNDERSTOOD in r for r in replies), replies
    assert sum(WRONG in r for r in replies) >= 100  # each chat's few tries were looked up and refused
    assert not any("chờ xác nhận" in r for r in replies)
    assert await OfficerChannelLink.all().count() == 0
    assert time.monotonic() - started < 60
    alarms = [r.getMessage() for r in caplog.records if r.name == "backend.services.officers"]
    assert len(alarms) == 1 and "installation-wide" in alarms[0]  # once, not once per guess
    assert not re.search(r"203\.0\.113|att\d|webchat", alarms[0])  # no address, no chat id
    # The officer, once the limits have refilled, links with the real token.
    await RateBucket.all().delete()
    linked = await officers.link_chat(ctx, live, "webchat", "officer-own")
    assert linked.officer_name == officer.full_name
    assert await OfficerChannelLink.all().count() == 1


async def test_link_attempts_limited_per_chat_and_address(world: World, ctx: ServiceContext) -> None:
    """A chat gets 5 tries, then is told to wait; so does one address across many chats; a
    valid token sent while limited is not looked at (and stays valid)."""
    live = await officers.new_link_code(ctx, world.officers["hoathanh.motcua"].id)
    engine, channel = new_engine(ctx)
    one = User(engine, channel, "one")
    said = [body(await one.send(f"/lienket {'x' * 32}")) for _ in range(5)]
    assert all(WRONG in s for s in said)
    assert LIMITED in body(await one.send(f"/lienket {live}"))
    for n in range(5):
        with pytest.raises(InvalidInput, match=WRONG):
            await officers.link_chat(ctx, "y" * 32, "webchat", f"w{n}", origin="198.51.100.7")
    with pytest.raises(InvalidInput, match=LIMITED):
        await officers.link_chat(ctx, live, "webchat", "w-new", origin="198.51.100.7")
    assert await OfficerChannelLink.all().count() == 0
    assert "chờ xác nhận" in body(await User(engine, channel, "fresh").send(f"/start lk_{live}"))


async def test_one_token_sent_by_forty_chats_links_one(world: World, ctx: ServiceContext) -> None:
    token = await officers.new_link_code(ctx, world.officers["hoathanh.motcua"].id)
    engine, channel = new_engine(ctx)
    await asyncio.gather(*(engine.handle(Inbound("mem", f"c{i}", f"e{i}", text=f"/lienket {token}"))
                           for i in range(40)))
    said = [m.text for _, m in channel.sent if isinstance(m, Text)]
    assert sum("chờ xác nhận" in s for s in said) == 1
    assert sum(WRONG in s for s in said) == 39
    assert await OfficerChannelLink.all().count() == 1


@pytest.fixture
async def client(fresh_db_url: str, tmp_path: Path, clock: SetClock):  # noqa: ANN201
    settings = Settings(seed_demo=True, database_url=fresh_db_url, data_dir=tmp_path / "var", ocr_workers=0)
    async with TestClient(TestServer(create_app(settings, clock=clock))) as c:
        yield c


@pytest.fixture
def console(client: TestClient) -> Console:
    return Console(client)


def _tasks(sender: MemorySender, user: str) -> list[str]:
    return [m.text for m in sender.to(user) if isinstance(m, Text)]


async def test_confirmation_in_the_console_gates_tasks_and_actions(
    console: Console, client: TestClient, clock: SetClock
) -> None:
    rt = client.app[RUNTIME]  # type: ignore[index]
    engine = rt.extras["engine"]
    replies, tasks = MemoryChannel(), MemorySender()
    engine.register("mem", replies, replies.fetch)
    rt.dispatcher.senders["mem"] = tasks
    desk = User(engine, replies, "o1")

    # The officer takes a token in the console and sends it from the chat.
    await console.login("hoathanh.motcua")
    _, page = await console.post("/console/account/link-code")
    token = re.search(r'id="link-code">([A-Za-z0-9_-]{32})<', page).group(1)  # type: ignore[union-attr]
    linked = body(await desk.send(f"/lienket {token}"))
    assert "chờ xác nhận" in linked and "Trần Thị Mai" in linked
    link = await OfficerChannelLink.get()
    assert link.confirmed_at is None and link.label == "mem …o1"

    # Unconfirmed: a new dossier's task does not reach the chat; its quick action is refused.
    d = await submit_birth(console.ctx)
    await rt.dispatcher.run_once()
    assert _tasks(tasks, "o1") == []
    assert "chưa được xác nhận" in body(await desk.send(button=f"do:accept:{d.id}:{d.version}"))
    assert "chưa được xác nhận" in body(await desk.send(button=f"do:reject:{d.id}:{d.version}"))
    assert (await Dossier.get(id=d.id)).status == Status.SUBMITTED

    # The page lists the link, pending; another officer cannot confirm or remove it.
    _, page = await console.get("/console/account")
    assert "Chờ xác nhận" in page and f"/console/account/links/{link.id}/confirm" in page
    await console.login("hoathanh.truongphong")  # the test client has one cookie jar
    await console.get("/console/account")
    for what in ("confirm", "unlink"):
        resp, _ = await console.post(f"/console/account/links/{link.id}/{what}")
        assert resp.status == 404
    resp, _ = await console.post("/console/account/links/99999999999999999999/confirm")
    assert resp.status == 404
    await console.login("hoathanh.motcua")
    resp, _ = await console.post(f"/console/account/links/{link.id}/confirm", csrf=False)
    assert resp.status == 403  # no CSRF token, no confirmation
    assert (await OfficerChannelLink.get()).confirmed_at is None

    # Confirmed: tasks flow; quick actions wait a minute, then work.
    await console.get("/console/account")
    resp, _ = await console.post(f"/console/account/links/{link.id}/confirm", {})
    assert resp.status == 200  # followed the redirect back to the account page
    assert (await OfficerChannelLink.get()).confirmed_at == clock.now()
    _, page = await console.get("/console/account")
    assert "Đã xác nhận" in page and "Chờ xác nhận" not in page
    d2 = await submit_birth(console.ctx, user="5550002")
    await rt.dispatcher.run_once()
    assert any(d2.code in t for t in _tasks(tasks, "o1"))
    assert "đợi một phút" in body(await desk.send(button=f"do:accept:{d.id}:{d.version}"))
    clock.advance(seconds=61)
    assert "Tiếp nhận" in body(await desk.send(button=f"do:accept:{d.id}:{d.version}"))
    assert (await Dossier.get(id=d.id)).status == Status.AWAITING_ASSIGNMENT

    # Unlinked: nothing flows and the chat is no officer's any more.
    await console.get("/console/account")
    await console.post(f"/console/account/links/{link.id}/unlink")
    assert await OfficerChannelLink.all().count() == 0
    seen = len(tasks.sent)
    d3 = await submit_birth(console.ctx, user="5550003")
    await rt.dispatcher.run_once()
    assert len(tasks.sent) == seen
    assert "chưa liên kết" in body(await desk.send(button=f"do:accept:{d3.id}:{d3.version}"))


async def test_account_page_shows_deep_link_qr_and_list(console: Console, client: TestClient) -> None:
    rt = client.app[RUNTIME]  # type: ignore[index]
    rt.extras["telegram_username"] = "motcua_test_bot"
    await console.login("hoathanh.motcua")
    _, page = await console.post("/console/account/link-code")
    token = re.search(r'id="link-code">([A-Za-z0-9_-]{32})<', page).group(1)  # type: ignore[union-attr]
    assert f'href="https://t.me/motcua_test_bot?start=lk_{token}"' in page
    assert 'src="data:image/png;base64,' in page and "/lienket" in page
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", f"lk_{token}")
    await officers.link_chat(console.ctx, token, "telegram", "777001234", display_name="Mai <b>Trần</b>")
    _, page = await console.get("/console/account")
    assert "Mai &lt;b&gt;Trần&lt;/b&gt;" in page and "telegram" in page and "Gỡ liên kết" in page
    # Without a known bot the QR carries the command; there is no deep link.
    rt.extras.pop("telegram_username")
    _, page = await console.post("/console/account/link-code")
    assert "t.me/" not in page and 'src="data:image/png;base64,' in page
