"""Web chat sessions are the server's: a chosen cookie is never adopted, "Kết thúc phiên" and
the kiosk idle reset leave the next person on the device nothing of the previous one, tokens
rotate on sensitive steps, and new sessions per address are limited."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from backend.db.models import ConversationState, Dossier, WebchatMessage, WebchatSession
from backend.domain.calendar import VN_TZ
from backend.services.clock import SetClock
from backend.settings import Settings, WebchatSettings
from backend.web.app import RUNTIME, create_app
from tests.e2e.test_webchat import BIRTH_ANSWERS, Browser, buttons, jpeg, texts

COOKIE = "motcua_chat"
CHOSEN = "attacker-chosen-session-value-0123456789"
NAME, ID_NUMBER, PHONE = BIRTH_ANSWERS[0], BIRTH_ANSWERS[1], BIRTH_ANSWERS[4]


def app_for(db_url: str, tmp_path: Path, clock: SetClock, **webchat: int):  # noqa: ANN201
    settings = Settings(database_url=db_url, data_dir=tmp_path / "var", ocr_workers=0, seed_demo=True,
                        webchat=WebchatSettings(**webchat))
    return create_app(settings, clock=clock)


def quick(client: TestClient) -> None:
    """Long-polls of an empty mailbox answer at once (a new person's first poll)."""
    client.server.app[RUNTIME].senders["webchat"].poll_timeout = 0.2


def clock() -> SetClock:
    return SetClock(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))


class Device:
    """Another browser on the same server: its own cookie jar (Browser's client interface)."""

    def __init__(self, client: TestClient, cookies: dict[str, str] | None = None) -> None:
        self.base = client
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), cookies=cookies)

    def make_url(self, path: str):  # noqa: ANN201
        return self.base.make_url(path)

    def get(self, path: str, **kw):  # noqa: ANN003, ANN201
        return self.session.get(self.make_url(path), **kw)

    def post(self, path: str, **kw):  # noqa: ANN003, ANN201
        return self.session.post(self.make_url(path), **kw)

    async def close(self) -> None:
        await self.session.close()


def cookie(client: TestClient | Device) -> str | None:
    """The token the server set (path /chat), not a value planted for the whole site."""
    for morsel in client.session.cookie_jar:
        if morsel.key == COOKIE and morsel["path"] == "/chat":
            return morsel.value
    return None
    morsel = client.session.cookie_jar.filter_cookies(client.make_url("/chat")).get(COOKIE)
    return morsel.value if morsel else None


async def submit_birth(b: Browser) -> tuple[str, str]:
    """Person goes through a birth registration to the review and submits; (code, QR url)."""
    await b.say("/start")
    await b.say(button="menu:submit")
    await b.say(button="proc:birth_registration")
    await b.photo(jpeg())
    await b.say(button="doc:next")
    await b.photo(jpeg((10, 20, 30)))
    await b.say(button="doc:next")
    await b.say(button="doc:skip")
    for answer in BIRTH_ANSWERS[:-1]:
        await b.say(answer)
    review = await b.say(BIRTH_ANSWERS[-1])
    assert NAME in texts(review) and ID_NUMBER in texts(review) and "sub:confirm" in buttons(review)
    done = await b.say(button="sub:confirm")
    code = (await Dossier.all().order_by("-id").first()).code  # type: ignore[union-attr]
    assert code in texts(done)
    return code, [m for m in done if m["kind"] == "image"][0]["file"]


async def nothing_of_person_one(client: TestClient, code: str, qr: str) -> None:
    """The next person on the device: a new session at the menu, none of person 1's data."""
    b2 = Browser(client)
    first = await b2.poll()
    assert first == []  # a new, empty mailbox
    mine = await b2.say(button="menu:mine")
    seen = str(b2.seen)
    for secret in (NAME, ID_NUMBER, PHONE, code, qr):
        assert secret not in seen
    assert "chưa có hồ sơ" in texts(mine)
    assert (await client.get(qr)).status == 404
    newest = await WebchatSession.all().order_by("-id").first()
    state = await ConversationState.get_or_none(channel="webchat", user_id=newest.user_key)  # type: ignore[union-attr]
    assert state is None or state.step == "menu"


async def test_a_chosen_cookie_is_never_adopted(fresh_db_url: str, tmp_path: Path) -> None:
    app = app_for(fresh_db_url, tmp_path, clock())
    async with TestClient(TestServer(app), cookies={COOKIE: CHOSEN}) as victim_client:
        quick(victim_client)
        attacker_client = Device(victim_client, {COOKIE: CHOSEN})
        try:
            opened = await victim_client.post("/chat/api/session")
            assert opened.status == 200 and (await opened.json())["fresh"] is True
            issued = cookie(victim_client)
            assert issued and issued != CHOSEN
            assert not await WebchatSession.filter(token_hash=hashlib.sha256(CHOSEN.encode()).hexdigest()).exists()
            victim = Browser(victim_client)  # type: ignore[arg-type]
            code, qr = await submit_birth(victim)
            await victim.say(button="menu:submit")  # the victim is mid-conversation again

            attacker = Browser(attacker_client)  # type: ignore[arg-type]
            seen = await attacker.poll()
            assert cookie(attacker_client) not in (None, CHOSEN, issued)
            assert all(s not in str(seen) for s in (NAME, ID_NUMBER, code))
            assert (await attacker_client.get(qr)).status == 404
            reply = await attacker.say(button="proc:birth_registration")  # try to continue the victim's step
            assert "Giấy chứng sinh" not in texts(reply)
            assert (await WebchatSession.all().count()) == 2  # one per person, none chosen by them
            assert "proc:birth_registration" in buttons(await victim.say("/start"))  # the victim goes on
        finally:
            await attacker_client.close()


async def test_kiosk_end_session_leaves_nothing_for_the_next_person(fresh_db_url: str, tmp_path: Path) -> None:
    app = app_for(fresh_db_url, tmp_path, clock())
    async with TestClient(TestServer(app)) as client:
        quick(client)
        page = await client.get("/chat/kiosk")
        assert page.status == 200 and 'data-mode="kiosk"' in await page.text()
        assert (await client.post("/chat/api/session?kiosk=1")).status == 200
        assert (await WebchatSession.get()).kiosk
        code, qr = await submit_birth(Browser(client))
        files = [tmp_path / "var" / "files" / p  # keys of the local store, under the files dir
                 for p in await WebchatMessage.exclude(file_path="").values_list("file_path", flat=True)]
        assert files and all(f.exists() for f in files)
        person_one = (await WebchatSession.get()).user_key
        assert await ConversationState.exists(channel="webchat", user_id=person_one)
        ended = await client.post("/chat/api/end")
        assert ended.status == 200 and not cookie(client)
        assert not any(f.exists() for f in files)
        assert await WebchatMessage.all().count() == 0
        assert not await ConversationState.exists(channel="webchat", user_id=person_one)
        await nothing_of_person_one(client, code, qr)
        assert await Dossier.filter(code=code).exists()  # the agency's record stays


async def test_kiosk_idle_reset_leaves_nothing_for_the_next_person(fresh_db_url: str, tmp_path: Path) -> None:
    c = clock()
    app = app_for(fresh_db_url, tmp_path, c, kiosk_idle_seconds=120)
    async with TestClient(TestServer(app)) as client:
        quick(client)
        assert (await client.post("/chat/api/session?kiosk=1")).status == 200
        code, qr = await submit_birth(Browser(client))
        before = cookie(client)
        c.advance(seconds=121)  # person 1 walked away
        await nothing_of_person_one(client, code, qr)
        assert cookie(client) != before
        assert await WebchatMessage.filter(file_id__not_isnull=True).count() == 0


async def test_kiosk_by_device_address_and_cookie_flags(fresh_db_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=fresh_db_url, data_dir=tmp_path / "var", ocr_workers=0, seed_demo=True,
                        webchat=WebchatSettings(kiosk_addresses=("127.0.0.0/8",)))
    async with TestClient(TestServer(create_app(settings, clock=clock()))) as client:
        quick(client)
        assert 'data-mode="kiosk"' in await (await client.get("/chat")).text()
        resp = await client.post("/chat/api/session")
        set_cookie = resp.headers["Set-Cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/chat" in set_cookie
        assert "Max-Age" not in set_cookie and "expires" not in set_cookie.lower()  # a browser-session cookie
    plain = Settings(database_url=fresh_db_url, data_dir=tmp_path / "v2", ocr_workers=0)
    async with TestClient(TestServer(create_app(plain, clock=clock()))) as client:
        quick(client)
        assert 'data-mode="normal"' in await (await client.get("/chat")).text()
        set_cookie = (await client.post("/chat/api/session")).headers["Set-Cookie"]
        assert f"Max-Age={8 * 3600}" in set_cookie


async def test_token_rotates_on_upload_and_old_one_expires(fresh_db_url: str, tmp_path: Path) -> None:
    c = clock()
    app = app_for(fresh_db_url, tmp_path, c)
    async with TestClient(TestServer(app)) as client:
        quick(client)
        b = Browser(client)
        await b.say(button="menu:submit")
        await b.say(button="proc:birth_registration")
        old = cookie(client)
        await b.photo(jpeg())
        new = cookie(client)
        assert new and new != old
        in_flight = Device(client, {COOKIE: old})
        try:
            c.advance(seconds=20)
            body = await (await in_flight.get("/chat/api/poll?after=0")).json()
            assert body["fresh"] is False and cookie(in_flight) is None  # still this session, no new cookie
            c.advance(seconds=15)
            body = await (await in_flight.get("/chat/api/poll?after=0")).json()
            assert body["fresh"] is True and body["messages"] == []  # a new session: the old token is dead
        finally:
            await in_flight.close()
        assert "doc:next" in buttons(await b.say(button="doc:next") + b.seen)  # the rotated cookie goes on
        await b.say("x")
        c.advance(minutes=11)
        before = cookie(client)
        await b.say("y")
        assert cookie(client) != before  # rotated after ten minutes of use


async def test_new_sessions_per_address_are_limited(fresh_db_url: str, tmp_path: Path) -> None:
    app = app_for(fresh_db_url, tmp_path, clock(), sessions_per_minute=2)
    async with TestClient(TestServer(app)) as client:
        quick(client)
        statuses = []
        for _ in range(8):
            client.session.cookie_jar.clear()  # a new session per request
            statuses.append((await client.post("/chat/api/send", json={"text": "/start"})).status)
        assert statuses[:6] == [200] * 6 and statuses[6:] == [429, 429]
        refused = await client.post("/chat/api/send", json={"text": "/start"})
        body = await refused.json()
        assert refused.status == 429 and "thử lại" in body["error"] and "Retry-After" in refused.headers
        page = await client.get("/chat")
        assert page.status == 200  # the page still renders and shows the API's error
        assert await WebchatSession.all().count() == 6
