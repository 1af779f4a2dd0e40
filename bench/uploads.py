"""Upload benchmark: N web chat citizens sending a ~300 KB photo at once, on SQLite.

Each server runs in its own process (its RSS is read from /proc/<pid>/status, sampled every
20 ms for the peak):

* ``motcua`` — our app (create_app, production settings, no demo data): every photo is sent
  at the menu, so the engine fetches it (a QR lookup) and answers; the citizen's mailbox must
  then hold that answer;
* ``bare``   — the baseline: a bare aiohttp handler that spools the multipart photo to an
  owner-only file the same way (256 KB chunks) and answers 200.

Each citizen uploads in 32 KB pieces ``--pace`` s apart (a phone on a mobile network); a 503
is sent again, same event id, after Retry-After (jittered), as chat.js does. Nothing may be
dropped: every citizen ends with a 200 and (ours) an answer in the mailbox.

    .venv/bin/python bench/uploads.py                    # 500 citizens
    .venv/bin/python bench/uploads.py --citizens 300 --pace 0.01
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")


# -- the servers (child processes) ----------------------------------------------------------
async def serve_motcua(args: argparse.Namespace) -> None:
    from aiohttp import web

    from backend.settings import Settings, WebchatSettings
    from backend.web.app import create_app

    data = Path(args.data)
    settings = Settings(  # OCR workers as deployed (MOTCUA_OCR_WORKERS, default 1)
        database_url=f"sqlite://{data / 'bench.sqlite3'}", data_dir=data,
        ocr_workers=int(os.environ.get("MOTCUA_OCR_WORKERS", Settings.ocr_workers)), port=args.port,
        environment="production", secret_key="bench-" + "x" * 40, public_url=f"http://127.0.0.1:{args.port}",
        log_format="json", webchat=WebchatSettings(sessions_per_minute=1_000_000))  # all from one address
    app = create_app(settings)
    app.router.add_post("/bench/memory", _memory)
    await _serve(web.AppRunner(app, access_log=None), args.port)


async def _memory(request: object) -> object:
    """Where the after-burst RSS is: Python objects alive (gc, tracemalloc) vs freed memory
    glibc keeps (what malloc_trim(0) gives back)."""
    import ctypes
    import gc
    import tracemalloc

    from aiohttp import web

    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else -1
    before = rss_kb(os.getpid())
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    top = []
    if tracemalloc.is_tracing():
        top = [str(s) for s in tracemalloc.take_snapshot().statistics("lineno")[:8]]
    return web.json_response({"rss_kb": before, "rss_after_trim_kb": rss_kb(os.getpid()),
                              "traced_kb": traced // 1024, "objects": len(gc.get_objects()), "top": top})


async def serve_bare(args: argparse.Namespace) -> None:
    import secrets

    from aiohttp import web

    from backend.services.files import open_private, private_dir

    spool = Path(args.data) / "uploads"
    private_dir(spool)

    async def session(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def send(request: web.Request) -> web.Response:
        reader = await request.multipart()
        async for part in reader:
            if part.name == "photo":
                ref = secrets.token_urlsafe(16)
                with open_private(spool / f".{ref}.part") as out:
                    while chunk := await part.read_chunk(256 * 1024):  # type: ignore[union-attr]
                        out.write(chunk)
                os.replace(spool / f".{ref}.part", spool / ref)
            else:
                await part.text()  # type: ignore[union-attr]
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/chat/api/session", session)
    app.router.add_post("/chat/api/send", send)
    await _serve(web.AppRunner(app, access_log=None), args.port)


async def _serve(runner: object, port: int) -> None:
    from aiohttp import web

    assert isinstance(runner, web.AppRunner)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("READY", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


# -- the citizens (this process) --------------------------------------------------------------
ANSWER_WITHIN = 600.0  # seconds a citizen polls for the answer before it counts as lost
@dataclass
class Run:
    server: str
    citizens: int
    ok: int = 0
    answered: int = 0
    refused: int = 0  # 503s
    retried: int = 0  # citizens refused at least once
    latencies: list[float] = field(default_factory=list)
    answer_s: list[float] = field(default_factory=list)  # upload start → answer in the mailbox
    rss: tuple[int, int, int] = (0, 0, 0)  # kB: before, peak, after
    seconds: float = 0.0
    memory: dict[str, object] = field(default_factory=dict)  # the server's own view after the load


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def photo(seed: int) -> bytes:
    from PIL import Image

    rnd = random.Random(seed)
    img = Image.frombytes("RGB", (680, 500), rnd.randbytes(680 * 500 * 3))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


async def citizen(base: str, n: int, data: bytes, pace: float, run: Run, check: bool) -> None:
    import aiohttp

    # unsafe: keep cookies from an IP address (127.0.0.1), as a browser does; the default jar
    # drops them, and then every request opened a new session and polled an empty mailbox.
    async with aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        async with s.post("/chat/api/session") as r:
            assert r.status == 200, r.status
        form = aiohttp.FormData()
        form.add_field("event_id", f"photo-{n}")
        form.add_field("photo", data, filename="anh.jpg", content_type="image/jpeg")
        payload = form()
        sink = _Sink()
        await payload.write(sink)  # type: ignore[arg-type]
        body = sink.buf.getvalue()

        async def pieces():  # noqa: ANN202
            for i in range(0, len(body), 32 * 1024):
                yield body[i:i + 32 * 1024]
                await asyncio.sleep(pace)

        start, refused = time.perf_counter(), 0
        while True:
            async with s.post("/chat/api/send", data=pieces(), headers={"Content-Type": payload.content_type}) as r:
                await r.read()
                if r.status == 200:
                    break
                assert r.status == 503, r.status
                refused += 1
                await asyncio.sleep(int(r.headers.get("Retry-After", "1")) * random.uniform(0.5, 1.5))
        run.latencies.append(time.perf_counter() - start)
        run.ok += 1
        run.refused += refused
        run.retried += refused > 0
        if check:  # the engine fetched the photo and answered (a photo without a QR code)
            deadline = time.perf_counter() + ANSWER_WITHIN
            while time.perf_counter() < deadline:  # long polls (25 s each) until the answer
                async with s.get("/chat/api/poll?after=0") as r:
                    assert r.status == 200, r.status
                    if (await r.json())["messages"]:
                        run.answered += 1
                        run.answer_s.append(time.perf_counter() - start)
                        return


class _Sink:
    def __init__(self) -> None:
        self.buf = io.BytesIO()

    async def write(self, data: bytes) -> None:
        self.buf.write(data)


async def one(server: str, args: argparse.Namespace, images: list[bytes]) -> Run:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tempfile.mkdtemp(prefix=f"bench-uploads-{server}-")
    child = subprocess.Popen(  # noqa: ASYNC220 - before the load: blocking here times nothing
        [sys.executable, __file__, "--serve", server, "--port", str(port), "--data", data],
        stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    while (line := child.stdout.readline()) and line.strip() != "READY":
        pass
    run = Run(server, args.citizens)
    before, peak = rss_kb(child.pid), 0
    sampling = True

    async def sample() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, rss_kb(child.pid))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    t0 = time.perf_counter()
    base = f"http://127.0.0.1:{port}"
    await asyncio.gather(*(citizen(base, i, images[i], args.pace, run, server == "motcua")
                           for i in range(args.citizens)))
    run.seconds = time.perf_counter() - t0
    await asyncio.sleep(3)  # the load is over: what stays
    sampling = False
    await sampler
    run.rss = (before, peak, rss_kb(child.pid))
    if server == "motcua":
        import aiohttp

        async with aiohttp.ClientSession() as s, s.post(f"{base}/bench/memory") as r:
            run.memory = await r.json()
    child.send_signal(signal.SIGTERM)
    child.wait(30)
    return run


def _pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * q))] if v else 0.0


def table(runs: list[Run]) -> str:
    rows = ["| server | uploads | ok | answered | 503s | retried citizens | upload p50/p99 s "
            "| answer p50/p99 s | RSS before/peak/after MB | wall s |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        mb = "/".join(f"{k / 1024:.0f}" for k in r.rss)
        ours = r.server == "motcua"
        answered = r.answered if ours else "-"
        answer = f"{_pct(r.answer_s, 0.5):.2f}/{_pct(r.answer_s, 0.99):.2f}" if ours else "-"
        rows.append(f"| {r.server} | {r.citizens} | {r.ok} | {answered} | {r.refused} | {r.retried} | "
                    f"{_pct(r.latencies, 0.5):.2f}/{_pct(r.latencies, 0.99):.2f} | {answer} | {mb} "
                    f"| {r.seconds:.1f} |")
    return "\n".join(rows)


async def main(args: argparse.Namespace) -> None:
    images = [photo(i) for i in range(args.citizens)]
    runs = [await one("bare", args, images), await one("motcua", args, images)]
    print(table(runs))
    for r in runs:
        if r.memory:
            print(f"{r.server} after the load: RSS {r.memory['rss_kb'] // 1024} MB, after malloc_trim(0) "
                  f"{r.memory['rss_after_trim_kb'] // 1024} MB; Python objects {r.memory['objects']}, "
                  f"traced {r.memory['traced_kb']} kB")
            for line in r.memory["top"]:
                print("   ", line)
    lost = [r for r in runs if r.ok != r.citizens or (r.server == "motcua" and r.answered != r.citizens)]
    sys.exit(1 if lost else 0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=500)
    parser.add_argument("--pace", type=float, default=0.02, help="seconds between 32 KB pieces of an upload")
    parser.add_argument("--serve", choices=("motcua", "bare"))
    parser.add_argument("--port", type=int)
    parser.add_argument("--data")
    a = parser.parse_args()
    if a.serve:
        asyncio.run(serve_motcua(a) if a.serve == "motcua" else serve_bare(a))
    else:
        asyncio.run(main(a))
