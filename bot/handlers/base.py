"""What every conversation step shares: its signature, the per-turn services, small helpers.

A step is a short async function ``(inbound, conversation, services) -> (replies, next_step)``
that sends nothing itself; ``prompt`` says what to show on arriving at a step (also after
"quay lại" or when a citizen comes back days later).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.domain.messages import Attachment, Button, Conversation, Inbound, Outbound, Text
from backend.services.context import ServiceContext
from bot import texts

MAX_FILE_BYTES = 20 * 1024 * 1024  # Telegram's getFile limit; phone photos are well under it

Fetch = Callable[[Attachment], Awaitable[bytes]]
Result = tuple[list[Outbound], str]


class ChatError(Exception):
    """A step's answer to bad input: the message is shown; the conversation is unchanged."""


@dataclass
class Services:
    """What a step may use in one turn: the use cases' context and this user's identity."""

    ctx: ServiceContext
    ocr: Any | None  # bot.ocr.OcrReader or a fake with read()/decode_qr(); None: no OCR
    fetch: Fetch  # the channel's downloader for an inbound attachment
    changed: Callable[[], None]  # tell the dispatcher a use case queued notifications
    channel: str
    user_id: str
    identity_id: int
    citizen_id: int
    max_file_bytes: int = MAX_FILE_BYTES
    origin: str = ""  # the client's network address, where the channel knows it (rate limits)
    event_key: str = ""  # ``channel:event id``: a use case run with it runs once for this event
    extras: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Inbound, Conversation, Services], Awaitable[Result]]
Prompt = Callable[[Conversation, Services], Awaitable[list[Outbound]]]


@dataclass(frozen=True)
class Step:
    """A named state of the conversation: how to handle input there, and what to show."""

    name: str
    handle: Handler
    prompt: Prompt


NAV_ROW = (Button(texts.NAV_BACK, "nav:back"), Button(texts.NAV_CANCEL, "nav:cancel"))


def text(body: str, *rows: Sequence[Button], nav: bool = False) -> Text:
    """A text with rows of buttons; ``nav`` adds the back/cancel row."""
    buttons = tuple(tuple(r) for r in rows if r)
    if nav:
        buttons += (NAV_ROW,)
    return Text(body, buttons=buttons)


def column(buttons: Sequence[Button], per_row: int = 1) -> list[tuple[Button, ...]]:
    """Buttons laid out ``per_row`` to a row (one per row reads best on small screens)."""
    return [tuple(buttons[i:i + per_row]) for i in range(0, len(buttons), per_row)]


def button_parts(inbound: Inbound) -> list[str]:
    return (inbound.button or "").split(":")


def typed(inbound: Inbound) -> str:
    """The typed text, trimmed ('' for none)."""
    return (inbound.text or "").strip()


def photos_and_files(inbound: Inbound) -> list[Attachment]:
    return [a for a in inbound.attachments if a.kind in ("image", "file")]


def unsupported_reply(inbound: Inbound) -> str | None:
    """The answer to a sticker, a voice note, a video… (None when there is nothing odd)."""
    for a in inbound.attachments:
        if a.kind == "sticker":
            return texts.STICKER
        if a.kind == "audio":
            return texts.AUDIO
        if a.kind == "video":
            return texts.VIDEO
        if a.kind == "location":
            return texts.LOCATION
        if a.kind == "other":
            return texts.OTHER_ATTACHMENT
    return None


def human_size(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"
