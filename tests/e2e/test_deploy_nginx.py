"""The deployment's shape, for real: two ``motcua serve --role web`` and one ``--role worker``
as subprocesses on one PostgreSQL database and one data directory, behind a local nginx with
the upstream of deploy/nginx.conf. A citizen files a birth registration through nginx while one
web worker is killed (SIGKILL, between two messages) and restarted; an officer accepts it in
the console; nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.conftest import empty_pg_database
from tests.e2e.test_webchat import BIRTH_ANSWERS, buttons, jpeg, texts

pytestmark = [pytest.mark.deploy, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
MOTCUA = [sys.executable, "-m", "backend.cli"]
PASSWORD = "motcua-demo"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
WAIT = 60.0  # seconds: the bound on every wait in this test


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        pytest.fail("nginx is not installed (./dev test installs it)")
    return found


NGINX_CONF = """
worker_processes 1;
daemon off;
error_log {tmp}/error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream motcua_web {{
        least_conn;
        server 127.0.0.1:{web1} max_fails=1 fail_timeout=5s;
        server 127.0.0.1:{web2} max_fails=1 fail_timeout=5s;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 45m;
        location / {{
            proxy_pass http://motcua_web;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 60s;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


class Cluster:
    """The processes of one deployment; every one killed in ``stop``."""

    def __init__(self, tmp: Path, db_url: str) -> None:
        self.tmp = tmp
        self.env = dict(os.environ, MOTCUA_DATABASE_URL=db_url, MOTCUA_DATA_DIR=str(tmp / "var"),
                        MOTCUA_SECRET_KEY="deploy-test-" + uuid.uuid4().hex, MOTCUA_TRUSTED_PROXIES="127.0.0.1",
                        MOTCUA_OCR_WORKERS="0", MOTCUA_HOST="127.0.0.1", PYTHONPATH=str(ROOT))
        for var in ("MOTCUA_ENV", "MOTCUA_SEED_DEMO", "MOTCUA_PUBLIC_URL", "TELEGRAM_BOT_TOKEN", "ZALO_APP_ID"):
            self.env.pop(var, None)
        self.procs: dict[str, subprocess.Popen] = {}
        self.files: list = []  # the processes' log files, closed in stop
        self.ports = {"web1": _free_port(), "web2": _free_port(), "worker": _free_port(), "nginx": _free_port()}

    def run(self, *args: str) -> str:
        done = subprocess.run([*MOTCUA, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=WAIT)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def start(self, name: str) -> None:
        role = "worker" if name == "worker" else "web"
        log = self._log(f"{name}.log")
        self.procs[name] = subprocess.Popen([*MOTCUA, "serve", "--role", role, "--port", str(self.ports[name])],
                                            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start_nginx(self) -> None:
        conf = self.tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=self.tmp, port=self.ports["nginx"], web1=self.ports["web1"],
                                          web2=self.ports["web2"]))
        log = self._log("nginx.log")
        self.procs["nginx"] = subprocess.Popen([_nginx(), "-c", str(conf), "-p", str(self.tmp)],
                                               stdout=log, stderr=subprocess.STDOUT)

    def _log(self, name: str):  # noqa: ANN202
        f = open(self.tmp / name, "ab")  # noqa: SIM115 - open for the process's life, closed in stop
        self.files.append(f)
        return f

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=WAIT)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=WAIT)
        for f in self.files:
            f.close()

    def logs(self) -> str:
        tails = (f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.tmp.glob("*.log")))
        return "\n".join(tails)

    async def ready(self, name: str, path: str = "/healthz") -> None:
        port = self.ports[name]
        deadline = time.monotonic() + WAIT
        async with aiohttp.ClientSession() as s:
            while time.monotonic() < deadline:
                proc = self.procs.get(name)
                if proc is not None and proc.poll() is not None:
                    raise AssertionError(f"{name} exited with {proc.returncode}\n{self.logs()}")
                try:
                    async with s.get(f"http://127.0.0.1:{port}{path}", timeout=aiohttp.ClientTimeout(total=5)) as r:
                        if r.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"{name} not ready in {WAIT} s\n{self.logs()}")


class Citizen:
    """What chat.js does, through nginx: open a session, send, long-poll."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.s, self.base = session, base
        self.last, self.n = 0, 0
        self.seen: list[dict] = []
        self.upstreams: set[str] = set()

    async def _call(self, method: str, path: str, **kw) -> dict:  # noqa: ANN003
        async with self.s.request(method, self.base + path, timeout=aiohttp.ClientTimeout(total=WAIT), **kw) as r:
            assert r.status == 200, f"{method} {path}: {r.status} {await r.text()}"
            self.upstreams.add(r.headers.get("X-Upstream", ""))
            return await r.json()

    async def poll(self) -> list[dict]:
        data = await self._call("GET", f"/chat/api/poll?after={self.last}")
        new = [m for m in data["messages"] if m["seq"] > self.last]
        if new:
            self.last = new[-1]["seq"]
        self.seen += new
        return new

    async def say(self, text: str | None = None, button: str | None = None) -> list[dict]:
        self.n += 1
        await self._call("POST", "/chat/api/send", json={"text": text, "button": button, "event_id": f"e{self.n}"})
        return await self.poll()

    async def photo(self, data: bytes) -> list[dict]:
        self.n += 1
        form = aiohttp.FormData()
        form.add_field("event_id", f"e{self.n}")
        form.add_field("photo", data, filename="anh.jpg", content_type="image/jpeg")
        await self._call("POST", "/chat/api/send", data=form)
        return await self.poll()


class Officer:
    """A console browser through nginx: cookie jar, CSRF token."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.s, self.base, self.csrf = session, base, ""

    async def _page(self, method: str, path: str, data: list | None = None) -> tuple[aiohttp.ClientResponse, str]:
        if data is not None:
            data = [*data, ("csrf", self.csrf)]
        async with self.s.request(method, self.base + path, data=data, timeout=aiohttp.ClientTimeout(total=WAIT)) as r:
            text = await r.text()
        if m := CSRF.search(text):
            self.csrf = m.group(1)
        return r, text

    async def login(self, username: str) -> None:
        await self._page("GET", "/console/login")
        r, text = await self._page("POST", "/console/login", [("username", username), ("password", PASSWORD)])
        assert r.status == 200 and str(r.url).endswith("/console"), text[:500]

    async def act(self, dossier_id: int, action: str) -> str:
        _, page = await self._page("GET", f"/console/dossiers/{dossier_id}")
        version = re.search(r'name="version" value="(\d+)"', page)
        assert version, page[:500]
        r, text = await self._page("POST", f"/console/dossiers/{dossier_id}/act/{action}",
                                   [("version", version.group(1))])
        assert r.status == 200, text[:500]
        return text


@pytest.fixture
async def deploy_db() -> str:
    """A database of this test's own, dropped at the end (the workers hold their own pools)."""
    async with empty_pg_database("motcua_deploy") as url:
        yield url


async def _wait_for(citizen: Citizen, pred, what: str) -> list[dict]:  # noqa: ANN001
    """Long-poll until ``pred(messages seen so far)`` holds, within WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if pred(citizen.seen):
            return citizen.seen
        await citizen.poll()
    raise AssertionError(f"{what} did not arrive in {WAIT} s: {texts(citizen.seen)[-1500:]}")


async def test_birth_registration_through_nginx_survives_a_killed_web_worker(deploy_db: str, tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, deploy_db)
    db = await asyncpg.connect(deploy_db.replace("postgres://", "postgresql://"))
    try:
        cluster.run("migrate")
        cluster.run("seed-demo")
        for name in ("web1", "web2", "worker"):
            cluster.start(name)
        for name in ("web1", "web2", "worker"):
            await cluster.ready(name)
        cluster.start_nginx()
        await cluster.ready("nginx", "/chat")
        base = f"http://127.0.0.1:{cluster.ports['nginx']}"
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
            await _wait_for(c, lambda seen: any(m["kind"] == "document" for m in seen), "the acceptance notice")
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
