"""Zalo webhook: signature checks and event parsing, on bodies made by FakeZaloOa (no server, no I/O)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from backend.domain.messages import Attachment, Inbound
from bot.channels.zalo_webhook import parse_event, verify_signature
from tests.fakes.zalo_oa_api import FakeZaloOa, file_attachment, image_attachment

USER = "1357924680135792468"
SECRET = "fake-oa-secret-key"


@pytest.fixture
def oa() -> FakeZaloOa:
    fake = FakeZaloOa(oa_secret_key=SECRET)  # only its body and signature builders are used
    fake.url = "http://zalo.test"
    return fake


def _body(raw: bytes) -> dict:
    return json.loads(raw)


def test_valid_signature(oa: FakeZaloOa) -> None:
    raw, headers = oa.make_webhook("user_send_text", USER, text="xin chào")
    assert verify_signature(raw, headers["X-ZEvent-Signature"], SECRET)
    assert headers["X-ZEvent-Signature"].startswith("mac=")


def test_signature_is_plain_sha256_of_app_id_body_timestamp_key(oa: FakeZaloOa) -> None:
    raw, _ = oa.make_webhook("user_send_text", USER, text="a", timestamp=1764000000000)
    mac = hashlib.sha256(f"{oa.app_id}{raw.decode()}1764000000000{SECRET}".encode()).hexdigest()
    assert verify_signature(raw, f"mac={mac}", SECRET)
    assert verify_signature(raw, mac.upper(), SECRET)  # bare, upper-case hex is the same mac


def test_forged_signature(oa: FakeZaloOa) -> None:
    raw, headers = oa.make_webhook("user_send_text", USER, text="chuyển tiền", forged=True)
    assert not verify_signature(raw, headers["X-ZEvent-Signature"], SECRET)


def test_tampered_body(oa: FakeZaloOa) -> None:
    raw, headers = oa.make_webhook("user_send_text", USER, text="1")
    tampered = raw.replace(b'"1"', b'"2"')
    assert tampered != raw
    assert not verify_signature(tampered, headers["X-ZEvent-Signature"], SECRET)


@pytest.mark.parametrize("header", [None, "", "mac=", "mac=zz", "sha256=abc"])
def test_missing_or_malformed_header(oa: FakeZaloOa, header: str | None) -> None:
    raw, _ = oa.make_webhook("user_send_text", USER, text="a")
    assert not verify_signature(raw, header, SECRET)


def test_wrong_or_missing_secret(oa: FakeZaloOa) -> None:
    raw, headers = oa.make_webhook("user_send_text", USER, text="a")
    assert not verify_signature(raw, headers["X-ZEvent-Signature"], "another-key")
    assert not verify_signature(raw, headers["X-ZEvent-Signature"], "")
    assert not verify_signature(raw, headers["X-ZEvent-Signature"], oa.app_secret)  # the app secret is not the key


def test_body_that_is_not_json_or_lacks_fields() -> None:
    assert not verify_signature(b"not json", "mac=00", SECRET)
    raw = b'{"event_name": "user_send_text"}'
    mac = hashlib.sha256(raw + SECRET.encode()).hexdigest()
    assert not verify_signature(raw, f"mac={mac}", SECRET)


def test_text(oa: FakeZaloOa) -> None:
    raw, _ = oa.make_webhook("user_send_text", USER, text="Tra cứu hồ sơ", msg_id="m-1", timestamp=1764000000000)
    assert parse_event(_body(raw)) == Inbound(
        channel="zalo",
        user_id=USER,
        event_id="m-1",
        text="Tra cứu hồ sơ",
        sent_at=datetime(2025, 11, 24, 16, 0, tzinfo=UTC),
    )


def test_button_press_arrives_as_text(oa: FakeZaloOa) -> None:
    raw, _ = oa.make_webhook("user_send_text", USER, text="proc:birth", msg_id="m-2")
    inbound = parse_event(_body(raw))
    assert inbound is not None and inbound.text == "proc:birth" and inbound.button is None


def test_image_with_caption(oa: FakeZaloOa) -> None:
    url = oa.add_attachment(b"\xff\xd8\xff", "image/jpeg", "cccd.jpg")
    raw, _ = oa.make_webhook("user_send_image", USER, text="CCCD mặt trước", attachments=[image_attachment(url)])
    inbound = parse_event(_body(raw))
    assert inbound.text == "CCCD mặt trước"
    assert inbound.attachments == (Attachment("image", url),)


def test_file(oa: FakeZaloOa) -> None:
    url = oa.add_attachment(b"%PDF-1.4", "application/pdf", "giay-chung-sinh.pdf")
    raw, _ = oa.make_webhook("user_send_file", USER, attachments=[file_attachment(url, "giay-chung-sinh.pdf", 8)])
    inbound = parse_event(_body(raw))
    assert inbound.text is None
    assert inbound.attachments == (Attachment("file", url, "application/pdf", 8, "giay-chung-sinh.pdf"),)


@pytest.mark.parametrize(
    ("event", "zalo_type", "kind"),
    [
        ("user_send_sticker", "sticker", "sticker"),
        ("user_send_audio", "audio", "audio"),
        ("user_send_video", "video", "video"),
        ("user_send_gif", "gif", "image"),
        ("user_send_link", "link", "other"),
    ],
)
def test_other_attachments(oa: FakeZaloOa, event: str, zalo_type: str, kind: str) -> None:
    raw, _ = oa.make_webhook(event, USER, attachments=[{"type": zalo_type, "payload": {"url": "https://z/a"}}])
    inbound = parse_event(_body(raw))
    assert inbound is not None and inbound.user_id == USER
    assert [(a.kind, a.ref) for a in inbound.attachments] == [(kind, "https://z/a")]


def test_location(oa: FakeZaloOa) -> None:
    where = {"type": "location", "payload": {"coordinates": {"latitude": "21.0285", "longitude": "105.8542"}}}
    raw, _ = oa.make_webhook("user_send_location", USER, attachments=[where])
    assert parse_event(_body(raw)).attachments == (Attachment("location", "21.0285,105.8542"),)


def test_follow(oa: FakeZaloOa) -> None:
    raw, _ = oa.make_webhook("follow", USER, timestamp=1764000000000)
    inbound = parse_event(_body(raw))
    assert inbound is not None and inbound.user_id == USER and inbound.text is None
    assert inbound.event_id == f"follow:{USER}:1764000000000"
    assert parse_event(_body(raw)) == inbound  # a retried delivery has the same event id


@pytest.mark.parametrize("event", ["oa_send_text", "oa_send_image", "oa_send_file", "oa_send_list"])
def test_echoes_of_our_own_messages_are_ignored(oa: FakeZaloOa, event: str) -> None:
    raw, _ = oa.make_webhook(event, USER, text="Hồ sơ đã tiếp nhận")
    assert _body(raw)["sender"]["id"] == oa.oa_id
    assert parse_event(_body(raw)) is None


@pytest.mark.parametrize("event", ["unfollow", "user_seen_message", "user_received_message", "user_submit_info", ""])
def test_other_events_are_ignored(oa: FakeZaloOa, event: str) -> None:
    raw, _ = oa.make_webhook(event, USER, text="x")
    assert parse_event(_body(raw)) is None


def test_user_event_without_sender_is_ignored(oa: FakeZaloOa) -> None:
    body = _body(oa.make_webhook("user_send_text", USER, text="x")[0])
    del body["sender"]
    assert parse_event(body) is None
    body["sender"] = {"id": oa.oa_id}
    assert parse_event(body) is None
