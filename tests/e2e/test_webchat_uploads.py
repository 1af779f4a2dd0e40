"""Web chat uploads under load: spooled to owner-only files any worker can read, bounded in
flight (503 + Retry-After beyond it, the page sends again), none dropped, none handled twice."""

from __future__ import annotations

import asyncio
import io
import os
import random
import stat
from pathlib import Path

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image as PImage

from backend.db.models import Attachment
from backend.domain.messages import DeliveryError, Inbound
from backend.services import retention, webchat_sessions
from backend.services.clock import SetClock
from backend.services.context import ServiceContext
from backend.services.files import spool_dir
from backend.settings import RetentionSettings, Settings, WebchatSettings
from backend.web.app import RUNTIME, create_app
from bot.channels.webchat import BUSY_UPLOAD, WebChat

CITIZENS = int(os.environ.get("MOTCUA_UPLOAD_CITIZENS", "100"))  # bench/uploads.py runs 500


def photo(seed: int, side: tuple[int, int] = (680, 500)) -> bytes:
    """A distinct ~300 KB JPEG (noise compresses badly, like a phone photo)."""
    rnd = random.Random(seed)
    img = PImage.frombytes("RGB", side, rnd.randbytes(side[0] * side[1] * 3))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def form(event_id: str, data: bytes) -> FormData:
    f = FormData()
    f.add_field("event_id", event_id)
    f.add_field("photo", data, filename="anh.jpg", content_type="image/jpeg")
    return f


async def send_photo(client: TestClient, event_id: str, data: bytes, pace: float = 0.0) -> int:
    """What chat.js does: POST, and on 503 wait Retry-After (shortened here) and send the same
    event again; ``pace`` s between 32 KB pieces, like a phone on a mobile network."""
    busy = 0
    while True:
        if pace:
            body, ctype = await encoded(form(event_id, data))
            resp = await client.post("/chat/api/send", data=_paced(body, pace), headers={"Content-Type": ctype})
        else:
            resp = await client.post("/chat/api/send", data=form(event_id, data))
        if resp.status == 200:
            return busy
        assert resp.status == 503, await resp.text()
        body = await resp.json()
        assert body["error"] == BUSY_UPLOAD and int(resp.headers["Retry-After"]) >= 1
        busy += 1
        await asyncio.sleep(random.uniform(0.02, 0.2))


async def last_seq(client: TestClient) -> int:
    """The newest message the citizen's page has seen."""
    r = await client.get("/chat/api/poll?after=0")
    assert r.status == 200
    return int((await r.json())["last"])


async def answer(client: TestClient, after: int, within: float = 60.0) -> list[dict[str, object]]:
    """The bot's messages after ``after``, long-polling as the page does until some arrive."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        r = await client.get(f"/chat/api/poll?after={after}")
        assert r.status == 200
        if messages := (await r.json())["messages"]:
            return list(messages)
    return []


async def _paced(body: bytes, pace: float):  # noqa: ANN202
    for i in range(0, len(body), 32 * 1024):
        yield body[i:i + 32 * 1024]
        await asyncio.sleep(pace)


def _private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


async def test_many_citizens_upload_at_once_none_dropped(fresh_db_url: str, tmp_path: Path) -> None:
    settings = Settings(seed_demo=True, database_url=fresh_db_url, data_dir=tmp_path / "var", ocr_workers=0,
                        webchat=WebchatSettings(sessions_per_minute=100_000))  # all from one address
    app = create_app(settings)
    app[RUNTIME].extras["webchat_options"] = {"uploads_in_flight": 8}  # small, so some are refused
    server = TestServer(app)
    async with server:
        clients = [TestClient(server) for _ in range(CITIZENS)]  # one cookie jar per citizen
        try:
            async def to_photo_step(c: TestClient) -> None:
                assert (await c.post("/chat/api/session")).status == 200
                for n, button in enumerate(("menu:submit", "proc:birth_registration")):
                    r = await c.post("/chat/api/send", json={"button": button, "event_id": f"b{n}"})
                    assert r.status == 200, await r.text()

            for i in range(0, CITIZENS, 25):  # get there in groups: the load under test is the uploads
                await asyncio.gather(*(to_photo_step(c) for c in clients[i:i + 25]))
            before = await Attachment.all().count()
            seen = [await last_seq(c) for c in clients]
            images = [photo(i) for i in range(CITIZENS)]
            assert all(250_000 < len(b) < 400_000 for b in images[:3])
            busy = await asyncio.gather(*(send_photo(c, "p1", images[i], pace=0.005) for i, c in enumerate(clients)))
            answers = await asyncio.gather(*(answer(c, after) for c, after in zip(clients, seen, strict=True)))
            assert all(answers), f"{answers.count([])} of {CITIZENS} citizens got no answer to their photo"

            rows = await Attachment.filter(id__gt=0).values_list("content_hash", "size")
            assert len(rows) - before == CITIZENS  # every upload handled once: none dropped, none twice
            assert sorted(s for _, s in rows[before:]) == sorted(len(b) for b in images)
            assert sum(busy) > 0  # the bound held: some were refused and sent again
            spooled = list(spool_dir(settings.files_dir).iterdir())
            assert spooled and all(_private(p) for p in spooled)
            assert _private(spool_dir(settings.files_dir))
        finally:
            for c in clients:
                await c.session.close()


class _Worker:
    """One web worker's channel on a real server, handing inbounds to a list."""

    def __init__(self, spool: Path, **options: object) -> None:
        self.handled: list[Inbound] = []
        self.gate: asyncio.Event | None = None

        async def handle(inbound: Inbound) -> None:
            self.handled.append(inbound)

        self.chat = WebChat(handle, sessions=webchat_sessions, uploads_dir=spool, **options)  # type: ignore[arg-type]
        app = web.Application()
        self.chat.setup(app)
        self.client = TestClient(TestServer(app))


async def test_upload_is_read_by_another_worker_and_again_on_a_retried_turn(db: str, tmp_path: Path) -> None:
    spool = tmp_path / "files" / "uploads"
    a, b = _Worker(spool), _Worker(spool)
    async with a.client, b.client:
        await a.client.post("/chat/api/session")
        data = photo(1)
        assert await send_photo(a.client, "e1", data) == 0
        (inbound,) = a.handled
        (att,) = inbound.attachments
        # The inbox may hand the turn to any worker, and a crashed turn runs again: both read it.
        assert await b.chat.fetch(att) == data
        assert await b.chat.fetch(att) == data
        (path,) = spool.iterdir()
        assert _private(path) and _private(spool) and path.name == att.ref
        await b.chat.release(inbound)  # the turn was handled: the spooled copy goes
        assert not list(spool.iterdir())
        with pytest.raises(DeliveryError):
            await a.chat.fetch(att)


async def test_busy_answers_503_and_the_page_sends_again(db: str, tmp_path: Path) -> None:
    spool = tmp_path / "uploads"
    w = _Worker(spool, uploads_in_flight=1)
    async with w.client:
        await w.client.post("/chat/api/session")
        go = asyncio.Event()
        first = photo(2)
        body, ctype = await encoded(form("slow", first))

        async def slow():  # noqa: ANN202 - a phone on a bad line: the photo arrives late
            yield body[:2000]
            await go.wait()
            yield body[2000:]

        slow_send = asyncio.create_task(w.client.post("/chat/api/send", data=slow(),
                                                      headers={"Content-Type": ctype}))
        for _ in range(100):
            await asyncio.sleep(0.01)
            if w.chat._receiving:  # the slot is taken
                break
        refused = await w.client.post("/chat/api/send", data=form("e2", photo(3)))
        assert refused.status == 503 and refused.headers["Retry-After"] == "1"
        assert (await refused.json())["error"] == BUSY_UPLOAD
        assert not w.handled and not list(spool.glob("[!.]*"))  # nothing of the refused one kept
        go.set()
        assert (await slow_send).status == 200
        assert await send_photo(w.client, "e2", photo(3)) == 0  # the page's retry, same event id
        assert [i.event_id.split(":")[1] for i in w.handled] == ["slow", "e2"]
        assert [await w.chat.fetch(i.attachments[0]) for i in w.handled] == [first, photo(3)]
        assert w.chat._receiving == 0


class _Sink:
    """A writer for aiohttp's payload.write: collects the encoded multipart body."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()

    async def write(self, data: bytes) -> None:
        self.buf.write(data)


async def encoded(f: FormData) -> tuple[bytes, str]:
    payload = f()
    sink = _Sink()
    await payload.write(sink)  # type: ignore[arg-type]
    return sink.buf.getvalue(), payload.content_type


async def test_too_big_is_reported_by_size_and_not_kept(db: str, tmp_path: Path) -> None:
    spool = tmp_path / "uploads"
    w = _Worker(spool, max_upload=100_000)
    async with w.client:
        await w.client.post("/chat/api/session")
        data = photo(4)
        await send_photo(w.client, "big", data)
        (att,) = w.handled[0].attachments
        assert att.size == len(data)
        assert not list(spool.iterdir())  # nothing past the limit written, no partial file left
        with pytest.raises(DeliveryError):
            await w.chat.fetch(att)


async def test_retention_purges_spooled_uploads_after_a_day(db: str, ctx: ServiceContext, clock: SetClock) -> None:
    spool = spool_dir(ctx.files_dir)
    spool.mkdir(parents=True)
    old, fresh = spool / "old", spool / "fresh"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    now = clock.now().timestamp()
    os.utime(old, (now - 25 * 3600, now - 25 * 3600))
    os.utime(fresh, (now - 23 * 3600, now - 23 * 3600))
    counts = await retention.purge(ctx, RetentionSettings())
    assert counts["spooled_uploads"] == 1
    assert not old.exists() and fresh.exists()
