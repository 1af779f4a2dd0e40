"""Every file the app writes under its data dir is 0600 and every directory 0700, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from backend.db.models import Citizen
from backend.services.citizens import store_attachment
from backend.services.files import private_dir, write_private
from backend.services.webchat_store import DbWebchatStore
from backend.settings import Settings
from backend.web.app import RUNTIME, create_app


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask of a shell, which would leave new files readable by everyone."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _modes(root: Path) -> dict[str, str]:
    found = {str(root): oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        found[str(path)] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def _wrong(root: Path) -> dict[str, str]:
    return {p: m for p, m in _modes(root).items() if m != ("0o700" if Path(p).is_dir() else "0o600")}


async def test_data_dir_is_owner_only(fresh_db_url: str, tmp_path: Path, loose_umask: None) -> None:
    data_dir = tmp_path / "var"
    sqlite = fresh_db_url.startswith("sqlite")
    # On SQLite, a brand-new database inside the data dir that SQLite itself creates, with its journals.
    url = f"sqlite://{data_dir / 'motcua.sqlite3'}" if sqlite else fresh_db_url
    settings = Settings(database_url=url, data_dir=data_dir, ocr_workers=0)
    app = create_app(settings)
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/healthz")).status == 200
        settings.session_secret()
        ctx = app[RUNTIME].ctx
        citizen = await Citizen.create(full_name="Nguyễn Văn An")
        att = await store_attachment(ctx, citizen_id=citizen.id, data=b"\xff\xd8\xff cccd", mime_type="image/jpeg")
        assert att.size == 8
        pdf = (b"%PDF-1.4", "application/pdf", "a.pdf")
        await DbWebchatStore(ctx.files_dir).append("s1", {"kind": "document"}, pdf)
        await Citizen.filter(id=citizen.id).update(full_name="Nguyễn Văn Bình")  # the journal is written too
        if sqlite:
            assert (data_dir / "motcua.sqlite3").exists()
        assert len(list(ctx.files_dir.rglob("*"))) >= 4  # the photo and the web chat file, with their dirs
        assert _wrong(data_dir) == {}
    assert _wrong(data_dir) == {}


def test_write_private_replaces_atomically_and_private_dir_fixes_the_tree(tmp_path: Path, loose_umask: None) -> None:
    outside = stat.S_IMODE(tmp_path.stat().st_mode)
    root = tmp_path / "data"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    target = root / "a" / "b" / "file.bin"
    write_private(target, b"one", root)
    write_private(target, b"two", root)
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.bin"]  # no temp file left behind
    assert _wrong(root) == {}
    private_dir(root / "c", root)
    assert _wrong(root) == {}
    assert stat.S_IMODE(tmp_path.stat().st_mode) == outside  # above root: left as it was
