"""The app factory starts on an empty database, migrates, seeds the demo only when asked, and
refuses to start in production with demo accounts."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from backend.db import close_db, open_db
from backend.db.models import Agency, Officer
from backend.services.seed import seed_demo
from backend.settings import Settings
from backend.web.app import RUNTIME, StartupRefused, create_app

ROOT = Path(__file__).resolve().parents[2]


async def test_app_starts_and_answers_without_seeding(fresh_db_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=fresh_db_url, data_dir=tmp_path / "var")
    app = create_app(settings)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/healthz")
        assert resp.status == 200 and (await resp.json()) == {"ok": True}
        assert await Agency.all().count() == 0
        assert await Officer.all().count() == 0
        assert app[RUNTIME].ctx.files_dir == tmp_path / "var" / "files"


async def test_seed_demo_when_asked_marks_the_accounts_demo(fresh_db_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=fresh_db_url, data_dir=tmp_path / "var", seed_demo=True)
    async with TestClient(TestServer(create_app(settings))) as client:
        assert (await client.get("/healthz")).status == 200
        assert await Agency.all().count() == 2
        assert await Officer.filter(username="hoathanh.motcua", demo=True).exists()
        assert await Officer.filter(username="admin", demo=True).exists()
        assert not await Officer.filter(demo=False).exists()


async def test_production_with_an_empty_database_starts_with_no_account(fresh_db_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=fresh_db_url, data_dir=tmp_path / "var", environment="production")
    async with TestClient(TestServer(create_app(settings))) as client:
        assert (await client.get("/healthz")).status == 200
        assert await Officer.all().count() == 0
        assert await Agency.all().count() == 0


async def test_production_refuses_to_start_with_a_demo_account(fresh_db_url: str, tmp_path: Path) -> None:
    await open_db(fresh_db_url)
    try:
        await seed_demo()
        await Officer.filter(demo=True).exclude(username="hoathanh.vanthu").update(active=False)
    finally:
        await close_db()
    settings = Settings(database_url=fresh_db_url, data_dir=tmp_path / "var", environment="production")
    server = TestServer(create_app(settings))
    try:
        with pytest.raises(StartupRefused, match=r"hoathanh\.vanthu.*deactivate or delete the demo accounts"):
            await server.start_server()
    finally:
        await server.close()
    await open_db(fresh_db_url, run_migrations=False)  # the refusal closed its connections: one can open again
    try:
        await Officer.filter(username="hoathanh.vanthu").update(active=False)
    finally:
        await close_db()
    async with TestClient(TestServer(create_app(settings))) as client:  # every demo account deactivated: starts
        assert (await client.get("/healthz")).status == 200


def test_production_refuses_demo_seeding(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite://{tmp_path / 'db.sqlite3'}", data_dir=tmp_path, seed_demo=True,
                        environment="production")
    with pytest.raises(StartupRefused, match="MOTCUA_SEED_DEMO"):
        create_app(settings)


def _cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MOTCUA_", "TELEGRAM_", "ZALO_"))}
    environ.update(MOTCUA_DATA_DIR=str(tmp_path / "var"), MOTCUA_PORT="0", **(env or {}))
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], cwd=ROOT, env=environ, input=stdin,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("how", [("serve", "--demo"), ("seed-demo",)])
def test_cli_refuses_demo_in_production(tmp_path: Path, how: tuple[str, ...]) -> None:
    done = _cli(tmp_path, *how, env={"MOTCUA_ENV": "production"})
    assert done.returncode != 0
    assert "production" in done.stderr and "Demo accounts" not in done.stdout
    assert not (tmp_path / "var" / "motcua.sqlite3").exists()  # refused before touching the database


def test_cli_serve_refuses_env_demo_in_production(tmp_path: Path) -> None:
    done = _cli(tmp_path, "serve", env={"MOTCUA_ENV": "production", "MOTCUA_SEED_DEMO": "true"})
    assert done.returncode != 0 and "MOTCUA_SEED_DEMO" in done.stderr


async def test_cli_create_admin(fresh_db_url: str, tmp_path: Path) -> None:
    env = {"MOTCUA_DATABASE_URL": fresh_db_url, "MOTCUA_ENV": "production"}

    def create(password: str) -> subprocess.CompletedProcess:
        return _cli(tmp_path, "create-admin", "quantri", env=env | {"MOTCUA_ADMIN_PASSWORD": password})

    for weak in ("short", "aaaaaaaaaaaa", "quantri12345678"):
        refused = await asyncio.to_thread(create, weak)
        assert refused.returncode != 0 and "Mật khẩu" in refused.stderr
    done = await asyncio.to_thread(create, "Đèn-xanh lúc 7 giờ sáng")
    assert done.returncode == 0, done.stderr
    again = await asyncio.to_thread(create, "Đèn-xanh lúc 7 giờ sáng")
    assert again.returncode != 0 and "exists" in again.stderr
    await open_db(fresh_db_url, run_migrations=False)
    try:
        admin = await Officer.get(username="quantri")
        assert admin.role == "admin" and not admin.demo and admin.active and admin.must_change_password is False
        assert await Officer.all().count() == 1
    finally:
        await close_db()


def _serve_once(tmp_path: Path, *args: str) -> str:
    """Run ``motcua serve`` until /healthz answers, stop it; returns what it printed."""
    import time
    import urllib.request

    from aiohttp.test_utils import unused_port

    port = unused_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MOTCUA_", "TELEGRAM_", "ZALO_"))}
    environ.update(MOTCUA_DATA_DIR=str(tmp_path / "var"), MOTCUA_PORT=str(port), MOTCUA_OCR_WORKERS="0")
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", *args], cwd=ROOT, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                assert proc.poll() is None, "motcua serve exited"
                time.sleep(0.2)
        else:
            raise AssertionError("motcua serve did not answer within 60 s")
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    return out


def test_cli_serve_demo_prints_the_accounts_only_when_it_seeds(tmp_path: Path) -> None:
    assert "Demo accounts" not in _serve_once(tmp_path)  # not asked: nothing seeded, nothing printed
    assert "Demo accounts" in _serve_once(tmp_path, "--demo")  # asked, on an empty database
    assert "Demo accounts" not in _serve_once(tmp_path, "--demo")  # the database has agencies already
