"""The retention policy (Decree 13/2023/NĐ-CP: no longer than the purpose needs), on both databases.

Each kind of personal data is kept through its period and gone after it, files included;
a live dossier's photos are never touched, even when a closed one shares their file.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from backend.db.models import (
    Attachment,
    AuthThrottle,
    ConsoleSession,
    ConversationState,
    Dossier,
    HistoryEntry,
    InboundUpdate,
    Officer,
    RateBucket,
    WebchatMessage,
    WebchatSession,
)
from backend.domain.workflow import Status
from backend.services import citizens, conversations, dossiers, ratelimits, retention, tokens
from backend.services.clock import SetClock
from backend.services.officers import actor_of
from backend.services.webchat_store import DbWebchatStore
from backend.settings import RetentionSettings
from tests.integration.conftest import BIRTH_FORM, World
from tests.integration.test_console import Console, client, console, submit_birth  # noqa: F401

POLICY = RetentionSettings(closed_attachment_days=30, orphan_attachment_days=7, conversation_days=30,
                           webchat_days=7, interval_minutes=60)


async def _photo(world: World, data: bytes, component: str) -> Attachment:
    att = await citizens.store_attachment(world.ctx, citizen_id=world.identity.citizen_id,  # type: ignore[attr-defined]
                                          data=data, mime_type="image/jpeg", component=component,
                                          ocr={"fields": {"id_number": "072090001234"}})
    await Attachment.filter(id=att.id).update(created_at=world.ctx.clock.now())  # the test's time, not the wall's
    return await Attachment.get(id=att.id)


async def _dossier(world: World, tag: str) -> Dossier:
    """A birth registration whose two photos are this dossier's own bytes."""
    ids = [(await _photo(world, f"{tag} {comp}".encode(), comp)).id for comp in ("birth_certificate", "declarant_id")]
    return await dossiers.submit(world.ctx, identity_id=world.identity.id, procedure_slug="birth_registration",
                                 agency_id=world.commune.id, form_data=dict(BIRTH_FORM), attachment_ids=ids)


def _on_disk(world: World, key: str) -> bool:
    return (world.ctx.files_dir / key).is_file()  # the local store: keys are relative to the files dir


async def _files(world: World, d: Dossier) -> list[Path]:
    return [world.ctx.files_dir / a.stored_path for a in await Attachment.filter(dossier_id=d.id)]


async def test_rejected_dossier_photos_purged_after_period_not_before(world: World, clock: SetClock) -> None:
    rejected = await _dossier(world, "rejected")
    live = await _dossier(world, "live")
    gone, kept = await _files(world, rejected), await _files(world, live)
    await dossiers.reject(world.ctx, world.actor("motcua"), rejected.id, "Giấy tờ không hợp lệ")

    clock.advance(days=29)
    counts = await retention.purge(world.ctx, POLICY)
    assert counts["closed_attachments"] == 0
    assert all(p.exists() for p in gone + kept)

    clock.advance(days=2)
    counts = await retention.purge(world.ctx, POLICY)
    assert counts["closed_attachments"] == 2 and counts["files"] == 2
    assert not any(p.exists() for p in gone)
    rows = await Attachment.filter(dossier_id=rejected.id)
    assert len(rows) == 2  # the record stays: which papers were sent, when
    assert all(r.purged_at == clock.now() and r.stored_path == "" and r.ocr is None for r in rows)
    assert all(p.exists() for p in kept)
    assert all(a.purged_at is None and a.ocr for a in await Attachment.filter(dossier_id=live.id))
    assert (await Dossier.get(id=rejected.id)).form_data == BIRTH_FORM  # the dossier itself is a record

    assert (await retention.purge(world.ctx, POLICY))["closed_attachments"] == 0  # done once


async def test_closed_and_returned_dossiers_purged_live_ones_untouched(world: World, clock: SetClock) -> None:
    # submit_birth stores the same bytes every time: the three dossiers share their photo files.
    closed, returned, live = [await world.submit_birth() for _ in range(3)]
    shared = await _files(world, live)
    start = clock.now()
    await Dossier.filter(id=closed.id).update(status=Status.CLOSED.value, finished_at=start, closed_at=start)
    await Dossier.filter(id=returned.id).update(status=Status.RETURNED.value, finished_at=start)
    await HistoryEntry.create(dossier_id=returned.id, at=start, actor_role="one_stop", action="return_result",
                              from_status=Status.AWAITING_RETURN.value, to_status=Status.RETURNED.value)
    await Dossier.filter(id=live.id).update(status=Status.APPRAISING.value)

    clock.advance(days=31)
    counts = await retention.purge(world.ctx, POLICY)
    assert counts["closed_attachments"] == 4
    assert {a.dossier_id for a in await Attachment.filter(purged_at__isnull=False)} == {closed.id, returned.id}  # type: ignore[attr-defined]
    assert counts["files"] == 0 and all(p.exists() for p in shared)  # the live dossier still uses them

    await Dossier.filter(id=live.id).update(status=Status.CLOSED.value, closed_at=clock.now())
    clock.advance(days=31)
    counts = await retention.purge(world.ctx, POLICY)
    assert counts["closed_attachments"] == 2 and counts["files"] == 2
    assert not any(p.exists() for p in shared)


async def test_orphans_purged_unless_a_recent_conversation_holds_them(world: World, clock: SetClock) -> None:
    lost = await _photo(world, b"never filed", "declarant_id")
    held = await _photo(world, b"still being filed", "declarant_id")
    conv = conversations.StoredConversation("telegram", "5550001")
    await conversations.save(conv, "submit.photo", {"proc": "birth_registration",
                                                    "files": {"declarant_id": [held.id]}}, clock.now())
    clock.advance(days=5)
    conv = await conversations.load("telegram", "5550001")
    await conversations.save(conv, "submit.photo", conv.data, clock.now())  # the citizen is still at it

    clock.advance(days=1, hours=23)
    assert (await retention.purge(world.ctx, POLICY))["orphan_attachments"] == 0
    assert _on_disk(world, lost.stored_path)

    clock.advance(hours=2)  # 7 days and an hour after both were sent
    counts = await retention.purge(world.ctx, POLICY)
    assert counts["orphan_attachments"] == 1 and counts["files"] == 1
    assert not await Attachment.exists(id=lost.id) and not _on_disk(world, lost.stored_path)
    assert await Attachment.exists(id=held.id) and _on_disk(world, held.stored_path)

    clock.advance(days=6)  # the conversation is now idle past the window too
    assert (await retention.purge(world.ctx, POLICY))["orphan_attachments"] == 1
    assert not _on_disk(world, held.stored_path)


async def test_supplement_conversation_holds_its_photos(world: World, clock: SetClock) -> None:
    held = await _photo(world, b"supplement photo", "supplement")
    conv = conversations.StoredConversation("zalo", "z-1")
    await conversations.save(conv, "supplement.collect", {"dossier_id": 1, "files": [held.id]}, clock.now())
    clock.advance(days=6)
    conv = await conversations.load("zalo", "z-1")
    await conversations.save(conv, "supplement.collect", conv.data, clock.now())
    clock.advance(days=2)
    assert (await retention.purge(world.ctx, POLICY))["orphan_attachments"] == 0
    assert _on_disk(world, held.stored_path)


async def test_idle_conversations_purged_after_period(world: World, clock: SetClock) -> None:
    await conversations.save(conversations.StoredConversation("telegram", "old"), "submit.review",
                             {"form": {"declarant_name": "Nguyễn Văn An"}}, clock.now())
    clock.advance(days=29)
    await conversations.save(conversations.StoredConversation("telegram", "recent"), "menu", {}, clock.now())
    assert (await retention.purge(world.ctx, POLICY))["conversations"] == 0
    clock.advance(days=2)
    assert (await retention.purge(world.ctx, POLICY))["conversations"] == 1
    assert await ConversationState.filter().values_list("user_id", flat=True) == ["recent"]


async def test_webchat_mailboxes_purged_with_their_files(world: World, clock: SetClock) -> None:
    store = DbWebchatStore(world.ctx.files_dir)
    await store.append("visitor-1", {"text": "Kết quả của bạn"}, (b"%PDF-1.7 result", "application/pdf", "kq.pdf"))
    await store.append("visitor-1", {"text": "Xin chào"}, None)
    await WebchatMessage.all().update(created_at=clock.now())
    files = [world.ctx.files_dir / p
             for p in await WebchatMessage.filter(file_path__not="").values_list("file_path", flat=True)]
    assert files and files[0].exists()

    clock.advance(days=6)
    assert (await retention.purge(world.ctx, POLICY))["webchat_messages"] == 0
    clock.advance(days=2)
    assert (await retention.purge(world.ctx, POLICY))["webchat_messages"] == 2
    assert not await WebchatMessage.exists() and not files[0].exists()


async def test_ended_webchat_session_purged_with_mailbox_and_state(world: World, clock: SetClock) -> None:
    now = clock.now()
    await WebchatSession.create(token_hash="a" * 64, user_key="ended-key", created_at=now, last_seen_at=now,
                                expires_at=now + timedelta(hours=8), ended_at=now)
    await WebchatSession.create(token_hash="b" * 64, user_key="live-key", created_at=now, last_seen_at=now,
                                expires_at=now + timedelta(days=3))
    store = DbWebchatStore(world.ctx.files_dir)
    for key in ("ended-key", "live-key"):
        await store.append(key, {"text": "Hồ sơ của bạn"}, None)
        await conversations.save(conversations.StoredConversation("webchat", key), "menu", {}, now)

    clock.advance(hours=23)
    assert (await retention.purge(world.ctx, POLICY))["webchat_sessions"] == 0
    clock.advance(hours=2)
    counts = await retention.purge(world.ctx, POLICY)
    assert counts["webchat_sessions"] == 1 and counts["webchat_messages"] == 1
    assert await WebchatSession.filter().values_list("user_key", flat=True) == ["live-key"]
    assert await WebchatMessage.filter().values_list("session", flat=True) == ["live-key"]
    assert await ConversationState.filter().values_list("user_id", flat=True) == ["live-key"]


async def test_bookkeeping_purged_after_a_day_events_after_a_week(world: World, clock: SetClock) -> None:
    now = clock.now()
    officer = await Officer.get(username="hoathanh.motcua")
    await tokens.issue("chat-link", now=now, ttl=timedelta(minutes=10), officer_id=officer.id)
    await ConsoleSession.create(sid_hash="c" * 64, officer=officer, created_at=now, last_seen_at=now,
                                expires_at=now + timedelta(hours=12))
    await ConsoleSession.create(sid_hash="d" * 64, officer=officer, created_at=now, last_seen_at=now,
                                expires_at=now + timedelta(hours=12), revoked_at=now)
    await InboundUpdate.create(channel="telegram", event_id="1", user_id="5550001", payload={}, received_at=now,
                               handled_at=now)
    await ratelimits.take(ratelimits.LOOKUP, "203.0.113.9", now=now.timestamp())
    await AuthThrottle.create(key="acct:hoathanh.motcua", failures=3, updated_at=now,
                              blocked_until=now + timedelta(minutes=5))

    clock.advance(hours=20)
    counts = await retention.purge(world.ctx, POLICY)
    assert not any(counts.values()), counts
    clock.advance(hours=17)  # revoked 37 h ago, expired 25 h ago
    counts = await retention.purge(world.ctx, POLICY)
    assert (counts["tokens"], counts["console_sessions"], counts["rate_buckets"], counts["auth_throttles"],
            counts["events"]) == (1, 2, 1, 1, 0)
    assert not await RateBucket.exists() and not await ConsoleSession.exists() and not await AuthThrottle.exists()
    clock.advance(days=6)
    assert (await retention.purge(world.ctx, POLICY))["events"] == 1


async def test_live_throttle_is_kept(world: World, clock: SetClock) -> None:
    now = clock.now()
    await AuthThrottle.create(key="src:203.0.113.9", failures=12, updated_at=now, blocked_until=now + timedelta(days=3))
    clock.advance(days=2)
    assert (await retention.purge(world.ctx, POLICY))["auth_throttles"] == 0


async def test_console_says_a_purged_photo_was_deleted(console: Console, clock: SetClock) -> None:  # noqa: F811
    d = await submit_birth(console.ctx)
    await dossiers.reject(console.ctx, actor_of(await Officer.get(username="hoathanh.motcua")), d.id,
                          "Giấy tờ không hợp lệ")
    att = await Attachment.filter(dossier_id=d.id).first()
    await console.login("hoathanh.motcua")
    resp, _ = await console.get(f"/console/files/{att.id}")
    assert resp.status == 200

    clock.advance(days=31)
    await retention.purge(console.ctx, POLICY)
    await console.login("hoathanh.motcua")  # a month later: a new session
    resp, text = await console.get(f"/console/files/{att.id}")
    assert resp.status == 410 and "Ảnh đã xóa theo thời hạn lưu trữ" in text
    resp, text = await console.get(f"/console/dossiers/{d.id}")
    assert resp.status == 200 and "Ảnh đã xóa theo thời hạn lưu trữ" in text
    assert f'src="/console/files/{att.id}"' not in text


def test_cli_purge_prints_counts(fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from backend.cli import main

    monkeypatch.setenv("MOTCUA_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path / "var"))
    assert main(["purge"]) == 0
    out = capsys.readouterr().out
    assert "closed_attachments: 0" in out and "orphan_attachments: 0" in out and "webchat_messages: 0" in out



async def test_app_runs_the_purge_in_the_background(fresh_db_url: str, tmp_path: Path, clock: SetClock,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from backend.settings import Settings
    from backend.web import app as app_module

    monkeypatch.setattr(app_module, "RETENTION_FIRST_DELAY", 0.3)
    settings = Settings(database_url=fresh_db_url, data_dir=tmp_path / "var", ocr_workers=0)
    async with TestClient(TestServer(app_module.create_app(settings, clock=clock))):
        await conversations.save(conversations.StoredConversation("telegram", "idle"), "menu", {},
                                 clock.now() - timedelta(days=31))
        assert await ConversationState.exists(user_id="idle")
        for _ in range(50):
            await asyncio.sleep(0.1)
            if not await ConversationState.exists(user_id="idle"):
                break
        assert not await ConversationState.exists(user_id="idle")
