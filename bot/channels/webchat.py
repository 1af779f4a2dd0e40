"""The web chat (/chat): a mobile-first page on the same conversation engine.

Translation only: a session cookie is the user id; ``POST /chat/api/send`` carries typed
text, a pressed button or a photo upload; ``GET /chat/api/poll?after=N`` long-polls for the
bot's messages; ``GET /chat/api/file/<id>`` serves the images and PDFs the bot sent.

Outgoing messages go to a ``store``: the app gives the database mailbox
(``backend.services.webchat_store``), so what the bot sent survives a restart and is read by
any worker; ``MemoryStore`` (bounded, one process) serves tests and tools.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from backend.domain.messages import Attachment, DeliveryError, Document, Image, Inbound, Outbound, Text

CHANNEL = "webchat"
COOKIE = "motcua_chat"
_SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_HERE = Path(__file__).resolve().parent
MAX_UPLOAD = 20 * 1024 * 1024

Handle = Callable[[Inbound], Awaitable[None]]


class MessageStore(Protocol):
    """Where the bot's messages to a session wait for the page."""

    async def last(self, session: str) -> int: ...

    async def append(self, session: str, item: dict[str, Any], file: tuple[bytes, str, str] | None) -> int: ...

    async def since(self, session: str, after: int) -> list[dict[str, Any]]: ...

    async def file(self, session: str, file_id: str) -> tuple[bytes, str, str] | None: ...


@dataclass
class _Box:
    """One session's outgoing messages and files, in memory."""

    messages: deque[dict[str, Any]]
    files: OrderedDict[str, tuple[bytes, str, str]] = field(default_factory=OrderedDict)
    seq: int = 0


class MemoryStore:
    """A bounded in-process store: one worker, lost on restart."""

    def __init__(self, history: int = 200, files_per_session: int = 40, max_sessions: int = 20_000) -> None:
        self.history, self.files_per_session, self.max_sessions = history, files_per_session, max_sessions
        self._boxes: OrderedDict[str, _Box] = OrderedDict()

    def _box(self, sid: str) -> _Box:
        box = self._boxes.get(sid)
        if box is None:
            box = self._boxes[sid] = _Box(deque(maxlen=self.history))
            while len(self._boxes) > self.max_sessions:
                self._boxes.popitem(last=False)
        else:
            self._boxes.move_to_end(sid)
        return box

    async def last(self, session: str) -> int:
        box = self._boxes.get(session)
        return box.seq if box else 0

    async def append(self, session: str, item: dict[str, Any], file: tuple[bytes, str, str] | None) -> int:
        box = self._box(session)
        box.seq += 1
        if file is not None:
            file_id = secrets.token_urlsafe(12)
            box.files[file_id] = file
            while len(box.files) > self.files_per_session:
                box.files.popitem(last=False)
            item = item | {"file": f"/chat/api/file/{file_id}"}
        box.messages.append(item | {"seq": box.seq})
        return box.seq

    async def since(self, session: str, after: int) -> list[dict[str, Any]]:
        box = self._boxes.get(session)
        return [m for m in box.messages if m["seq"] > after] if box else []

    async def file(self, session: str, file_id: str) -> tuple[bytes, str, str] | None:
        box = self._boxes.get(session)
        return box.files.get(file_id) if box else None


class WebChat:
    """The web chat channel: routes for the page and its API, and the engine's sender."""

    name = CHANNEL

    def __init__(self, handle: Handle, *, poll_timeout: float = 25.0, history: int = 200,
                 files_per_session: int = 40, max_upload: int = MAX_UPLOAD,
                 max_sessions: int = 20_000, secure_cookie: bool = False,
                 store: MessageStore | None = None) -> None:
        self.handle = handle
        self.poll_timeout = poll_timeout
        self.history = history
        self.files_per_session = files_per_session
        self.max_upload = max_upload
        self.max_sessions = max_sessions
        self.secure_cookie = secure_cookie
        self.store: MessageStore = store or MemoryStore(history, files_per_session, max_sessions)
        self._wakes: OrderedDict[str, asyncio.Event] = OrderedDict()  # live long-polls, this process
        self._uploads: OrderedDict[str, bytes] = OrderedDict()  # inbound photos until fetched
        self._ids = itertools.count(1)

    # -- routes --------------------------------------------------------------------------
    def setup(self, app: web.Application) -> None:
        app.router.add_get("/chat", self.page)
        app.router.add_post("/chat/api/send", self.api_send)
        app.router.add_get("/chat/api/poll", self.api_poll)
        app.router.add_get("/chat/api/file/{file_id}", self.api_file)
        app.router.add_static("/chat/static", _HERE / "static")

    async def page(self, request: web.Request) -> web.Response:
        html = (_HERE / "templates" / "chat.html").read_text(encoding="utf-8")
        resp = web.Response(text=html, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})
        self._session(request, resp)
        return resp

    def _session(self, request: web.Request, resp: web.StreamResponse | None = None) -> str:
        sid = request.cookies.get(COOKIE, "")
        if _SESSION_RE.match(sid):
            return sid
        sid = secrets.token_urlsafe(24)
        if resp is not None:
            resp.set_cookie(COOKIE, sid, max_age=180 * 86400, httponly=True, samesite="Lax",
                            secure=self.secure_cookie, path="/chat")
        return sid

    async def api_send(self, request: web.Request) -> web.Response:
        resp = web.json_response({"ok": True})
        sid = self._session(request, resp)
        inbound = await self._inbound(request, sid)
        if inbound is None:
            return web.json_response({"ok": False, "error": "empty"}, status=400)
        await self.handle(inbound)
        return resp

    async def _inbound(self, request: web.Request, sid: str) -> Inbound | None:
        """Parse a send: JSON {text, button, event_id} or multipart with a ``photo`` file."""
        text = button = None
        event_id = ""
        attachments: list[Attachment] = []
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if part.name == "photo" and part.filename is not None:  # type: ignore[union-attr]
                    attachments.append(await self._upload(part))
                elif part.name in ("text", "button", "event_id"):
                    value = (await part.text())[:4000]  # type: ignore[union-attr]
                    if part.name == "text":
                        text = value
                    elif part.name == "button":
                        button = value
                    else:
                        event_id = value
        else:
            try:
                body = await request.json()
            except ValueError:
                return None
            if not isinstance(body, dict):
                return None
            text = str(body["text"])[:4000] if body.get("text") else None
            button = str(body["button"])[:200] if body.get("button") else None
            event_id = str(body.get("event_id") or "")
        if not (text or button or attachments):
            return None
        event_id = event_id[:100] or uuid.uuid4().hex
        return Inbound(channel=CHANNEL, user_id=sid, event_id=f"{sid[:12]}:{event_id}", text=text,
                       button=button, attachments=tuple(attachments))

    async def _upload(self, part: Any) -> Attachment:
        """Read an upload up to the limit; a bigger one is reported by size, not kept."""
        mime = part.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
        chunks, size = [], 0
        while chunk := await part.read_chunk(256 * 1024):
            size += len(chunk)
            if size <= self.max_upload:
                chunks.append(chunk)
        ref = f"u{next(self._ids)}-{secrets.token_hex(4)}"
        if size <= self.max_upload:
            self._uploads[ref] = b"".join(chunks)
            while len(self._uploads) > 200:
                self._uploads.popitem(last=False)
        kind = "image" if mime.startswith("image/") else "file"
        return Attachment(kind=kind, ref=ref, mime_type=mime, size=size, filename=part.filename or "")

    async def fetch(self, att: Attachment) -> bytes:
        """The bytes of an uploaded photo (the engine asks once, after the size check)."""
        data = self._uploads.pop(att.ref, None)
        if data is None:
            raise DeliveryError("upload no longer held", retryable=False)
        return data

    async def api_poll(self, request: web.Request) -> web.Response:
        sid = self._session(request)
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            after = 0
        wake = self._wake(sid)  # before reading: a message stored meanwhile sets this event
        last = await self.store.last(sid)
        if after > last:  # the page knows more than we hold: it starts over from what is held
            after = 0
        if last <= after:
            try:
                await asyncio.wait_for(wake.wait(), self.poll_timeout)
            except TimeoutError:
                pass
        messages = await self.store.since(sid, after)
        return web.json_response({"messages": messages, "last": messages[-1]["seq"] if messages else after},
                                 headers={"Cache-Control": "no-store"})

    async def api_file(self, request: web.Request) -> web.Response:
        sid = self._session(request)
        item = await self.store.file(sid, request.match_info["file_id"])
        if item is None:
            raise web.HTTPNotFound()
        data, mime, filename = item
        disposition = "inline" if mime.startswith("image/") else "attachment"
        return web.Response(body=data, content_type=mime, headers={
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "private, max-age=86400"})

    # -- sending (the engine's replies and the dispatcher's notifications) ----------------
    def _wake(self, sid: str) -> asyncio.Event:
        event = self._wakes.get(sid)
        if event is None:
            event = self._wakes[sid] = asyncio.Event()
            while len(self._wakes) > self.max_sessions:
                self._wakes.popitem(last=False)
        return event

    async def send(self, user_id: str, message: Outbound) -> None:
        file = None
        if isinstance(message, Text):
            item: dict[str, Any] = {"kind": "text", "text": message.text, "buttons": [
                [{"label": b.label, "data": b.data, "url": b.url} for b in row] for row in message.buttons]}
        elif isinstance(message, (Image, Document)):
            mime = message.mime_type if isinstance(message, Document) else _image_mime(message.filename)
            file = (message.data, mime, _safe_name(message.filename))
            item = {"kind": "image" if isinstance(message, Image) else "document",
                    "filename": message.filename, "caption": message.caption or ""}
        else:
            raise DeliveryError(f"cannot show {type(message).__name__}", retryable=False)
        await self.store.append(user_id, item, file)
        event = self._wakes.pop(user_id, None)
        if event is not None:
            event.set()  # release this session's waiting long-poll; the next one waits anew


def _image_mime(filename: str) -> str:
    return "image/png" if filename.lower().endswith(".png") else "image/jpeg"


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100] or "file"
