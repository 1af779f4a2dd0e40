"""Limits that hold across workers and channels: lookups by code on the page and in the chats
draw on the same buckets in the database, and X-Forwarded-For is believed only from a
configured trusted proxy."""

from __future__ import annotations

import itertools
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from backend.domain.messages import Inbound, Text
from backend.services.context import ServiceContext
from backend.services.ratelimits import LOOKUP
from backend.settings import Settings
from backend.web.app import create_app
from bot import texts
from bot.engine import Engine
from tests.fakes.memory_sender import MemorySender

UNKNOWN = "000.31.57.H57-261123-{:04d}"  # well-formed codes that match no dossier
_events = itertools.count(1)


def _app(url: str, tmp_path: Path, **kw: object):  # noqa: ANN202
    return create_app(Settings(database_url=url, data_dir=tmp_path / "var", ocr_workers=0, **kw))  # type: ignore[arg-type]


async def _type(engine: Engine, user: str, text: str, origin: str | None = None) -> None:
    await engine.handle(Inbound("mem", user, f"e{next(_events)}", text=text, origin=origin))


async def _no_files(att: object) -> bytes:
    raise AssertionError("no files in these tests")


def _limited(sender: MemorySender, user: str) -> int:
    head = texts.LOOKUP_LIMITED.split("{")[0]
    return sum(1 for m in sender.to(user) if isinstance(m, Text) and m.text.startswith(head))


async def test_codes_typed_in_a_chat_are_limited_like_the_page(db: str, ctx: ServiceContext) -> None:
    engine, sender = Engine(ctx), MemorySender()
    engine.register("mem", sender, _no_files)
    for i in range(int(LOOKUP.burst) + 5):
        await _type(engine, "guesser", UNKNOWN.format(i))
    assert _limited(sender, "guesser") == 5  # the 21st guess on is refused, not looked up
    await _type(engine, "neighbour", UNKNOWN.format(1))  # another chat has its own budget
    assert _limited(sender, "neighbour") == 0


async def test_many_chats_from_one_address_share_its_budget(db: str, ctx: ServiceContext) -> None:
    """Fresh web chat sessions are free; the client address they come from is not."""
    engine, sender = Engine(ctx), MemorySender()
    engine.register("mem", sender, _no_files)
    for i in range(int(LOOKUP.burst) + 10):
        await _type(engine, f"session-{i}", UNKNOWN.format(i), origin="198.51.100.20")
    assert sum(_limited(sender, f"session-{i}") for i in range(int(LOOKUP.burst) + 10)) == 10


async def test_page_and_chat_share_the_address_bucket(fresh_db_url: str, tmp_path: Path, ctx: ServiceContext) -> None:
    async with TestClient(TestServer(_app(fresh_db_url, tmp_path, trusted_proxies=("127.0.0.1",)))) as page:
        engine, sender = Engine(ctx), MemorySender()
        engine.register("mem", sender, _no_files)
        for i in range(int(LOOKUP.burst)):  # the whole minute's budget spent in the chat
            await _type(engine, f"s{i}", UNKNOWN.format(i), origin="203.0.113.5")
        resp = await page.get("/tra-cuu", params={"ma": UNKNOWN.format(99)},
                              headers={"X-Forwarded-For": "203.0.113.5"})
        assert resp.status == 429


async def test_forwarded_for_is_ignored_unless_from_a_trusted_proxy(fresh_db_url: str, tmp_path: Path) -> None:
    async with TestClient(TestServer(_app(fresh_db_url, tmp_path))) as c:
        statuses = [(await c.get("/tra-cuu", params={"ma": UNKNOWN.format(i)},
                                 headers={"X-Forwarded-For": f"192.0.2.{i}"})).status
                    for i in range(int(LOOKUP.burst) + 1)]
        assert statuses[:-1] == [404] * int(LOOKUP.burst) and statuses[-1] == 429  # a new header is no new client


async def test_a_trusted_proxy_passes_the_real_client_on(fresh_db_url: str, tmp_path: Path) -> None:
    async with TestClient(TestServer(_app(fresh_db_url, tmp_path, trusted_proxies=("127.0.0.0/8",)))) as c:
        for i in range(int(LOOKUP.burst)):
            await c.get("/tra-cuu", params={"ma": UNKNOWN.format(i)}, headers={"X-Forwarded-For": "192.0.2.1"})
        spent = await c.get("/tra-cuu", params={"ma": UNKNOWN.format(0)},
                            headers={"X-Forwarded-For": "192.0.2.1"})
        # A client cannot hide behind a forged first hop: the right-most untrusted one counts.
        forged = await c.get("/tra-cuu", params={"ma": UNKNOWN.format(0)},
                             headers={"X-Forwarded-For": "10.9.9.9, 192.0.2.1"})
        other = await c.get("/tra-cuu", params={"ma": UNKNOWN.format(0)},
                            headers={"X-Forwarded-For": "192.0.2.2"})
        assert (spent.status, forged.status, other.status) == (429, 429, 404)


async def test_two_workers_share_one_limit(fresh_db_url: str, tmp_path: Path) -> None:
    """Two app processes on one database (as two workers would be) allow the limit once."""
    async with TestClient(TestServer(_app(fresh_db_url, tmp_path / "a"))) as a, \
            TestClient(TestServer(_app(fresh_db_url, tmp_path / "b"))) as b:
        statuses = [(await (a if i % 2 else b).get("/tra-cuu", params={"ma": UNKNOWN.format(i)})).status
                    for i in range(int(LOOKUP.burst) + 2)]
    assert statuses.count(404) == int(LOOKUP.burst) and statuses[-2:] == [429, 429]
