"""Chat benchmark: N simulated citizens talking at once to the Telegram adapter.

Runs FakeBotApi and the simulated citizens in this process, and each bot under test in its
own process (so the fake's work does not share the bot's event loop):

* ``motcua`` — our app (create_app: engine, SQLite or PostgreSQL, dispatcher, PTB polling);
* ``echo``   — a bare python-telegram-bot echo bot with the same PTB settings
  (polling, concurrent updates, connection pool), answering texts and button presses.

Each citizen repeats a cycle of one-reply turns (no OCR): "/start" → menu, a button
"menu:lookup" → the code prompt, a wrong code → its answer, "menu" → menu. Latency is the
time from queuing the update at the fake to the fake receiving the reply.

Two loads: ``paced`` — every citizen waits ``--think`` s on average (half to 1.5 times it)
after each reply, like a person (our bot keeps its production per-chat pacing of 1 msg/s
after a burst of 3); ``flat`` — no think time, to find the most each bot can do (per-chat
pacing off for ours, since it is there to slow exactly this down).

Each configuration runs ``--rounds`` times, the two bots alternating who goes first, and the
table gives medians (and the spread of p99): the shared 2-core machine this was written on
has bursts of noise that can spoil a single run of either bot.

Our bot talks to the Bot API through PTB on our aiohttp transport (``--http httpx`` runs it
on PTB's default, as the echo bot always does).

    .venv/bin/python bench/chat.py                 # 50 and 200 citizens, both loads
    .venv/bin/python bench/chat.py --citizens 200 --seconds 20 --loads paced --think 3
    .venv/bin/python bench/chat.py --pg postgres://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")
os.environ.setdefault("PTB_TIMEDELTA", "true")

TURNS = [("text", "/start"), ("button", "menu:lookup"), ("text", "abc"), ("text", "menu")]


# -- the bots under test (run as child processes) ------------------------------------------
async def serve_motcua(args: argparse.Namespace) -> None:
    from aiohttp import web

    from backend.settings import Settings, TelegramSettings
    from backend.web.app import RUNTIME, create_app

    data = Path(args.data)
    settings = Settings(
        seed_demo=True, database_url=args.db or f"sqlite://{data / 'bench.sqlite3'}", data_dir=data, ocr_workers=0,
        port=args.port,
        telegram=TelegramSettings(token=args.token, api_base_url=f"{args.api}/bot",
                                  file_base_url=f"{args.api}/file/bot", mode="polling", http=args.http),
    )
    app = create_app(settings)
    app[RUNTIME].extras["telegram_options"] = {"per_chat_rate": 1.0 if args.pacing else 0.0,
                                               "pool_size": args.pool}
    await _serve(web.AppRunner(app, access_log=None), args.port)


async def serve_echo(args: argparse.Namespace) -> None:
    from telegram import Update
    from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(update.message.text)  # type: ignore[union-attr]

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await context.bot.send_message(query.message.chat.id, f"Bạn bấm: {query.data}")  # type: ignore[union-attr]
        await query.answer()  # type: ignore[union-attr]

    app = (ApplicationBuilder().token(args.token).base_url(f"{args.api}/bot")
           .base_file_url(f"{args.api}/file/bot").connection_pool_size(args.pool).pool_timeout(30.0)
           .get_updates_connection_pool_size(2).concurrent_updates(1024).build())
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0.0)  # type: ignore[union-attr]
        print("READY", flush=True)
        await _until_terminated()
        await app.updater.stop()  # type: ignore[union-attr]
        await app.stop()


async def _serve(runner: object, port: int) -> None:
    from aiohttp import web

    assert isinstance(runner, web.AppRunner)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("READY", flush=True)
    await _until_terminated()
    await runner.cleanup()


async def _until_terminated() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


# -- the citizens (this process) --------------------------------------------------------------
@dataclass
class Run:
    bot: str
    citizens: int
    load: str
    turns: int
    seconds: float
    latencies: list[float]
    timeouts: int
    cpu: float  # seconds of the bot process's CPU (user + system) in the measured window

    @property
    def rate(self) -> float:
        return self.turns / self.seconds

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.turns if self.turns else float("nan")

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        return 1000 * data[min(len(data) - 1, int(q * len(data)))]


async def citizen(api: object, token: str, chat: int, stop_at: float, think: float,
                  latencies: list[float], counts: dict[str, int], measure_from: float) -> None:
    from tests.fakes.telegram_bot_api import FakeBotApi

    assert isinstance(api, FakeBotApi)
    i = 0
    if think:  # people do not all start typing in the same millisecond
        await asyncio.sleep(random.uniform(0, think))
    while time.monotonic() < stop_at:
        kind, payload = TURNS[i % len(TURNS)]
        waiter = asyncio.ensure_future(api.wait_for(timeout=30, chat_id=chat, new_only=True))
        await asyncio.sleep(0)
        t0 = time.monotonic()
        if kind == "text":
            api.push_text(chat, payload, token=token)
        else:
            api.push_callback(chat, payload, token=token)
        try:
            reply = await waiter
        except TimeoutError:
            counts["timeouts"] += 1
            continue
        if t0 >= measure_from:
            latencies.append(reply.time - t0)
            counts["turns"] += 1
        i += 1
        if think:
            await asyncio.sleep(think * random.uniform(0.5, 1.5))


async def one_run(api: object, bot: str, n: int, load: str, seconds: float, token_id: int,
                  pg: str | None, pool: int, think_s: float, http: str, pacing: bool = True) -> Run:
    from aiohttp.test_utils import unused_port

    from tests.fakes.telegram_bot_api import FakeBotApi

    assert isinstance(api, FakeBotApi)
    token = f"{token_id}:bench-{bot}-{load}-{n}"
    with tempfile.TemporaryDirectory(prefix="motcua-bench-") as tmp:
        cmd = [sys.executable, __file__, f"serve-{bot}", "--api", api.url, "--token", token,
               "--data", tmp, "--port", str(unused_port()), "--pool", str(pool)]
        if bot == "motcua" and load == "paced" and pacing:
            cmd.append("--pacing")
        if pg and bot == "motcua":
            cmd += ["--db", pg]
        if bot == "motcua":
            cmd += ["--http", http]
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE, cwd=ROOT)
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), 60)  # type: ignore[union-attr]
            if b"READY" not in line:
                raise RuntimeError(f"{bot} did not start")
            think = think_s if load == "paced" else 0.0
            warm = 5.0  # start-up passes (dispatcher, reminders, digests) are not part of a turn
            start = time.monotonic()
            latencies: list[float] = []
            counts = {"turns": 0, "timeouts": 0}
            base = token_id * 100_000

            async def cpu_window() -> float:
                await asyncio.sleep(warm)
                before = _cpu_seconds(proc.pid)
                await asyncio.sleep(seconds)
                return _cpu_seconds(proc.pid) - before

            cpu, *_ = await asyncio.gather(cpu_window(), *(
                citizen(api, token, base + c, start + warm + seconds, think, latencies, counts, start + warm)
                for c in range(n)))
            return Run(bot, n, load, counts["turns"], seconds, latencies, counts["timeouts"], cpu)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 20)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bench(args: argparse.Namespace) -> None:
    from tests.fakes.telegram_bot_api import FakeBotApi

    if args.pg:
        await _reset_pg(args.pg)
    runs: list[Run] = []
    token_id = 100
    async with FakeBotApi() as api:
        for load in args.loads:
            for n in args.citizens:
                for rnd in range(args.rounds):
                    # Alternate who goes first: a drift in the machine's speed hits both alike.
                    for bot in ("echo", "motcua") if rnd % 2 == 0 else ("motcua", "echo"):
                        token_id += 1
                        if args.pg and bot == "motcua":
                            await _reset_pg(args.pg)
                        gc.collect()  # the fake's records of earlier runs: no full collections mid-run
                        gc.freeze()
                        run = await one_run(api, bot, n, load, args.seconds, token_id, args.pg, args.pool,
                                            args.think, args.http, not args.no_pacing)
                        runs.append(run)
                        print(f"  round {rnd + 1}: {bot:6} {n:4} citizens {load:5}: {run.rate:7.1f} turns/s  "
                              f"p50 {run.pct(0.5):6.1f} ms  p99 {run.pct(0.99):7.1f} ms", flush=True)
    print()
    db = "PostgreSQL" if args.pg else "SQLite"
    pacing = ", our per-chat pacing off" if args.no_pacing else ""
    print(f"Chat turn latency and throughput (text or button → one reply), FakeBotApi, {db}, our PTB transport "
          f"{args.http}, {args.seconds:.0f} s per run, median of {args.rounds} interleaved rounds, think "
          f"{args.think:.1f} s (paced{pacing}), PTB pool {args.pool}, {os.cpu_count()} CPUs")
    head = (f"| {'load':5} | {'citizens':>8} | {'bot':6} | {'msg/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} | "
            f"{'p99 range ms':>13} | {'CPU ms/turn':>11} | {'vs echo':>7} | timeouts |")
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for load in args.loads:
        for n in args.citizens:
            echo_rate = statistics.median(r.rate for r in runs if (r.bot, r.citizens, r.load) == ("echo", n, load))
            for bot in ("echo", "motcua"):
                mine = [r for r in runs if (r.bot, r.citizens, r.load) == (bot, n, load)]
                rate = statistics.median(r.rate for r in mine)
                p99s = [r.pct(0.99) for r in mine]
                ratio = f"{rate / echo_rate:.2f}×" if bot == "motcua" and echo_rate else ""
                print(f"| {load:5} | {n:>8} | {bot:6} | {rate:>7.1f} | "
                      f"{statistics.median(r.pct(0.5) for r in mine):>7.1f} | {statistics.median(p99s):>7.1f} | "
                      f"{f'{min(p99s):.0f}–{max(p99s):.0f}':>13} | "
                      f"{statistics.median(r.cpu_ms for r in mine):>11.1f} | {ratio:>7} | "
                      f"{sum(r.timeouts for r in mine):>8} |")
    print(f"load average after the runs: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


async def _reset_pg(url: str) -> None:
    """Start the benchmark's PostgreSQL database empty (the app migrates it)."""
    import asyncpg

    base, name = url.rsplit("/", 1)
    conn = await asyncpg.connect(f"{base}/postgres".replace("postgres://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "serve-motcua", "serve-echo"])
    parser.add_argument("--citizens", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--loads", nargs="+", default=["paced", "flat"], choices=["paced", "flat"])
    parser.add_argument("--pg", default="", help="PostgreSQL URL for our bot (default: SQLite)")
    parser.add_argument("--api", default="")
    parser.add_argument("--token", default="")
    parser.add_argument("--data", default="")
    parser.add_argument("--db", default="")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pacing", action="store_true")
    parser.add_argument("--pool", type=int, default=256, help="PTB connection pool, both bots")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time (s), paced load")
    parser.add_argument("--no-pacing", action="store_true",
                        help="paced load without our per-chat pacing (to see what it adds)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs of each bot; medians reported")
    parser.add_argument("--http", default="aiohttp", choices=["aiohttp", "httpx"],
                        help="our bot's PTB transport (the echo bot always runs PTB's default, httpx)")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    runner = {"bench": bench, "serve-motcua": serve_motcua, "serve-echo": serve_echo}[args.mode]
    asyncio.run(runner(args))


if __name__ == "__main__":
    main()
