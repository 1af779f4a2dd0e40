"""The deployment's shape as real processes, shared by the deploy and chaos tests and bench/chaos.py:
``Cluster`` runs ``motcua serve --role web|worker`` subprocesses on one PostgreSQL database and one
data directory behind a local nginx; ``Citizen`` and ``Officer`` drive them over HTTP as the web
chat page and a console browser do."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from tests.e2e.test_webchat import BIRTH_ANSWERS, jpeg, texts

ROOT = Path(__file__).resolve().parents[2]
MOTCUA = [sys.executable, "-m", "backend.cli"]
PASSWORD = "motcua-demo"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
WAIT = 60.0  # seconds: the bound on every wait in this test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError("nginx is not installed (./dev test installs it)")
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

    def __init__(self, tmp: Path, db_url: str, **env: str) -> None:
        self.tmp = tmp
        self.env = dict(os.environ, MOTCUA_DATABASE_URL=db_url, MOTCUA_DATA_DIR=str(tmp / "var"),
                        MOTCUA_SECRET_KEY="deploy-test-" + uuid.uuid4().hex, MOTCUA_TRUSTED_PROXIES="127.0.0.1",
                        MOTCUA_OCR_WORKERS="0", MOTCUA_HOST="127.0.0.1", PYTHONPATH=str(ROOT))
        for var in ("MOTCUA_ENV", "MOTCUA_SEED_DEMO", "MOTCUA_PUBLIC_URL", "TELEGRAM_BOT_TOKEN", "ZALO_APP_ID"):
            self.env.pop(var, None)
        self.env.update(env)
        self.procs: dict[str, subprocess.Popen] = {}
        self.files: list = []  # the processes' log files, closed in stop
        self.ports = {"web1": free_port(), "web2": free_port(), "worker": free_port(), "nginx": free_port()}

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
        self.procs["nginx"] = subprocess.Popen([nginx_binary(), "-c", str(conf), "-p", str(self.tmp)],
                                               stdout=log, stderr=subprocess.STDOUT)

    def _log(self, name: str):  # noqa: ANN202
        f = open(self.tmp / name, "ab")  # noqa: SIM115 - open for the process's life, closed in stop
        self.files.append(f)
        return f

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=WAIT)

    async def restart(self, name: str) -> None:
        """Kill ``name`` hard (SIGKILL) and start it again at once; back when it answers."""
        self.kill(name)
        self.start(name)
        await self.ready(name)

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

    async def bring_up(self) -> str:
        """Migrate once, seed the demo, start both web workers, the worker and nginx; the
        address citizens and officers use (nginx)."""
        self.run("migrate")
        self.run("seed-demo")
        for name in ("web1", "web2", "worker"):
            self.start(name)
        for name in ("web1", "web2", "worker"):
            await self.ready(name)
        self.start_nginx()
        await self.ready("nginx", "/chat")
        return f"http://127.0.0.1:{self.ports['nginx']}"


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


async def wait_for(citizen: Citizen, pred, what: str) -> list[dict]:  # noqa: ANN001
    """Long-poll until ``pred(messages seen so far)`` holds, within WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if pred(citizen.seen):
            return citizen.seen
        await citizen.poll()
    raise AssertionError(f"{what} did not arrive in {WAIT} s: {texts(citizen.seen)[-1500:]}")


# --- The chaos run: many citizens and officers while processes are killed at random ----------

RETRY = (429, 502, 503, 504)  # what a crash (or a busy worker) answers: the client sends again


@dataclass
class ChaosReport:
    """What a chaos run did and found; ``problems`` empty means nothing lost or doubled."""

    citizens: int = 0
    inputs: int = 0
    retried: int = 0  # requests sent again after a cut connection or a 5xx/429
    officer_actions: int = 0
    officer_retries: int = 0
    kills: dict[str, int] = field(default_factory=dict)
    restarts: int = 0
    dossiers: int = 0
    accepted: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def problems(self) -> list[str]:
        return self.lost + self.doubled

    def table(self) -> str:
        rows = [("citizens", self.citizens), ("citizen inputs sent", self.inputs),
                ("requests sent again", self.retried), ("officer accepts (2 may race)", self.officer_actions),
                ("officer requests sent again", self.officer_retries),
                ("kills (SIGKILL)", sum(self.kills.values())),
                ("  by process", ", ".join(f"{k} {v}" for k, v in sorted(self.kills.items())) or "-"),
                ("restarts", self.restarts), ("dossiers filed", self.dossiers), ("dossiers accepted", self.accepted),
                ("lost found", len(self.lost)), ("doubled found", len(self.doubled)),
                ("wall time (s)", f"{self.seconds:.1f}")]
        lines = [f"{name:<30} {value}" for name, value in rows]
        lines += [f"LOST: {x}" for x in self.lost[:20]] + [f"DOUBLED: {x}" for x in self.doubled[:20]]
        return "\n".join(lines)


class ChaosCitizen:
    """A web chat page as chat.js drives it: a send cut by a crash goes again, same event id."""

    def __init__(self, base: str, n: int, rng: random.Random, report: ChaosReport, pace: float) -> None:
        self.base, self.n, self.rng, self.report, self.pace = base, n, rng, report, pace
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          timeout=aiohttp.ClientTimeout(total=WAIT))
        self.events: list[str] = []  # every event id this page sent (and got a 200 for)
        self.fresh_sessions = 0  # sends answered "fresh": the page's session was lost

    async def _post(self, path: str, body) -> dict:  # noqa: ANN001 - a JSON dict, or a FormData factory
        deadline = time.monotonic() + 3 * WAIT
        while time.monotonic() < deadline:
            try:
                kw = {"data": body()} if callable(body) else {"json": body}
                async with self.http.post(self.base + path, **kw) as r:
                    if r.status == 200:
                        return await r.json()
                    if r.status not in RETRY:
                        raise AssertionError(f"citizen {self.n} {path}: {r.status} {await r.text()}")
                    wait = float(r.headers.get("Retry-After", "0") or 0)
            except (aiohttp.ClientError, TimeoutError):
                wait = 0.0
            self.report.retried += 1
            await asyncio.sleep(wait + self.rng.uniform(0.2, 0.6))
        raise AssertionError(f"citizen {self.n}: {path} never answered in {3 * WAIT} s")

    async def send(self, text: str | None = None, button: str | None = None, photo: bytes | None = None) -> None:
        event = f"c{self.n}-e{len(self.events) + 1}"
        if photo is None:
            body = {"text": text, "button": button, "event_id": event}
        else:
            def body() -> aiohttp.FormData:  # a FormData is spent once sent: a new one per try
                form = aiohttp.FormData()
                form.add_field("event_id", event)
                form.add_field("photo", photo, filename="giayto.jpg", content_type="image/jpeg")
                return form
        answer = await self._post("/chat/api/send", body)
        if answer.get("fresh") and self.events:
            self.fresh_sessions += 1
        self.events.append(event)
        self.report.inputs += 1
        await asyncio.sleep(self.rng.uniform(0, self.pace))

    async def submit(self) -> None:
        """A whole birth registration: two photos, the answers, «Nộp hồ sơ»."""
        await self._post("/chat/api/session", {})
        await self.send("/start")
        await self.send(button="menu:submit")
        await self.send(button="proc:birth_registration")
        await self.send(photo=jpeg((self.n % 250, 80, 160)))
        await self.send(button="doc:next")
        await self.send(photo=jpeg((10, self.n % 250, 30)))
        await self.send(button="doc:next")
        await self.send(button="doc:skip")
        for answer in BIRTH_ANSWERS:
            await self.send(answer)
        await self.send(button="sub:confirm")


class ChaosOfficer:
    """A console browser accepting filed dossiers; a POST cut by a crash is tried again (the
    version guard makes a repeat harmless), done once the dossier has moved on."""

    def __init__(self, base: str, db: asyncpg.Pool, rng: random.Random, report: ChaosReport) -> None:
        self.rng, self.report, self.db = rng, report, db
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.console = Officer(self.http, base)

    async def _status(self, dossier_id: int) -> str:
        return await self.db.fetchval("SELECT status FROM dossier WHERE id = $1", dossier_id)

    async def _retrying(self, what, done) -> None:  # noqa: ANN001
        deadline = time.monotonic() + 3 * WAIT
        while time.monotonic() < deadline:
            try:
                await what()
            except (aiohttp.ClientError, TimeoutError, AssertionError):
                pass  # cut by a crash, or a 502 page: look whether it took effect, else again
            if await done():
                return
            self.report.officer_retries += 1
            await asyncio.sleep(self.rng.uniform(0.2, 0.6))
        raise AssertionError("an officer request never went through")

    async def login(self) -> None:
        async def logged_in() -> bool:
            return bool(self.console.csrf) and await self._page_ok()
        await self._retrying(lambda: self.console.login("hoathanh.motcua"), logged_in)

    async def _page_ok(self) -> bool:
        try:
            r, _ = await self.console._page("GET", "/console")
            return r.status == 200 and str(r.url).endswith("/console")
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def accept(self, dossier_id: int) -> None:
        async def moved_on() -> bool:
            return await self._status(dossier_id) != "submitted"
        await self._retrying(lambda: self.console.act(dossier_id, "accept"), moved_on)
        self.report.officer_actions += 1

    async def close(self) -> None:
        await self.http.close()


async def _chaos_loop(cluster: Cluster, rng: random.Random, report: ChaosReport, max_kills: int,
                      gap: tuple[float, float], running: asyncio.Event) -> None:
    """SIGKILL a random web or background worker every ``gap`` seconds, restarting it at once."""
    while running.is_set() and sum(report.kills.values()) < max_kills:
        await asyncio.sleep(rng.uniform(*gap))
        if not running.is_set():
            return
        name = rng.choice(("web1", "web2", "worker"))
        report.kills[name] = report.kills.get(name, 0) + 1
        await cluster.restart(name)
        report.restarts += 1


async def _officers(base: str, db: asyncpg.Pool, rng: random.Random, report: ChaosReport, count: int,
                    citizens_done: asyncio.Event) -> None:
    """``count`` officers taking filed dossiers as they come (two may take the same one)."""
    officers = [ChaosOfficer(base, db, rng, report) for _ in range(count)]
    try:
        await asyncio.gather(*(o.login() for o in officers))

        async def work(o: ChaosOfficer) -> None:
            while True:
                ids = [r["id"] for r in await db.fetch("SELECT id FROM dossier WHERE status = 'submitted'")]
                if not ids:
                    if citizens_done.is_set() and not await db.fetchval(
                            "SELECT count(*) FROM inbound_update WHERE handled_at IS NULL"):
                        return
                    await asyncio.sleep(0.3)
                    continue
                await o.accept(rng.choice(ids))
        await asyncio.gather(*(work(o) for o in officers))
    finally:
        for o in officers:
            await o.close()


async def _settled(db: asyncpg.Pool, deadline: float) -> None:
    """Wait until every update is handled and every outbox row delivered (or held)."""
    while time.monotonic() < deadline:
        unhandled = await db.fetchval("SELECT count(*) FROM inbound_update WHERE handled_at IS NULL")
        pending = await db.fetchval("SELECT count(*) FROM outbox_message WHERE status NOT IN ('sent', 'held')")
        if not unhandled and not pending:
            return
        await asyncio.sleep(0.5)


async def _check(db: asyncpg.Pool, citizens: list[ChaosCitizen], report: ChaosReport) -> None:
    """Every input handled once, one dossier each with its photos, every notice once."""
    unhandled = await db.fetchval("SELECT count(*) FROM inbound_update WHERE handled_at IS NULL")
    if unhandled:
        report.lost.append(f"{unhandled} inbound updates never handled")
    stuck = await db.fetch("SELECT id, kind, status FROM outbox_message WHERE status NOT IN ('sent', 'held')")
    report.lost += [f"outbox {r['id']} {r['kind']} left {r['status']}" for r in stuck]
    rows = await db.fetch("SELECT event_id, user_id, handled_at FROM inbound_update WHERE channel = 'webchat'")
    handled: dict[str, list] = {}
    session_of: dict[int, str] = {}
    for r in rows:
        event = r["event_id"].rsplit(":", 1)[-1]
        handled.setdefault(event, []).append(r)
        if event.endswith("-e1"):
            session_of[int(event[1:].split("-")[0])] = r["user_id"]
    for c in citizens:
        for event in c.events:
            found = [r for r in handled.get(event, []) if r["handled_at"] is not None]
            if len(found) != 1:
                (report.lost if not found else report.doubled).append(f"input {event}: handled {len(found)}x")
        if c.fresh_sessions:
            report.lost.append(f"citizen {c.n}: session lost {c.fresh_sessions}x")
    dossiers = await db.fetch(
        "SELECT d.id, d.status, i.external_id, "
        "(SELECT count(*) FROM attachment a WHERE a.dossier_id = d.id) AS photos, "
        "(SELECT count(*) FROM history_entry h WHERE h.dossier_id = d.id AND h.action = 'accept') AS accepts "
        "FROM dossier d JOIN channel_identity i ON i.id = d.identity_id")
    report.dossiers = len(dossiers)
    report.accepted = sum(d["status"] != "submitted" for d in dossiers)
    by_session: dict[str, list] = {}
    for d in dossiers:
        by_session.setdefault(d["external_id"], []).append(d)
        if d["photos"] != 2:
            report.lost.append(f"dossier {d['id']}: {d['photos']} photos, not 2")
        if d["accepts"] > 1:
            report.doubled.append(f"dossier {d['id']}: {d['accepts']} accept history rows")
        if d["status"] == "submitted":
            report.lost.append(f"dossier {d['id']}: never accepted")
    mail: dict[str, list[dict]] = {}
    for r in await db.fetch("SELECT session, seq, item FROM webchat_message ORDER BY session, seq"):
        item = json.loads(r["item"]) if isinstance(r["item"], str) else r["item"]
        mail.setdefault(r["session"], []).append(item)
    for c in citizens:
        sid = session_of.get(c.n)
        mine = by_session.get(sid or "", [])
        if len(mine) != 1:
            (report.lost if not mine else report.doubled).append(f"citizen {c.n}: {len(mine)} dossiers")
        items = mail.get(sid or "", [])
        said = [m.get("text") or "" for m in items if m.get("kind") == "text"]
        for what, needle, want in (("«Đã nộp hồ sơ»", "Đã nộp hồ sơ «", 1),
                                   ("«đã được tiếp nhận»", "đã được tiếp nhận", 1 if mine else 0)):
            got = sum(needle in t for t in said)
            if got != want:
                (report.lost if got < want else report.doubled).append(f"citizen {c.n}: {what} {got}x")
        documents = sum(m.get("kind") == "document" for m in items)
        if documents != (1 if mine else 0):
            (report.lost if documents == 0 else report.doubled).append(f"citizen {c.n}: {documents} receipts")


async def run_chaos(tmp: Path, db_url: str, *, citizens: int, max_kills: int, officers: int = 2,
                    gap: tuple[float, float] = (0.5, 3.0), pace: float = 0.2, concurrency: int = 50,
                    seed: int = 20261201, log=print) -> ChaosReport:  # noqa: ANN001
    """Two web workers and a background worker behind nginx on PostgreSQL; ``citizens`` birth
    registrations and officers' acceptances while processes are SIGKILLed and restarted."""
    rng = random.Random(seed)
    report = ChaosReport(citizens=citizens)
    cluster = Cluster(tmp, db_url, MOTCUA_INBOX_LEASE_SECONDS="3", MOTCUA_WEBCHAT_SESSIONS_PER_MINUTE="100000")
    db = await asyncpg.create_pool(db_url.replace("postgres://", "postgresql://"), min_size=1, max_size=4)
    started = time.monotonic()
    try:
        base = await cluster.bring_up()
        await db.execute("UPDATE officer SET must_change_password = false WHERE username = 'hoathanh.motcua'")
        pages = [ChaosCitizen(base, n, random.Random(seed + n), report, pace) for n in range(citizens)]
        running, citizens_done = asyncio.Event(), asyncio.Event()
        running.set()
        gate = asyncio.Semaphore(concurrency)

        async def one(c: ChaosCitizen) -> None:
            async with gate:
                await c.submit()

        async def everyone() -> None:
            try:
                await asyncio.gather(*(one(c) for c in pages))
            finally:
                citizens_done.set()

        chaos = asyncio.create_task(_chaos_loop(cluster, random.Random(seed - 1), report, max_kills, gap, running))
        try:
            await asyncio.gather(everyone(), _officers(base, db, rng, report, officers, citizens_done))
        finally:
            running.clear()
            await chaos
            for c in pages:
                await c.http.close()
        log(f"load done in {time.monotonic() - started:.1f} s; waiting for the outbox to drain")
        await _settled(db, time.monotonic() + 2 * WAIT)
        await asyncio.sleep(3)  # a doubled notice would come right behind the first
        await _check(db, pages, report)
        report.seconds = time.monotonic() - started
        return report
    except BaseException:
        log(cluster.logs())
        raise
    finally:
        cluster.stop()
        await db.close()
