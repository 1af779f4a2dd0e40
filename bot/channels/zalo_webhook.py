"""Zalo OA webhook: verify the signature and turn an event into a channel-neutral Inbound. Pure functions.

Signature (docs/channels.md): header ``X-ZEvent-Signature: mac=<hex>``, hex = plain sha256 of
``app_id + raw body + timestamp + OA secret key``, app_id and timestamp read from the body itself.
Zalo retries deliveries, so the consumer de-duplicates on ``Inbound.event_id`` (``message.msg_id``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from backend.domain.messages import Attachment, AttachmentKind, Inbound

CHANNEL = "zalo"
SIGNATURE_HEADER = "X-ZEvent-Signature"

# Zalo attachment "type" -> our kind. A gif is an image; a shared link or business card is "other".
_KINDS: dict[str, AttachmentKind] = {
    "image": "image",
    "gif": "image",
    "file": "file",
    "sticker": "sticker",
    "audio": "audio",
    "voice": "audio",
    "video": "video",
    "location": "location",
    "link": "other",
    "business_card": "other",
}
_FILE_MIME = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
}
# Events that carry something the user did in the chat. user_seen_message, user_received_message,
# user_reacted_message, user_submit_info (shared phone/address: Inbound has no place for it) and
# everything the OA did (oa_send_*) are not turns of the conversation.
_USER_EVENTS = frozenset(f"user_send_{k}" for k in (*_KINDS, "text"))


def verify_signature(raw_body: bytes, header_value: str | None, oa_secret_key: str) -> bool:
    """True only when the header's mac matches sha256(app_id + body + timestamp + key); no secret → False."""
    if not oa_secret_key or not header_value:
        return False
    given = header_value.strip()
    if given.lower().startswith("mac="):
        given = given[4:].strip()
    try:
        body = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        return False
    if not isinstance(body, dict) or body.get("app_id") in (None, "") or body.get("timestamp") in (None, ""):
        return False
    material = str(body["app_id"]).encode() + raw_body + str(body["timestamp"]).encode() + oa_secret_key.encode()
    expected = hashlib.sha256(material).hexdigest()
    return hmac.compare_digest(expected.encode(), given.lower().encode())


def parse_event(body: dict[str, Any]) -> Inbound | None:
    """The Inbound for a user's message or follow; None for echoes (oa_send_*) and anything else."""
    name = str(body.get("event_name") or "")
    sent_at = _time(body.get("timestamp"))
    if name == "follow":
        follower = str((body.get("follower") or {}).get("id") or "")
        if not follower:
            return None
        # A follow has no msg_id; a retried delivery repeats the timestamp, so this id de-duplicates.
        return Inbound(CHANNEL, follower, f"follow:{follower}:{body.get('timestamp')}", sent_at=sent_at)
    if name not in _USER_EVENTS:
        return None
    sender = str((body.get("sender") or {}).get("id") or "")
    recipient = str((body.get("recipient") or {}).get("id") or "")
    if not sender or sender == recipient or sender == str(body.get("oa_id") or ""):
        return None  # not from a user
    message = body.get("message") or {}
    event_id = str(message.get("msg_id") or f"{name}:{sender}:{body.get('timestamp')}")
    text = message.get("text")
    attachments = tuple(a for a in map(_attachment, message.get("attachments") or ()) if a is not None)
    # A press of an oa.query.show button arrives as user_send_text with the button's payload as text.
    return Inbound(
        CHANNEL,
        sender,
        event_id,
        text=text if isinstance(text, str) and text.strip() else None,
        attachments=attachments,
        sent_at=sent_at,
    )


def _attachment(item: Any) -> Attachment | None:
    if not isinstance(item, dict):
        return None
    zalo_type = str(item.get("type") or "")
    payload = item.get("payload") or {}
    kind = _KINDS.get(zalo_type, "other")
    if kind == "location":
        coords = payload.get("coordinates") or {}
        lat, lon = coords.get("latitude"), coords.get("longitude")
        return Attachment("location", f"{lat},{lon}") if lat is not None and lon is not None else None
    ref = payload.get("url") or payload.get("id")
    if not ref:
        return None
    if kind == "file":
        ext = str(payload.get("type") or "").lower()
        return Attachment("file", str(ref), _FILE_MIME.get(ext), _int(payload.get("size")), payload.get("name"))
    mime = "image/gif" if zalo_type == "gif" else None
    return Attachment(kind, str(ref), mime)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def age_seconds(body: dict[str, Any], now: float) -> float | None:
    """How long ago (seconds; negative: in the future) the event was sent; None without a timestamp."""
    ms = _int(body.get("timestamp"))
    return now - ms / 1000 if ms is not None else None


def _time(value: Any) -> datetime | None:
    """Zalo's timestamp: epoch milliseconds, as a string."""
    ms = _int(value)
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None
