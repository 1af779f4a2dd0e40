"""The ``motcua`` command: serve, migrate, seed-demo, ocr, makemigrations."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua", description="Motcua: one-stop services by chat")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web app, chat channels and dispatcher")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    sub.add_parser("migrate", help="bring the database schema up to date")
    sub.add_parser("seed-demo", help="create the demo agencies and officer accounts")
    sub.add_parser("makemigrations", help="(developers) write a migration for model changes")
    ocr = sub.add_parser("ocr", help="read photos of papers; one JSON line per image")
    ocr.add_argument("images", nargs="+")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "ocr":
        from bot.ocr.cli import main as ocr_main

        return ocr_main(args.images)

    from backend.settings import Settings

    settings = Settings.from_env()
    if args.command == "serve":
        return _serve(settings.with_(**{k: v for k, v in (("host", args.host), ("port", args.port)) if v}))
    if args.command == "migrate":
        from backend.db import migrate

        asyncio.run(migrate(settings.database_url))
        print("database is up to date")
        return 0
    if args.command == "seed-demo":
        return asyncio.run(_seed(settings))
    if args.command == "makemigrations":
        return _makemigrations(settings)
    return 2


def _serve(settings) -> int:  # noqa: ANN001
    from aiohttp import web

    from backend.services.seed import DEMO_PASSWORD
    from backend.web.app import create_app

    print(f"Motcua on {settings.base_url}  (web chat: /chat, officer console: /console, lookup: /tra-cuu)")
    if settings.seed_demo:
        print(
            f"Demo accounts: hoathanh.motcua, hoathanh.truongphong, hoathanh.chuyenvien, "
            f"hoathanh.lanhdao, hoathanh.vanthu, admin — password {DEMO_PASSWORD!r} (changed at first login)"
        )
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)
    return 0


async def _seed(settings) -> int:  # noqa: ANN001
    from backend.db import close_db, open_db
    from backend.services.seed import seed_demo

    await open_db(settings.database_url)
    try:
        seeded = await seed_demo()
    finally:
        await close_db()
    print(f"{len(seeded.agencies)} agencies, {len(seeded.officers)} officer accounts")
    return 0


def _makemigrations(settings) -> int:  # noqa: ANN001
    import os
    import subprocess

    env = dict(os.environ, MOTCUA_MIGRATION_DB=settings.database_url)
    return subprocess.call(
        [sys.executable, "-m", "tortoise", "-c", "backend.db.cli_config.TORTOISE_ORM", "makemigrations"], env=env
    )


if __name__ == "__main__":
    sys.exit(main())
