"""Files behind one interface: the same contract on the local directory and on an S3-compatible
store (moto's server on 127.0.0.1), and a whole web chat submission on S3, both databases."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from backend.db.models import Attachment, Dossier
from backend.domain.workflow import Status
from backend.services import retention
from backend.services.clock import SetClock
from backend.services.storage import FileStore, LocalFileStore, S3FileStore
from backend.settings import Settings, SettingsError, StorageSettings
from backend.web.app import RUNTIME, create_app
from tests.e2e.test_webchat import Browser, jpeg
from tests.e2e.test_webchat_sessions import submit_birth
from tests.integration.test_console import Console

KEY, SECRET = "test-access-key", "test-secret-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A local S3-compatible server (moto in server mode), for this module's tests."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


async def _bucket(endpoint: str) -> str:
    """A new, empty bucket on the server."""
    name = f"motcua-{uuid.uuid4().hex[:12]}"
    store = S3FileStore(bucket=name, access_key=KEY, secret_key=SECRET, endpoint=endpoint)
    try:
        await (await store._s3()).create_bucket(Bucket=name)
    finally:
        await store.close()
    return name


async def _keys(endpoint: str, bucket: str) -> list[str]:
    store = S3FileStore(bucket=bucket, access_key=KEY, secret_key=SECRET, endpoint=endpoint)
    try:
        listed = await (await store._s3()).list_objects_v2(Bucket=bucket)
    finally:
        await store.close()
    return sorted(o["Key"] for o in listed.get("Contents", []))


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FileStore]:
    if request.param == "local":
        yield LocalFileStore(tmp_path / "files")
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    s3 = S3FileStore(bucket=await _bucket(endpoint), access_key=KEY, secret_key=SECRET, endpoint=endpoint)
    yield s3
    await s3.close()


async def test_put_get_exists_delete(store: FileStore) -> None:
    key = "attachments/ab/abcdef"
    assert not await store.exists(key) and await store.get(key) is None
    await store.put(key, b"\xff\xd8\xff photo", "image/jpeg")
    assert await store.exists(key) and await store.get(key) == b"\xff\xd8\xff photo"
    await store.put(key, b"replaced", "image/jpeg")
    assert await store.get(key) == b"replaced"
    await store.delete(key)
    assert not await store.exists(key) and await store.get(key) is None
    await store.delete(key)  # deleting what is gone is no error


@pytest.mark.parametrize("bad", ["../secret_key", "/etc/passwd", "a/../../b", "", "a//b", "./a", "a\\b"])
async def test_keys_outside_the_store_refused(store: FileStore, bad: str) -> None:
    for op in (store.get(bad), store.exists(bad), store.delete(bad), store.put(bad, b"x")):
        with pytest.raises(ValueError):
            await op


async def test_local_files_owner_only_and_older_absolute_paths_readable(tmp_path: Path) -> None:
    root = tmp_path / "files"
    store = LocalFileStore(root)
    await store.put("webchat/abc", b"%PDF-1.7")
    assert (root / "webchat" / "abc").stat().st_mode & 0o777 == 0o600
    legacy = str(root / "webchat" / "abc")  # a row written before keys: the absolute path
    assert await store.get(legacy) == b"%PDF-1.7" and await store.exists(legacy)
    (tmp_path / "outside").write_bytes(b"not ours")
    with pytest.raises(ValueError):
        await store.get(str(tmp_path / "outside"))


def test_s3_settings_named_when_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MOTCUA_STORAGE", "s3")
    monkeypatch.setenv("MOTCUA_S3_ENDPOINT", "minio:9000")
    for name in ("MOTCUA_S3_BUCKET", "MOTCUA_S3_ACCESS_KEY", "MOTCUA_S3_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError) as err:
        Settings.from_env()
    named = {p.split(":", 1)[0] for p in err.value.problems}
    assert {"MOTCUA_S3_BUCKET", "MOTCUA_S3_ACCESS_KEY", "MOTCUA_S3_SECRET_KEY", "MOTCUA_S3_ENDPOINT"} <= named
    monkeypatch.setenv("MOTCUA_STORAGE", "s4")
    with pytest.raises(SettingsError, match="MOTCUA_STORAGE: must be one of local, s3"):
        Settings.from_env()


async def test_webchat_submission_on_s3_console_serves_retention_purges(
        fresh_db_url: str, tmp_path: Path, clock: SetClock, s3_endpoint: str) -> None:
    bucket = await _bucket(s3_endpoint)
    settings = Settings(seed_demo=True, database_url=fresh_db_url, data_dir=tmp_path / "var", ocr_workers=0,
                        storage=StorageSettings(backend="s3", s3_endpoint=s3_endpoint, s3_bucket=bucket,
                                                s3_access_key=KEY, s3_secret_key=SECRET))
    app = create_app(settings, clock=clock)
    async with TestClient(TestServer(app)) as client:
        code, qr = await submit_birth(Browser(client))
        d = await Dossier.get(code=code)
        atts = await Attachment.filter(dossier_id=d.id).order_by("id")
        assert len(atts) == 2 and all(a.stored_path.startswith("attachments/") for a in atts)
        keys = await _keys(s3_endpoint, bucket)
        assert {a.stored_path for a in atts} <= set(keys)
        assert any(k.startswith("webchat/") for k in keys)  # the QR image the chat sent
        assert not (settings.files_dir / "attachments").exists()  # nothing on this host's disk
        qr_image = await client.get(qr)
        assert qr_image.status == 200 and (await qr_image.read()).startswith(b"\x89PNG")

        officer = Console(client)
        await officer.login("hoathanh.motcua")
        resp, _ = await officer.get(f"/console/files/{atts[0].id}")
        assert resp.status == 200 and await resp.read() == jpeg()

        await Dossier.filter(id=d.id).update(status=Status.CLOSED.value, finished_at=clock.now(),
                                             closed_at=clock.now())
        clock.advance(days=settings.retention.closed_attachment_days + 1)
        counts = await retention.purge(app[RUNTIME].ctx, settings.retention)
        assert counts["closed_attachments"] == 2 and counts["files"] == 2
        assert not await _keys(s3_endpoint, bucket)  # the web chat's files went with its (older) mailbox
        await officer.login("hoathanh.motcua")  # a month later: a new console session
        resp, _ = await officer.get(f"/console/files/{atts[0].id}")
        assert resp.status == 410
