"""The web chat (/chat): a mobile-first page on the same conversation engine.

Translation only: the session cookie is a token the server issued (``SessionStore``; never a
value the client chose), naming a session whose ``user_key`` is the engine's user id;
``POST /chat/api/session`` opens one, ``POST /chat/api/end`` ends it and deletes what it held;
``POST /chat/api/send`` carries typed text, a pressed button or a photo upload;
``GET /chat/api/poll?after=N`` long-polls for the bot's messages; ``GET /chat/api/file/<id>``
serves the images and PDFs the bot sent.

Outgoing messages go to a ``store``: the app gives the database mailbox
(``backend.services.webchat_store``), so what the bot sent survives a restart and is read by
any worker; ``MemoryStore`` (bounded, one process) serves tests and tools.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import tempfile
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from backend.domain.messages import Attachment, DeliveryError, Document, Image, Inbound, Outbound, Text
from backend.services.files import open_private, private_dir
from backend.settings import WebchatSettings
from backend.web.netaddr import client_address, networks, within

CHANNEL = "webchat"
COOKIE = "motcua_chat"
SENSITIVE_BUTTONS = ("sub:",)  # the submission's confirm/edit buttons (bot/handlers/submit.py)
TOO_MANY_SESSIONS = "Có quá nhiều phiên trò chuyện mới từ địa chỉ này. Vui lòng thử lại sau ít phút."
_HERE = Path(__file__).resolve().parent
MAX_UPLOAD = 20 * 1024 * 1024
UPLOADS_IN_FLIGHT = 64  # uploads being received at once per worker; beyond it 503 and the page resends
BUSY_RETRY_AFTER = 1  # seconds
BUSY_UPLOAD = "Hệ thống đang bận, ảnh của anh/chị chưa được gửi. Trang sẽ tự gửi lại sau ít giây."
_CHUNK = 256 * 1024
_REF = re.compile(r"[A-Za-z0-9_-]{16,64}")  # secrets.token_urlsafe: never a path

Handle = Callable[[Inbound], Awaitable[None]]


class MessageStore(Protocol):
    """Where the bot's messages to a session wait for the page."""

    async def last(self, session: str) -> int: ...

    async def append(self, session: str, item: dict[str, Any], file: tuple[bytes, str, str] | None) -> int: ...

    async def since(self, session: str, after: int) -> list[dict[str, Any]]: ...

    async def file(self, session: str, file_id: str) -> tuple[bytes, str, str] | None: ...

    async def forget(self, session: str) -> None: ...


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

    async def forget(self, session: str) -> None:
        self._boxes.pop(session, None)


class SessionStore(Protocol):
    """Server-issued sessions (``backend.services.webchat_sessions``)."""

    async def start(self, now: datetime, *, kiosk: bool, lifetime: timedelta) -> tuple[str, Any]: ...

    async def resolve(self, token: str, now: datetime, *, idle: timedelta, kiosk_idle: timedelta | None = None,
                      touch: bool = True) -> Any: ...

    async def rotate(self, session: Any, token: str, now: datetime) -> str | None: ...

    async def end(self, token: str, now: datetime) -> str | None: ...


class _Refused(Exception):
    """No session and no new one for this address now (the rate limit said wait)."""

    def __init__(self, wait: float) -> None:
        self.wait = wait


@dataclass
class _Ctx:
    """One request's session: its token, and the cookie the response must set or delete."""

    token: str
    session: Any
    fresh: bool = False  # issued by this request (a presented cookie, if any, was dead)
    set_token: str | None = None


class WebChat:
    """The web chat channel: routes for the page and its API, and the engine's sender."""

    name = CHANNEL

    def __init__(self, handle: Handle, *, sessions: SessionStore,
                 allow_session: Callable[[str], Awaitable[float]] | None = None,
                 settings: WebchatSettings | None = None, trusted_proxies: tuple[str, ...] = (),
                 clock: Callable[[], datetime] | None = None,
                 poll_timeout: float = 25.0, history: int = 200,
                 files_per_session: int = 40, max_upload: int = MAX_UPLOAD,
                 max_sessions: int = 20_000, secure_cookie: bool = False,
                 store: MessageStore | None = None, uploads_dir: Path | None = None,
                 uploads_in_flight: int = UPLOADS_IN_FLIGHT) -> None:
        self.handle = handle
        self.sessions = sessions
        self.allow_session = allow_session
        self.settings = settings or WebchatSettings()
        self.trusted_proxies = trusted_proxies
        self.kiosk_nets = networks(tuple(self.settings.kiosk_addresses))
        self.now = clock or (lambda: datetime.now(UTC))
        self.poll_timeout = poll_timeout
        self.history = history
        self.files_per_session = files_per_session
        self.max_upload = max_upload
        self.max_sessions = max_sessions
        self.secure_cookie = secure_cookie
        self.store: MessageStore = store or MemoryStore(history, files_per_session, max_sessions)
        self._wakes: OrderedDict[str, asyncio.Event] = OrderedDict()  # live long-polls, this process
        # Uploads are spooled here until their turn is handled; every worker must see the same
        # directory (files_dir/uploads). A private temporary one serves a single process.
        self.uploads_dir = Path(uploads_dir) if uploads_dir else Path(tempfile.mkdtemp(prefix="motcua-uploads-"))
        self.uploads_in_flight = uploads_in_flight
        self._receiving = 0  # multipart sends being read now

    # -- routes --------------------------------------------------------------------------
    def setup(self, app: web.Application) -> None:
        app.router.add_get("/chat", self.page)
        app.router.add_get("/chat/kiosk", self.kiosk_page)
        app.router.add_post("/chat/api/session", self.api_session)
        app.router.add_post("/chat/api/send", self.api_send)
        app.router.add_get("/chat/api/poll", self.api_poll)
        app.router.add_post("/chat/api/end", self.api_end)
        app.router.add_get("/chat/api/file/{file_id}", self.api_file)
        app.router.add_static("/chat/static", _HERE / "static")
        app.on_shutdown.append(self._release_polls)

    async def _release_polls(self, app: web.Application) -> None:
        """On shutdown every waiting long-poll answers now, so draining does not wait 25 s."""
        self._closing = True
        for event in self._wakes.values():
            event.set()

    def _kiosk_device(self, request: web.Request) -> bool:
        return bool(self.kiosk_nets) and within(client_address(request, self.trusted_proxies), self.kiosk_nets)

    async def page(self, request: web.Request) -> web.Response:
        """The page only: sessions are made by the API (same-origin, so SameSite=Strict holds)."""
        kiosk = request.query.get("kiosk") == "1" or self._kiosk_device(request)
        return self._render(kiosk)

    async def kiosk_page(self, request: web.Request) -> web.Response:
        return self._render(True)

    def _render(self, kiosk: bool) -> web.Response:
        html = (_HERE / "templates" / "chat.html").read_text(encoding="utf-8")
        html = html.replace("{{mode}}", "kiosk" if kiosk else "normal").replace(
            "{{idle}}", str(self.settings.kiosk_idle_seconds if kiosk else 0))
        return web.Response(text=html, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    # -- sessions ------------------------------------------------------------------------
    async def _session(self, request: web.Request, *, create: bool = True, touch: bool = True,
                       kiosk: bool = False) -> _Ctx | None:
        """The request's live session; a dead or missing cookie gets a new server-issued one
        (the presented value is never adopted)."""
        now = self.now()
        for presented in _presented(request):
            found = await self.sessions.resolve(
                presented, now, idle=timedelta(minutes=self.settings.idle_minutes),
                kiosk_idle=timedelta(seconds=self.settings.kiosk_idle_seconds), touch=touch)
            if found is not None:
                return _Ctx(presented, found)
        if not create:
            return None
        address = client_address(request, self.trusted_proxies)
        if self.allow_session is not None:
            wait = await self.allow_session(address)
            if wait > 0:
                raise _Refused(wait)
        kiosk = kiosk or self._kiosk_device(request)
        token, session = await self.sessions.start(now, kiosk=kiosk, lifetime=timedelta(hours=self.settings.max_hours))
        return _Ctx(token, session, fresh=True, set_token=token)

    def _cookie(self, resp: web.StreamResponse, ctx: _Ctx) -> None:
        if ctx.set_token is None:
            return
        # Kiosk: a browser-session cookie (gone when the browser closes); else it lasts as
        # long as the session may.
        max_age = None if ctx.session.kiosk else max(int(ctx.session.remaining(self.now()).total_seconds()), 1)
        resp.set_cookie(COOKIE, ctx.set_token, max_age=max_age, httponly=True, samesite="Strict",
                        secure=self.secure_cookie, path="/chat")

    async def _rotate(self, ctx: _Ctx) -> None:
        if ctx.session.current and ctx.set_token is None:
            new = await self.sessions.rotate(ctx.session, ctx.token, self.now())
            if new is not None:
                ctx.token = ctx.set_token = new

    def _refused(self, exc: _Refused) -> web.Response:
        return web.json_response({"ok": False, "error": TOO_MANY_SESSIONS}, status=429,
                                 headers={"Retry-After": str(max(int(exc.wait + 0.999), 1))})

    async def api_session(self, request: web.Request) -> web.Response:
        """Open (or keep) the page's session; the page calls this first."""
        try:
            ctx = await self._session(request, kiosk=request.query.get("kiosk") == "1")
        except _Refused as exc:
            return self._refused(exc)
        assert ctx is not None
        resp = web.json_response({"ok": True, "fresh": ctx.fresh, "kiosk": ctx.session.kiosk},
                                 headers={"Cache-Control": "no-store"})
        self._cookie(resp, ctx)
        return resp

    async def api_end(self, request: web.Request) -> web.Response:
        """"Kết thúc phiên": end the session, delete what it held and the cookie."""
        for presented in _presented(request):
            user_key = await self.sessions.end(presented, self.now())
            if user_key is None:
                continue
            await self.store.forget(user_key)
            event = self._wakes.pop(user_key, None)
            if event is not None:
                event.set()  # a poll waiting for the ended session answers now, with nothing
        resp = web.json_response({"ok": True}, headers={"Cache-Control": "no-store"})
        resp.del_cookie(COOKIE, path="/chat")
        return resp

    async def api_send(self, request: web.Request) -> web.Response:
        try:
            ctx = await self._session(request)
        except _Refused as exc:
            return self._refused(exc)
        assert ctx is not None
        sid = ctx.session.user_key
        inbound = await self._inbound(request, sid, client_address(request, self.trusted_proxies))
        if inbound is None:
            return web.json_response({"ok": False, "error": "empty"}, status=400)
        # Sensitive steps get a new token: a photo of papers, the submission, and every 10 min.
        if inbound.attachments or (inbound.button or "").startswith(SENSITIVE_BUTTONS) \
                or ctx.session.due_rotation(self.now()):
            await self._rotate(ctx)
        await self.handle(inbound)
        resp = web.json_response({"ok": True, "fresh": ctx.fresh})
        self._cookie(resp, ctx)
        return resp

    async def _inbound(self, request: web.Request, sid: str, origin: str) -> Inbound | None:
        """Parse a send: JSON {text, button, event_id} or multipart with a ``photo`` file."""
        text = button = None
        event_id = ""
        attachments: list[Attachment] = []
        if request.content_type.startswith("multipart/"):
            if self._receiving >= self.uploads_in_flight:
                raise _busy()  # nothing read, nothing kept: the page sends the same event again
            self._receiving += 1
            try:
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
            except BaseException:
                for att in attachments:  # the send failed: the page sends it again
                    self._unlink(att.ref)
                raise
            finally:
                self._receiving -= 1
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
                       button=button, attachments=tuple(attachments), origin=origin)

    async def _upload(self, part: Any) -> Attachment:
        """Stream an upload to an owner-only spool file as it arrives (memory: one chunk); one
        over the limit is reported by its size, and nothing of it is kept."""
        mime = part.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
        ref = secrets.token_urlsafe(16)
        private_dir(self.uploads_dir)
        partial = self.uploads_dir / f".{ref}.part"  # renamed when whole: a reader never sees half
        # Plain writes: a chunk goes to the page cache in well under a millisecond.
        out: Any = open_private(partial)
        size = 0
        try:
            while chunk := await part.read_chunk(_CHUNK):
                size += len(chunk)
                if out is None:
                    continue  # over the limit: drained to count it, not kept
                if size <= self.max_upload:
                    out.write(chunk)
                else:
                    out.close()
                    out = None
                    partial.unlink(missing_ok=True)
            if out is not None:
                out.close()
                out = None
                os.replace(partial, self.uploads_dir / ref)
        finally:
            if out is not None:  # the client went away mid-upload
                out.close()
                partial.unlink(missing_ok=True)
        kind = "image" if mime.startswith("image/") else "file"
        return Attachment(kind=kind, ref=ref, mime_type=mime, size=size, filename=part.filename or "")

    def _spooled(self, ref: str) -> Path | None:
        return self.uploads_dir / ref if _REF.fullmatch(ref or "") else None

    def _unlink(self, ref: str) -> None:
        path = self._spooled(ref)
        if path is not None:
            path.unlink(missing_ok=True)

    async def fetch(self, att: Attachment) -> bytes:
        """The bytes of an uploaded photo, from the spool any worker reads; kept, so a retried
        turn reads it again (``release`` or the retention purge deletes it)."""
        path = self._spooled(att.ref)
        if path is None:
            raise DeliveryError("not a web chat upload", retryable=False)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise DeliveryError("upload no longer held", retryable=False) from None

    async def release(self, inbound: Inbound) -> None:
        """Delete an inbound's spooled uploads once its turn is handled for good."""
        if inbound.channel != CHANNEL:
            return
        for att in inbound.attachments:
            self._unlink(att.ref)

    async def api_poll(self, request: web.Request) -> web.Response:
        try:
            ctx = await self._session(request, touch=False)  # waiting for replies is not activity
        except _Refused as exc:
            return self._refused(exc)
        assert ctx is not None
        sid = ctx.session.user_key
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            after = 0
        wake = self._wake(sid)  # before reading: a message stored meanwhile sets this event
        last = await self.store.last(sid)
        if after > last:  # the page knows more than we hold: it starts over from what is held
            after = 0
        if last <= after and not getattr(self, "_closing", False):
            try:
                await asyncio.wait_for(wake.wait(), self.poll_timeout)
            except TimeoutError:
                pass
        messages = await self.store.since(sid, after)
        resp = web.json_response({"messages": messages, "last": messages[-1]["seq"] if messages else after,
                                  "fresh": ctx.fresh}, headers={"Cache-Control": "no-store"})
        self._cookie(resp, ctx)
        return resp

    async def api_file(self, request: web.Request) -> web.Response:
        ctx = await self._session(request, create=False, touch=False)
        if ctx is None:
            raise web.HTTPNotFound()
        item = await self.store.file(ctx.session.user_key, request.match_info["file_id"])
        if item is None:
            raise web.HTTPNotFound()
        data, mime, filename = item
        disposition = "inline" if mime.startswith("image/") else "attachment"
        return web.Response(body=data, content_type=mime, headers={
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "private, no-store"})  # nothing of a session left in a shared browser's cache

    # -- sending (the engine's replies and the dispatcher's notifications) ----------------
    def _wake(self, sid: str) -> asyncio.Event:
        event = self._wakes.get(sid)
        if event is None:
            event = self._wakes[sid] = asyncio.Event()
            while len(self._wakes) > self.max_sessions:
                self._wakes.popitem(last=False)
        return event

    def wake(self, user_key: str) -> None:
        """Release this worker's long poll for ``user_key`` (a message was stored, maybe elsewhere)."""
        event = self._wakes.pop(user_key, None)
        if event is not None:
            event.set()

    def wake_all(self, _key: str = "") -> None:
        """Release every long poll here: wake-ups may have been missed (listener reconnected)."""
        events, self._wakes = list(self._wakes.values()), OrderedDict()
        for event in events:
            event.set()

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


def _busy() -> web.HTTPServiceUnavailable:
    body = json.dumps({"ok": False, "error": BUSY_UPLOAD, "retry": True}, ensure_ascii=False)
    return web.HTTPServiceUnavailable(text=body, content_type="application/json",
                                      headers={"Retry-After": str(BUSY_RETRY_AFTER), "Cache-Control": "no-store"})


def _presented(request: web.Request) -> list[str]:
    """Every value of our cookie in the request: a cookie planted for another path (or the
    whole site) comes alongside ours, and must neither hide ours nor be adopted."""
    values = []
    for header in request.headers.getall("Cookie", []):
        for pair in header.split(";"):
            name, _, value = pair.strip().partition("=")
            if name == COOKIE and value and value not in values:
                values.append(value.strip('"'))
    return values[:3]


def _image_mime(filename: str) -> str:
    return "image/png" if filename.lower().endswith(".png") else "image/jpeg"


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100] or "file"
