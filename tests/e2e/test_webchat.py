"""The web chat on the real app: a citizen submits a birth registration from the browser API,
gets the code and QR image, and receives the officer's acceptance by long-poll."""

from __future__ import annotations

import io
from pathlib import Path

import aiohttp
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image as PImage

from backend.db.models import Dossier, Officer
from backend.domain.workflow import Status
from backend.services import dossiers as uc
from backend.services.officers import actor_of
from backend.settings import Settings
from backend.web.app import RUNTIME, create_app

BIRTH_ANSWERS = [
    "Nguyễn Văn An", "072090001234", "Ấp Long Bình, phường Hòa Thành, tỉnh Tây Ninh", "Cha",
    "0912345678", "Nguyễn Ngọc Diệp", "Nữ", "05/11/2026 08:30", "Bệnh viện Đa khoa tỉnh Tây Ninh",
    "Kinh", "Việt Nam", "Tây Ninh", "Trần Thị Bích", "1994",
    "Ấp Long Bình, phường Hòa Thành, tỉnh Tây Ninh", "Có", "Nguyễn Văn An", "1990", "Ấp Long Bình",
]


def jpeg(color: tuple[int, int, int] = (200, 120, 60)) -> bytes:
    buf = io.BytesIO()
    PImage.new("RGB", (320, 240), color).save(buf, "JPEG")
    return buf.getvalue()


class Browser:
    """What chat.js does: send, long-poll, remember the last message seen."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.last = 0
        self.seen: list[dict] = []
        self.n = 0

    async def poll(self, timeout_ok: bool = False) -> list[dict]:
        resp = await self.client.get(f"/chat/api/poll?after={self.last}")
        assert resp.status == 200
        data = await resp.json()
        new = [m for m in data["messages"] if m["seq"] > self.last]
        if new:
            self.last = new[-1]["seq"]
        self.seen += new
        return new

    async def say(self, text: str | None = None, button: str | None = None) -> list[dict]:
        self.n += 1
        resp = await self.client.post("/chat/api/send", json={"text": text, "button": button,
                                                                "event_id": f"e{self.n}"})
        assert resp.status == 200, await resp.text()
        return await self.poll()

    async def photo(self, data: bytes, name: str = "anh.jpg", mime: str = "image/jpeg") -> list[dict]:
        self.n += 1
        form = FormData()
        form.add_field("event_id", f"e{self.n}")
        form.add_field("photo", data, filename=name, content_type=mime)
        resp = await self.client.post("/chat/api/send", data=form)
        assert resp.status == 200
        return await self.poll()


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages if m["kind"] == "text")


def buttons(messages: list[dict]) -> list[str]:
    return [b["data"] for m in messages if m["kind"] == "text" for row in m["buttons"] for b in row]


async def test_webchat_birth_registration(fresh_db_url: str, tmp_path: Path) -> None:
    settings = Settings(seed_demo=True, database_url=fresh_db_url, data_dir=tmp_path / "var", ocr_workers=0)
    app = create_app(settings)
    async with TestClient(TestServer(app)) as client:
        page = await client.get("/chat")
        assert page.status == 200 and "chat.js" in await page.text()
        assert (await client.get("/chat/static/chat.js")).status == 200
        b = Browser(client)
        menu = await b.say("/start")
        assert "menu:submit" in buttons(menu)
        assert "proc:birth_registration" in buttons(await b.say(button="menu:submit"))
        assert "Giấy chứng sinh" in texts(await b.say(button="proc:birth_registration"))
        assert "doc:next" in buttons(await b.photo(jpeg()))
        await b.say(button="doc:next")
        await b.photo(jpeg((10, 20, 30)))
        assert "doc:skip" in buttons(await b.say(button="doc:next"))
        await b.say(button="doc:skip")
        for answer in BIRTH_ANSWERS[:-1]:
            await b.say(answer)
        review = await b.say(BIRTH_ANSWERS[-1])
        assert "Nguyễn Ngọc Diệp" in texts(review) and "sub:confirm" in buttons(review)
        done = await b.say(button="sub:confirm")
        d = await Dossier.get()
        assert d.code in texts(done) and d.form_data["mother_birth_year"] == 1994
        qr = [m for m in done if m["kind"] == "image"]
        assert len(qr) == 1
        img = await client.get(qr[0]["file"])
        assert img.status == 200 and (await img.read()).startswith(b"\x89PNG")

        # The officer accepts: the dispatcher delivers the notice to the web chat.
        officer = await Officer.get(username="hoathanh.motcua")
        await uc.accept(app[RUNTIME].ctx, actor_of(officer), d.id)
        app[RUNTIME].changed()
        got: list[dict] = []
        for _ in range(10):
            got += await b.poll()
            if any(m["kind"] == "document" for m in got):
                break
        assert "đã được tiếp nhận" in texts(got)
        pdf = [m for m in got if m["kind"] == "document"][0]
        assert (await (await client.get(pdf["file"])).read()).startswith(b"%PDF")
        assert (await Dossier.get()).status == Status.AWAITING_ASSIGNMENT

        # Another browser (its own session cookie) sees neither these messages nor the files.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as stranger:
            assert (await stranger.get(client.make_url(qr[0]["file"]))).status == 404
            first = await stranger.post(client.make_url("/chat/api/send"), json={"text": "/start"})
            assert first.status == 200
            poll = await (await stranger.get(client.make_url("/chat/api/poll?after=0"))).json()
            assert d.code not in str(poll["messages"]) and "menu:submit" in str(poll["messages"])


async def test_notice_sent_while_the_page_is_closed_survives_a_restart(fresh_db_url: str, tmp_path: Path) -> None:
    """The dispatcher delivers to the web chat mailbox; the server restarts before the citizen
    opens the page again; the notice and its PDF are still there, once."""
    from backend.db.models import Agency, ChannelIdentity
    from backend.services import citizens
    from tests.integration.conftest import BIRTH_FORM

    settings = Settings(seed_demo=True, database_url=fresh_db_url, data_dir=tmp_path / "var", ocr_workers=0)
    app = create_app(settings)
    async with TestClient(TestServer(app)) as client:
        b = Browser(client)
        await b.say("/start")  # the session cookie now names this citizen
        ident = await ChannelIdentity.get(channel="webchat")
        ctx = app[RUNTIME].ctx
        atts = [await citizens.store_attachment(ctx, citizen_id=ident.citizen_id, data=jpeg((i, 1, 2)),  # type: ignore[attr-defined]
                                                mime_type="image/jpeg", component=c)
                for i, c in enumerate(("birth_certificate", "declarant_id"))]
        agency = await Agency.get(level="commune")
        d = await uc.submit(ctx, identity_id=ident.id, procedure_slug="birth_registration", agency_id=agency.id,
                            form_data=BIRTH_FORM, attachment_ids=[a.id for a in atts])
        await uc.accept(ctx, actor_of(await Officer.get(username="hoathanh.motcua")), d.id)
        await app[RUNTIME].dispatcher.run_once()  # delivered to the mailbox; nobody is polling
        token = client.session.cookie_jar.filter_cookies(client.make_url("/chat"))["motcua_chat"].value
        assert token != ident.external_id  # the cookie is a server-issued token, not the engine's user id
    app2 = create_app(settings)
    async with TestClient(TestServer(app2), cookies={"motcua_chat": token}) as client2:
        b2 = Browser(client2)
        b2.last = b.last
        got = await b2.poll()
        assert texts(got).count("đã được tiếp nhận") == 1
        pdf = [m for m in got if m["kind"] == "document"]
        assert len(pdf) == 1 and (await (await client2.get(pdf[0]["file"])).read()).startswith(b"%PDF")


async def test_webchat_real_ocr_prefills_the_form(sqlite_template: Path, tmp_path: Path) -> None:
    """The real OcrReader (process pool, Tesseract) reads a generated birth certificate and ID
    card; the chat shows what it read and asks only what the papers do not say."""
    import shutil

    from backend.db.models import ConversationState
    from tests.ocr_docs import make_sample

    db = tmp_path / "app.sqlite3"
    shutil.copy(sqlite_template, db)
    cert, card = make_sample("birth_certificate", "flat", 1), make_sample("id_card", "flat", 2)
    settings = Settings(seed_demo=True, database_url=f"sqlite://{db}", data_dir=tmp_path / "var", ocr_workers=1)
    app = create_app(settings)
    async with TestClient(TestServer(app)) as client:
        b = Browser(client)
        await b.say(button="menu:submit")
        await b.say(button="proc:birth_registration")
        read = texts(await b.photo(cert.jpeg, "giay-chung-sinh.jpg"))
        assert "Tôi đọc được" in read and str(cert.truth["mother_name"]) in read
        await b.say(button="doc:next")
        assert str(card.truth["full_name"]) in texts(await b.photo(card.jpeg, "cccd.jpg"))
        await b.say(button="doc:next")
        asked: list[str] = []
        reply = await b.say(button="doc:skip")
        for _ in range(20):
            state = await ConversationState.get(channel="webchat")
            if state.step != "submit.field":
                break
            key = state.data["asking"]
            offered = buttons(reply)
            if f"ans:{key}:ok" not in offered:
                asked.append(key)  # asked because missing, not to confirm a reading
            if f"ans:{key}:ok" in offered:
                reply = await b.say(button=f"ans:{key}:ok")
            elif f"ans:{key}:0" in offered:
                reply = await b.say(button=f"ans:{key}:0")
            elif f"ans:{key}:skip" in offered:
                reply = await b.say(button=f"ans:{key}:skip")
            else:
                reply = await b.say({"father_name": "Nguyễn Văn An", "father_birth_year": "1990"}[key])
        assert state.step == "submit.review"
        form = state.data["form"]
        assert form["mother_name"] == cert.truth["mother_name"]
        assert form["child_birth_datetime"] == cert.truth["child_birth_datetime"]
        assert form["declarant_name"] == card.truth["full_name"]
        assert form["declarant_id_number"] == card.truth["id_number"]
        for read_from_papers in ("mother_name", "declarant_name", "declarant_id_number", "child_birth_place",
                                 "child_birth_datetime", "mother_residence"):
            assert read_from_papers not in asked
        assert "declarant_relationship" in asked and "parents_married" in asked
        done = await b.say(button="sub:confirm")
        d = await Dossier.get()
        assert d.code in texts(done)
        assert d.form_data["mother_birth_year"] == cert.truth["mother_birth_year"]
