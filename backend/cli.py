"""The ``motcua`` command: serve, migrate, seed-demo, create-admin, purge, ocr, makemigrations."""

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
    serve.add_argument("--demo", action="store_true", help="seed the demo agencies and accounts (development only)")
    serve.add_argument("--role", choices=("all", "web", "worker"), default=None,
                       help="all (default; MOTCUA_ROLE): everything in one process; web: HTTP, web chat, webhooks; "
                            "worker: dispatcher, reminders, digests, retention (docs/deploy.md)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    sub.add_parser("seed-demo", help="create the demo agencies and officer accounts (development only)")
    admin = sub.add_parser("create-admin", help="open an admin account (password: prompt or MOTCUA_ADMIN_PASSWORD)")
    admin.add_argument("username")
    admin.add_argument("--full-name", default="Quản trị hệ thống")
    sub.add_parser("purge", help="delete personal data past its retention period (docs/privacy.md)")
    sub.add_parser("makemigrations", help="(developers) write a migration for model changes")
    ocr = sub.add_parser("ocr", help="read photos of papers; one JSON line per image")
    ocr.add_argument("images", nargs="+")
    args = parser.parse_args(argv)

    if args.command == "ocr":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        from bot.ocr.cli import main as ocr_main

        return ocr_main(args.images)

    from backend.services import logctx
    from backend.settings import Settings, SettingsError

    try:
        settings = Settings.from_env(serving=args.command == "serve")
    except SettingsError as exc:  # every problem at once, each by its variable
        print("motcua: bad configuration:\n" + "\n".join(f"  {p}" for p in exc.problems), file=sys.stderr)
        return 2
    logctx.configure(settings.log_format)
    if args.command == "serve":
        changes = {k: v for k, v in (("host", args.host), ("port", args.port)) if v}
        return _serve(settings.with_(**changes, **({"seed_demo": True} if args.demo else {})), args.role)
    if args.command == "migrate":
        from backend.db import migrate

        asyncio.run(migrate(settings.database_url))
        print("database is up to date")
        return 0
    if args.command == "seed-demo":
        if settings.production:
            print("motcua: refusing to seed demo accounts in production (MOTCUA_ENV=production)", file=sys.stderr)
            return 2
        return asyncio.run(_seed(settings))
    if args.command == "create-admin":
        return asyncio.run(_create_admin(settings, args.username, args.full_name))
    if args.command == "purge":
        return asyncio.run(_purge(settings))
    if args.command == "makemigrations":
        return _makemigrations(settings)
    return 2


def _serve(settings, role: str | None = None) -> int:  # noqa: ANN001
    import os

    from aiohttp import web

    from backend.services.seed import DEMO_PASSWORD
    from backend.web.app import RUNTIME, StartupRefused, create_app

    os.umask(0o077)  # before anything is written: SQLite creates its database and journals itself
    # MOTCUA_ROLE until Settings carries it; the flag wins.
    role = role or settings.role
    try:
        app = create_app(settings, role=role)
    except StartupRefused as exc:
        print(f"motcua: {exc}", file=sys.stderr)
        return 2
    if role == "worker":
        print(f"Motcua worker on http://{settings.host}:{settings.port}  (/healthz, /readyz, /metrics)", flush=True)
    else:
        print(f"Motcua on {settings.base_url}  (web chat: /chat, officer console: /console, lookup: /tra-cuu)",
              flush=True)

    async def tell_demo(app: web.Application) -> None:  # runs after storage started, so after seeding
        if app[RUNTIME].extras.get("demo_seeded"):
            print(
                f"Demo accounts: hoathanh.motcua, hoathanh.truongphong, hoathanh.chuyenvien, "
                f"hoathanh.lanhdao, hoathanh.vanthu, admin — password {DEMO_PASSWORD!r} (changed at first login)",
                flush=True,
            )

    app.on_startup.append(tell_demo)
    try:
        web.run_app(app, host=settings.host, port=settings.port, print=None)
    except StartupRefused as exc:
        print(f"motcua: {exc}", file=sys.stderr)
        return 2
    return 0


async def _create_admin(settings, username: str, full_name: str) -> int:  # noqa: ANN001
    import getpass
    import os

    from backend.db import close_db, open_db
    from backend.db.models import Officer
    from backend.domain.workflow import Role
    from backend.services import passwords
    from backend.services.errors import InvalidInput
    from backend.services.officers import create_officer

    password = os.environ.get("MOTCUA_ADMIN_PASSWORD", "")
    if not password:
        password = getpass.getpass(f"Password for {username}: ")
        if getpass.getpass("Again: ") != password:
            print("motcua: the passwords differ", file=sys.stderr)
            return 2
    try:
        passwords.check(password, username=username, full_name=full_name)
    except InvalidInput as exc:
        print(f"motcua: {exc}", file=sys.stderr)
        return 2
    await open_db(settings.database_url)
    try:
        if await Officer.exists(username=username):
            print(f"motcua: an account named {username!r} exists already", file=sys.stderr)
            return 2
        await create_officer(username=username, full_name=full_name, role=Role.ADMIN, password=password,
                             agency_id=None, must_change_password=False)
    finally:
        await close_db()
    print(f"admin account {username!r} created")
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


async def _purge(settings) -> int:  # noqa: ANN001
    from backend.db import close_db, open_db
    from backend.services import retention, storage
    from backend.services.catalogue import Catalogue
    from backend.services.context import ServiceContext

    await open_db(settings.database_url)
    ctx = ServiceContext(catalogue=Catalogue(), files_dir=settings.files_dir,
                         files=storage.from_settings(settings.storage, settings.files_dir))
    try:
        counts = await retention.purge(ctx, settings.retention)
    finally:
        await ctx.files.close()
        await close_db()
    for kind, n in counts.items():
        print(f"{kind}: {n}")
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
