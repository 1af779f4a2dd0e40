"""A crash right after citizens press «Nộp hồ sơ»: the server is killed (SIGKILL) 0–80 ms
after several citizens confirm at once, then started again; each citizen ends up with exactly
one dossier holding all its photos, and the confirmation reply, on SQLite and PostgreSQL.

A real ``motcua serve`` process, driven over HTTP as the web chat page drives it; a request
cut by the crash is sent again with the same event id, as chat.js does.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from PIL import Image as PImage

from tests.e2e.test_webchat import BIRTH_ANSWERS

CITIZENS = int(os.environ.get("MOTCUA_CRASH_CITIZENS", "6"))
ROUNDS = int(os.environ.get("MOTCUA_CRASH_ROUNDS", "2"))
ROOT = Path(__file__).resolve().parents[2]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _jpeg(seed: int) -> bytes:
    buf = io.BytesIO()
    PImage.new("RGB", (320, 240), (seed % 255, 80, 160)).save(buf, "JPEG")
    return buf.getvalue()


class Server:
    def __init__(self, db_url: str, data_dir: Path) -> None:
        self.port = _port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, MOTCUA_DATABASE_URL=db_url, MOTCUA_DATA_DIR=str(data_dir),
                        MOTCUA_PORT=str(self.port), MOTCUA_OCR_WORKERS="0", MOTCUA_SECRET_KEY="crash-test-secret",
                        MOTCUA_INBOX_LEASE_SECONDS="3", NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
        self.log = data_dir.parent / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self, *, demo: bool = False) -> None:
        with self.log.open("ab") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, "-m", "backend.cli", "serve", *(["--demo"] if demo else [])], cwd=ROOT,
                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as s:
            while time.monotonic() < deadline:
                try:
                    async with s.get(self.base + "/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError("server did not start:\n" + self.log.read_text(errors="replace")[-3000:])

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


class Citizen:
    """What chat.js does, with its own cookie jar."""

    def __init__(self, server: Server, n: int) -> None:
        self.server, self.n, self.events = server, n, 0
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          timeout=aiohttp.ClientTimeout(total=30))

    async def send(self, text: str | None = None, button: str | None = None, event: str | None = None) -> int:
        if event is None:
            self.events += 1
            event = f"c{self.n}-e{self.events}"
        async with self.http.post(self.server.base + "/chat/api/send",
                                  json={"text": text, "button": button, "event_id": event}) as r:
            return r.status

    async def photo(self, data: bytes) -> int:
        self.events += 1
        form = aiohttp.FormData()
        form.add_field("event_id", f"c{self.n}-e{self.events}")
        form.add_field("photo", data, filename="giayto.jpg", content_type="image/jpeg")
        async with self.http.post(self.server.base + "/chat/api/send", data=form) as r:
            return r.status

    async def texts(self) -> str:
        async with self.http.get(self.server.base + "/chat/api/poll?after=0",
                                 timeout=aiohttp.ClientTimeout(total=40)) as r:
            body = await r.json()
        return "\n".join(m.get("text", "") for m in body["messages"])

    async def to_review(self) -> None:
        async with self.http.post(self.server.base + "/chat/api/session") as r:
            assert r.status == 200
        steps = [("/start", None), (None, "menu:submit"), (None, "proc:birth_registration")]
        for text, button in steps:
            assert await self.send(text, button) == 200
        assert await self.photo(_jpeg(self.n)) == 200
        assert await self.send(button="doc:next") == 200
        assert await self.photo(_jpeg(self.n + 100)) == 200
        assert await self.send(button="doc:next") == 200
        assert await self.send(button="doc:skip") == 200
        for answer in BIRTH_ANSWERS:
            assert await self.send(answer) == 200
        assert "Nguyễn Ngọc Diệp" in await self.texts()  # the review, with its «Nộp hồ sơ» button


async def _dossiers(db_url: str) -> list[tuple[int, int]]:
    """(identity id, photos) for every dossier."""
    sql = ("SELECT d.identity_id, (SELECT COUNT(*) FROM attachment a WHERE a.dossier_id = d.id) "
           "FROM dossier d ORDER BY d.id")
    if db_url.startswith("sqlite://"):
        with sqlite3.connect(db_url.removeprefix("sqlite://")) as conn:
            return [tuple(r) for r in conn.execute(sql)]  # type: ignore[misc]
    conn = await asyncpg.connect(db_url.replace("postgres://", "postgresql://"))
    try:
        return [(r[0], r[1]) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def _confirm(c: Citizen) -> int:
    try:
        return await c.send(button="sub:confirm", event=f"c{c.n}-confirm")
    except (TimeoutError, aiohttp.ClientError):
        return 0  # cut by the crash


@pytest.mark.timeout(600)
async def test_a_crash_right_after_submit_files_each_dossier_once(fresh_db_url: str, tmp_path: Path) -> None:
    server = Server(fresh_db_url, tmp_path / "var")
    rng = random.Random(20261201)
    citizens: list[Citizen] = []
    try:
        await server.start(demo=True)
        for round_no in range(ROUNDS):
            batch = [Citizen(server, round_no * 100 + i) for i in range(CITIZENS)]
            citizens += batch
            await asyncio.gather(*(c.to_review() for c in batch))
            pressed = [asyncio.create_task(_confirm(c)) for c in batch]
            await asyncio.sleep(rng.uniform(0.0, 0.08))
            server.kill()
            first = await asyncio.gather(*pressed)
            await server.start()
            # A press that got no answer is sent again by the page, with the same event id.
            for c, status in zip(batch, first, strict=True):
                if status != 200:
                    assert await _confirm(c) == 200
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if len(await _dossiers(fresh_db_url)) >= len(citizens):
                    break
                await asyncio.sleep(0.5)
        rows = await _dossiers(fresh_db_url)
        assert len(rows) == len(citizens), rows  # none lost
        assert len({identity for identity, _ in rows}) == len(citizens)  # none doubled
        assert all(photos == 2 for _, photos in rows), rows  # every photo with its own dossier
        for c in citizens:  # and each citizen was told, once (a reply cut by the crash comes later)
            deadline = time.monotonic() + 30
            while (said := await c.texts()).count("Đã nộp hồ sơ «") == 0 and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
            assert said.count("Đã nộp hồ sơ «") == 1, said[-500:]
    finally:
        for c in citizens:
            await c.http.close()
        server.stop()
