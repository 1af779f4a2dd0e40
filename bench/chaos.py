"""Chaos benchmark: many web chat citizens file birth registrations through nginx to two web
workers on PostgreSQL while officers accept them in the console, and a random process (a web
worker or the background worker) is SIGKILLed every 0.5–3 s and restarted at once. Prints what
was sent, killed, lost and doubled (tests/e2e/test_chaos.py is the small CI version).

    .venv/bin/python bench/chaos.py                       # 300 citizens, up to 80 kills
    .venv/bin/python bench/chaos.py --citizens 50 --kills 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

from tests.conftest import empty_pg_database  # noqa: E402
from tests.e2e.cluster import run_chaos  # noqa: E402


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="motcua-chaos-") as tmp:
        async with empty_pg_database("motcua_chaos_bench") as url:
            report = await run_chaos(Path(tmp), url, citizens=args.citizens, max_kills=args.kills,
                                     gap=(args.min_gap, args.max_gap), pace=args.pace,
                                     concurrency=args.concurrency, seed=args.seed)
    print(report.table())
    return 1 if report.problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=300)
    parser.add_argument("--kills", type=int, default=80, help="the most SIGKILLs")
    parser.add_argument("--min-gap", type=float, default=0.5, help="seconds between kills, at least")
    parser.add_argument("--max-gap", type=float, default=3.0, help="seconds between kills, at most")
    parser.add_argument("--pace", type=float, default=0.5, help="a citizen's think time, 0..pace s")
    parser.add_argument("--concurrency", type=int, default=50, help="citizens typing at once")
    parser.add_argument("--seed", type=int, default=20261201)
    sys.exit(asyncio.run(main(parser.parse_args())))
