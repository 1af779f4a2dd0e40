"""Channel-neutral chat messages: what every channel adapter translates to and from.

The conversation engine and the notification dispatcher speak only these types; a channel
adapter (Telegram, Zalo, web chat) maps its wire format onto them and back.
"""

from __future__ import annotations

import base64
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

AttachmentKind = Literal["image", "file", "sticker", "audio", "video", "location", "other"]


# Set by the sender of a queued message (the engine for a turn's replies, the dispatcher for
# notices) to ``<outbox id>:<channel>:<user>#<index>``: a channel that can store messages
# idempotently (the web chat's mailbox) keeps one copy per key, whoever sends it.
DELIVERY_KEY: ContextVar[str | None] = ContextVar("motcua_delivery_key", default=None)


@dataclass(frozen=True)
class Attachment:
    """A file the user sent. ``ref`` is what the channel needs to fetch it (file_id or URL)."""

    kind: AttachmentKind
    ref: str
    mime_type: str | None = None
    size: int | None = None
    filename: str | None = None


@dataclass(frozen=True)
class Inbound:
    """One thing a user did in a chat: typed text, sent files, or pressed a button."""

    channel: str  # "telegram" | "zalo" | "webchat"
    user_id: str  # the channel's id of the user (chat id on Telegram, sender.id on Zalo)
    event_id: str  # the channel's id of this event, for de-duplication
    text: str | None = None
    attachments: tuple[Attachment, ...] = ()
    button: str | None = None  # the data of a pressed button
    reply_to: str | None = None  # id of the message the button was on, if known
    display_name: str | None = None
    sent_at: datetime | None = None
    origin: str | None = None  # the client's network address, where the channel knows it (web chat)


@dataclass(frozen=True)
class Button:
    """A fixed choice. ``data`` comes back in ``Inbound.button`` when pressed."""

    label: str
    data: str
    url: str | None = None  # set for a link button instead of a callback


@dataclass(frozen=True)
class Text:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()  # rows of buttons


@dataclass(frozen=True)
class Image:
    data: bytes
    filename: str = "image.png"
    caption: str | None = None


@dataclass(frozen=True)
class Document:
    data: bytes
    filename: str
    caption: str | None = None
    mime_type: str = "application/pdf"


Outbound = Text | Image | Document


@dataclass
class Conversation:
    """What a channel needs to know about an ongoing chat; stored by the engine."""

    channel: str
    user_id: str
    step: str
    data: dict = field(default_factory=dict)


class DeliveryError(Exception):
    """A channel could not deliver a message.

    ``retryable`` says whether trying again later may succeed (network, rate limit, server
    error); when False the recipient cannot be reached now (blocked, outside the reply
    window) and the message is held with ``reason`` until the user writes again.
    ``retry_after`` is the server's own wait, in seconds, when it gave one.
    """

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


# -- plain JSON for messages kept in the outbox (a turn's replies) -------------------------
def encode_outbound(m: Outbound) -> dict[str, Any]:
    """A message as plain JSON (bytes as base64)."""
    if isinstance(m, Text):
        return {"type": "text", "text": m.text,
                "buttons": [[[b.label, b.data, b.url] for b in row] for row in m.buttons]}
    data = base64.b64encode(m.data).decode("ascii")
    if isinstance(m, Image):
        return {"type": "image", "data": data, "filename": m.filename, "caption": m.caption}
    return {"type": "document", "data": data, "filename": m.filename, "caption": m.caption,
            "mime_type": m.mime_type}


def decode_outbound(d: dict[str, Any]) -> Outbound:
    """The message ``encode_outbound`` wrote."""
    if d["type"] == "text":
        return Text(d["text"], tuple(tuple(Button(label, data, url) for label, data, url in row)
                                     for row in d.get("buttons") or ()))
    data = base64.b64decode(d["data"])
    if d["type"] == "image":
        return Image(data, d.get("filename") or "image.png", d.get("caption"))
    return Document(data, d["filename"], d.get("caption"), d.get("mime_type") or "application/pdf")
