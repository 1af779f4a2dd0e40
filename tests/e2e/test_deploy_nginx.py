"""The deployment's shape, for real: two ``motcua serve --role web`` and one ``--role worker``
as subprocesses on one PostgreSQL database and one data directory, behind a local nginx with
the upstream of deploy/nginx.conf. A citizen files a birth registration through nginx while one
web worker is killed (SIGKILL, between two messages) and restarted; an officer accepts it in
the console; nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.conftest import empty_pg_database
from tests.e2e.cluster import Citizen, Cluster, Officer, wait_for
from tests.e2e.test_webchat import BIRTH_ANSWERS, buttons, jpeg, texts

pytestmark = [pytest.mark.deploy, pytest.mark.postgres]


@pytest.fixture
async def deploy_db() -> str:
    """A database of this test's own, dropped at the end (the workers hold their own pools)."""
    async with empty_pg_database("motcua_deploy") as url:
        yield url


async def test_birth_registration_through_nginx_survives_a_killed_web_worker(deploy_db: str, tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, deploy_db)
    db = await asyncpg.connect(deploy_db.replace("postgres://", "postgresql://"))
    try:
        base = await cluster.bring_up()
        # The worker's port answers probes only: the chat lives on the web workers.
        async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{cluster.ports['worker']}/chat") as r:
            assert r.status == 404

        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
            c = Citizen(browser, base)
            await c._call("POST", "/chat/api/session")
            assert "menu:submit" in buttons(await c.say("/start"))
            assert "proc:birth_registration" in buttons(await c.say(button="menu:submit"))
            assert "Giấy chứng sinh" in texts(await c.say(button="proc:birth_registration"))
            assert "doc:next" in buttons(await c.photo(jpeg()))
            await c.say(button="doc:next")
            await c.photo(jpeg((10, 20, 30)))
            assert "doc:skip" in buttons(await c.say(button="doc:next"))
            await c.say(button="doc:skip")
            half = len(BIRTH_ANSWERS) // 2
            for answer in BIRTH_ANSWERS[:half]:
                assert await c.say(answer), f"no reply to {answer!r}"
            # Between two turns: one web worker dies hard; nginx sends the rest to the other.
            cluster.kill("web1")
            for answer in BIRTH_ANSWERS[half:-3]:
                assert await c.say(answer), f"no reply to {answer!r}"
            cluster.start("web1")
            await cluster.ready("web1")
            for answer in BIRTH_ANSWERS[-3:-1]:
                assert await c.say(answer), f"no reply to {answer!r}"
            review = await c.say(BIRTH_ANSWERS[-1])
            assert "Nguyễn Ngọc Diệp" in texts(review) and "sub:confirm" in buttons(review)
            done = await c.say(button="sub:confirm")

            dossiers = await db.fetch("SELECT id, code FROM dossier")
            assert len(dossiers) == 1, dossiers
            dossier_id, code = dossiers[0]["id"], dossiers[0]["code"]
            assert code in texts(done)
            photos = await db.fetchval("SELECT count(*) FROM attachment WHERE dossier_id = $1", dossier_id)
            assert photos == 2
            ports = {f"127.0.0.1:{cluster.ports[n]}" for n in ("web1", "web2")}
            assert ports <= c.upstreams, f"both web workers should have served the citizen: {c.upstreams}"

            # The officer accepts in the console, through nginx; the worker's dispatcher delivers.
            await db.execute("UPDATE officer SET must_change_password = false WHERE username = 'hoathanh.motcua'")
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as console:
                officer = Officer(console, base)
                await officer.login("hoathanh.motcua")
                await officer.act(dossier_id, "accept")
            assert await db.fetchval("SELECT status FROM dossier WHERE id = $1", dossier_id) == "awaiting_assignment"
            await wait_for(c, lambda seen: any(m["kind"] == "document" for m in seen), "the acceptance notice")
            await asyncio.sleep(3)  # a doubled notice would come right behind the first
            await c.poll()

        seen = texts(c.seen)
        assert seen.count("đã được tiếp nhận") == 1, seen[-1500:]
        assert len([m for m in c.seen if m["kind"] == "document"]) == 1
        assert await db.fetchval("SELECT count(*) FROM dossier") == 1
        stuck = await db.fetch("SELECT id, status FROM outbox_message WHERE status NOT IN ('sent', 'held')")
        assert not stuck, stuck
        # The mailbox itself: the acceptance once, whatever the poller saw.
        rows = await db.fetch("SELECT item FROM webchat_message")
        stored = [json.loads(r["item"]) if isinstance(r["item"], str) else r["item"] for r in rows]
        assert sum("đã được tiếp nhận" in (m.get("text") or "") for m in stored) == 1
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        cluster.stop()
        await db.close()
