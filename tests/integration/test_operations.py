"""Operations on the real app: /metrics figures, /readyz checks, request ids, JSON logs
without personal data, and a SIGTERM that drains at once with a long poll open."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from telegram.error import RetryAfter
from tortoise import Tortoise

from backend.db.models import InboundUpdate, KeyValue, OutboxMessage
from backend.notify.dispatcher import HEARTBEAT_KEY
from backend.services import logctx
from backend.services.clock import SetClock
from backend.settings import Settings
from backend.web.app import RUNTIME, create_app
from bot.channels.telegram import _delivery_error
from tests.conftest import PG_ADMIN

ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


async def scrape(client: TestClient) -> dict[tuple[str, tuple], float]:
    resp = await client.get("/metrics")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
    return samples(await resp.text())


async def heartbeat_written() -> None:
    for _ in range(100):
        if await KeyValue.exists(key=HEARTBEAT_KEY):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the dispatcher wrote no heartbeat")


def app_for(url: str, tmp_path: Path, clock: SetClock | None = None):  # noqa: ANN201
    return create_app(Settings(database_url=url, data_dir=tmp_path / "var", ocr_workers=0), clock=clock)


async def test_metrics_show_turns_queues_and_rate_limits(fresh_db_url: str, tmp_path: Path) -> None:
    async with TestClient(TestServer(app_for(fresh_db_url, tmp_path))) as client:
        before = await scrape(client)
        turn = await client.post("/chat/api/send", json={"text": "/start", "event_id": "e1"})
        assert turn.status == 200
        _delivery_error(RetryAfter(timedelta(seconds=5)))  # a 429 from the Bot API
        now = datetime.now(UTC)
        later = now + timedelta(hours=1)  # not yet due: the dispatcher leaves it pending
        waiting = await OutboxMessage.create(kind="accepted", recipient="citizen", next_attempt_at=later)
        await OutboxMessage.filter(id=waiting.id).update(created_at=now - timedelta(seconds=300))
        await OutboxMessage.create(kind="accepted", recipient="citizen", status="held")
        await InboundUpdate.create(channel="telegram", event_id="u1", user_id="5550001", payload={},
                                   received_at=now - timedelta(seconds=40), claimed_until=later)
        after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("motcua_turns_total", channel="webchat", outcome="ok") == 1
    assert delta("motcua_turn_seconds_count", channel="webchat") == 1
    assert delta("motcua_rate_limited_total", channel="telegram") == 1
    assert after[("motcua_outbox_pending", (("recipient", "citizen"),))] == 1
    assert 300 <= after[("motcua_outbox_oldest_pending_seconds", (("recipient", "citizen"),))] < 400
    assert after[("motcua_outbox_held", (("recipient", "citizen"),))] == 1
    assert after[("motcua_inbox_pending", (("channel", "telegram"),))] == 1
    assert 40 <= after[("motcua_inbox_oldest_pending_seconds", (("channel", "telegram"),))] < 140


async def test_readyz_ready_then_stale_heartbeat_then_missing_migration(fresh_db_url: str, tmp_path: Path,
                                                                        clock: SetClock) -> None:
    app = app_for(fresh_db_url, tmp_path, clock)
    async with TestClient(TestServer(app)) as client:
        await heartbeat_written()
        ready = await client.get("/readyz")
        assert ready.status == 200, await ready.text()
        assert (await ready.json())["checks"]["dispatcher"]["ok"] is True
        assert (await (await client.get("/healthz")).json()) == {"ok": True}

        app[RUNTIME].dispatcher.stop()  # the dispatcher (here or in another worker) is gone
        await asyncio.sleep(0.1)
        clock.advance(seconds=90)
        stale = await client.get("/readyz")
        assert stale.status == 503
        checks = (await stale.json())["checks"]
        assert checks["dispatcher"] == {"ok": False, "heartbeat_age_seconds": 90.0}
        assert checks["database"]["ok"] and checks["migrations"]["ok"]

        clock.advance(seconds=-90)
        conn = Tortoise.get_connection("default")
        await conn.execute_query("UPDATE tortoise_migrations SET name = 'x' WHERE name = '0003_inbox'")
        try:
            behind = await client.get("/readyz")
        finally:  # the PostgreSQL database is shared by the session's tests
            await conn.execute_query("UPDATE tortoise_migrations SET name = '0003_inbox' WHERE name = 'x'")
        assert behind.status == 503
        assert (await behind.json())["checks"]["migrations"] == {"ok": False, "missing": ["0003_inbox"]}


@pytest.mark.postgres
async def test_readyz_fails_when_the_database_is_down(pg_url: str, tmp_path: Path) -> None:
    name = pg_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(PG_ADMIN.replace("postgres://", "postgresql://"))
    try:
        async with TestClient(TestServer(app_for(pg_url, tmp_path))) as client:
            await heartbeat_written()
            assert (await client.get("/readyz")).status == 200
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = $1 AND pid <> pg_backend_pid()", name)
            down = await client.get("/readyz")
            assert down.status == 503
            checks = (await down.json())["checks"]
            assert checks["database"]["ok"] is False and "error" in checks["database"]
            assert (await client.get("/healthz")).status == 200  # alive, only not ready
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


async def test_request_id_kept_when_sane_and_made_otherwise(fresh_db_url: str, tmp_path: Path) -> None:
    async with TestClient(TestServer(app_for(fresh_db_url, tmp_path))) as client:
        kept = await client.get("/healthz", headers={"X-Request-Id": "nginx-7f3a.01"})
        assert kept.headers["X-Request-Id"] == "nginx-7f3a.01"
        made = await client.get("/healthz", headers={"X-Request-Id": "<script>alert(1)</script>"})
        assert len(made.headers["X-Request-Id"]) == 32 and "<" not in made.headers["X-Request-Id"]
        missing = await client.get("/no-such-page")
        assert missing.status == 404 and len(missing.headers["X-Request-Id"]) == 32


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logctx.JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_json_log_line_has_ids_and_no_personal_numbers() -> None:
    lines = _Lines()
    log = logging.getLogger("motcua.test")
    log.setLevel(logging.DEBUG)
    log.addHandler(lines)
    try:
        with logctx.bind(request="r1", update="telegram:42", channel="telegram"), logctx.bind(dossier=7):
            log.warning("citizen wrote %s / %s", "072090001234", "0912 345 678")
        log.info("outside")
    finally:
        log.removeHandler(lines)
    first, second = (json.loads(x) for x in lines.lines)
    assert first["level"] == "WARNING" and first["logger"] == "motcua.test" and first["time"].endswith("+00:00")
    assert (first["request"], first["update"], first["channel"], first["dossier"]) == ("r1", "telegram:42",
                                                                                       "telegram", 7)
    assert "072090001234" not in lines.lines[0] and "345 678" not in lines.lines[0]
    assert "request" not in second


async def test_turn_with_id_and_phone_logs_neither(fresh_db_url: str, tmp_path: Path) -> None:
    lines = _Lines()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(lines)
    root.setLevel(logging.DEBUG)
    try:
        async with TestClient(TestServer(app_for(fresh_db_url, tmp_path))) as client:
            for i, text in enumerate(["/start", "CCCD 072090001234, SĐT 0912345678", "072090001234"]):
                resp = await client.post("/chat/api/send", json={"text": text, "event_id": f"e{i}"})
                assert resp.status == 200
    finally:
        root.removeHandler(lines)
        root.setLevel(old_level)
    assert lines.lines  # the app did log (start-up, requests)
    assert not [x for x in lines.lines if "072090001234" in x or "0912345678" in x]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_sigterm_with_an_open_long_poll_exits_at_once(fresh_db_url: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOTCUA_", "TELEGRAM_", "ZALO_"))}
    env |= {"MOTCUA_DATABASE_URL": fresh_db_url, "MOTCUA_DATA_DIR": str(tmp_path / "var"),
            "MOTCUA_PORT": str(port), "MOTCUA_OCR_WORKERS": "0", "MOTCUA_LOG_FORMAT": "json"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "backend.cli", "serve", cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            for _ in range(200):
                try:
                    async with http.get(f"{base}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the server did not start")
            async with http.post(f"{base}/chat/api/send", json={"text": "/start", "event_id": "e1"}) as r:
                assert r.status == 200
            async with http.get(f"{base}/chat/api/poll?after=0") as r:
                last = (await r.json())["last"]
            poll = asyncio.create_task(http.get(f"{base}/chat/api/poll?after={last}"))
            await asyncio.sleep(0.5)  # the poll is waiting now
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            rc = await asyncio.wait_for(proc.wait(), 20)
            took = time.monotonic() - started
            answered = await poll
            assert answered.status == 200
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    err = (await proc.stderr.read()).decode()  # type: ignore[union-attr]
    assert rc == 0, err
    assert took < 5, f"shutdown took {took:.1f} s"
    assert all(json.loads(line)["level"] for line in err.splitlines() if line.startswith("{"))
