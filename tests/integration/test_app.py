"""The app factory starts on an empty database, migrates, seeds the demo, and stops cleanly."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from backend.db.models import Agency, Officer
from backend.settings import Settings
from backend.web.app import RUNTIME, create_app


async def test_app_starts_seeds_and_answers(fresh_db_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=fresh_db_url, data_dir=tmp_path / "var")
    app = create_app(settings)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/healthz")
        assert resp.status == 200 and (await resp.json()) == {"ok": True}
        assert await Agency.all().count() == 2
        assert await Officer.filter(username="hoathanh.motcua").exists()
        assert app[RUNTIME].ctx.files_dir == tmp_path / "var" / "files"
